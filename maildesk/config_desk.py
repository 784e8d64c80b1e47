"""The settings of the desk's way of working: business hours, the priorities with their SLA targets and
escalation ladders, the ticket types, the teams, the times of the SLA jobs and requirements (需求).

Sections of ``maildesk.config.Settings``, which reads them from the file and checks how they fit together;
``Section`` is every section's base.
"""

from __future__ import annotations

from datetime import date, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Section(BaseModel):
    # built when first used: a command that reads the config validates it once, and building each
    # section's validator apart at import, as well as within Settings', cost every command time
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class BusinessHoursConfig(Section):
    start: time = time(9, 0)
    end: time = time(18, 0)
    lunch_start: time | None = None
    lunch_end: time | None = None
    workdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    holidays: Literal["CN", "none"] = "CN"
    extra_holidays: list[str] = Field(default_factory=list)
    extra_workdays: list[str] = Field(default_factory=list)

    @field_validator("extra_holidays", "extra_workdays", mode="before")
    @classmethod
    def _toml_dates(cls, value: object) -> object:
        # TOML has a date type of its own: extra_holidays = [2026-10-09] is as good as a string
        if isinstance(value, list):
            return [v.isoformat() if isinstance(v, date) else v for v in value]
        return value

    @model_validator(mode="after")
    def _order(self) -> BusinessHoursConfig:
        if self.end <= self.start:
            raise ValueError("end: must be after start")
        if (self.lunch_start is None) != (self.lunch_end is None):
            raise ValueError("lunch_end: lunch_start and lunch_end go together")
        if any(d < 1 or d > 7 for d in self.workdays):
            raise ValueError("workdays: ISO weekdays are 1 (Monday) to 7 (Sunday)")
        for name in ("extra_holidays", "extra_workdays"):
            for index, text in enumerate(getattr(self, name)):
                try:  # checked now: the calendar is first built by the SLA sweep, long after start-up
                    date.fromisoformat(text)
                except ValueError as exc:
                    raise ValueError(f"{name}[{index}]: {text!r} is not a date YYYY-MM-DD ({exc})") from None
        return self


class EscalationStepConfig(Section):
    after_hours: float = Field(gt=0)
    to: str  # a role in the directory: lead, manager, director


def _rungs_go_up(afters: list[float], key: str, unit: str) -> None:
    """A ladder's rungs come later one by one: a rung due before the one below it would be announced first and
    then never again."""
    for index in range(1, len(afters)):
        before, step = afters[index - 1], afters[index]
        if step <= before:
            raise ValueError(f"escalation[{index}].{key}: {step:g} {unit} is not later than the rung "
                             f"before it ({before:g} {unit}); each rung of the ladder comes later")


class PriorityConfig(Section):
    name: str  # the name in Chinese mails (紧急)
    name_en: str = ""  # the name in English mails (urgent); empty: the code
    description: str = ""
    start_hours: float = Field(gt=0)
    response_hours: float | None = None  # defaults to start_hours
    progress_hours: float | None = None  # None: a daily summary at daily_summary_at
    resolve_hours: float = Field(gt=0)
    escalation: list[EscalationStepConfig] = Field(default_factory=list)
    # the clock its targets and ladder run on: "24x7" (nights, weekends, holidays count) or "business";
    # unset: 24x7 for P1, business for the others (Settings.priority_clock)
    clock: Literal["24x7", "business"] | None = None

    @model_validator(mode="after")
    def _ladder_goes_up(self) -> PriorityConfig:
        _rungs_go_up([step.after_hours for step in self.escalation], "after_hours", "h")
        return self


def default_priorities() -> dict[str, PriorityConfig]:
    return {
        "P1": PriorityConfig(
            clock="24x7",
            name="紧急", name_en="urgent", description="核心业务中断，影响大量用户", start_hours=2, progress_hours=1,
            resolve_hours=8,
            # the team lead first: on a P1 the lead checks within the hour that work has started
            escalation=[EscalationStepConfig(after_hours=1, to="lead"),
                        EscalationStepConfig(after_hours=4, to="manager"),
                        EscalationStepConfig(after_hours=8, to="director")],
        ),
        "P2": PriorityConfig(
            clock="business",
            name="高", name_en="high", description="部分业务或功能受影响", start_hours=4, progress_hours=4,
            resolve_hours=24,
            escalation=[EscalationStepConfig(after_hours=8, to="manager"),
                        EscalationStepConfig(after_hours=24, to="director")],
        ),
        "P3": PriorityConfig(
            clock="business",
            name="中", name_en="medium", description="非核心问题，有替代方案", start_hours=8, resolve_hours=40,
            escalation=[EscalationStepConfig(after_hours=40, to="lead")],
        ),
        "P4": PriorityConfig(
            clock="business",
            name="低", name_en="low", description="建议、界面问题、咨询", start_hours=24, resolve_hours=80,
        ),
    }


def default_types() -> dict[str, str]:
    return {
        "hardware": "硬件故障",
        "software": "软件异常",
        "permission": "权限申请",
        "business": "业务系统",
        "consultation": "技术咨询",
        "requirement": "需求",
        "other": "其他",
    }


class TeamConfig(Section):
    name: str
    display_name: str = ""
    strategy: Literal["round_robin", "least_loaded"] = "round_robin"
    lead: str = ""  # address of the team lead (牵头人 for collaboration tickets)


def default_teams() -> list[TeamConfig]:
    return [
        TeamConfig(name="hardware", display_name="硬件组"),
        TeamConfig(name="software", display_name="软件组", strategy="least_loaded"),
        TeamConfig(name="business", display_name="业务系统组"),
        TeamConfig(name="product", display_name="产品组"),
    ]


class SlaConfig(Section):
    daily_summary_at: time = time(17, 0)
    digest_hourly_priorities: list[str] = Field(default_factory=lambda: ["P1", "P2"])
    daily_digest_at: time = time(9, 0)
    reminder_before_hours: float = Field(default=1.0, ge=0)
    confirm_close_days: int = Field(default=3, ge=1)  # working days without an answer → closed
    survey_complete_score: int = Field(default=4, ge=1, le=5)
    # business hours after a review task's due time before the supervisor above its owner hears of it
    review_chase_hours: float = Field(default=8.0, gt=0)
    # a new ticket of these priorities (or a burst incident raised to one), and its response breach, is
    # mailed at once, at any hour, to the holders of mobilise_roles (the assignee has the assignment mail)
    mobilise_priorities: list[str] = Field(default_factory=lambda: ["P1"])
    mobilise_roles: list[str] = Field(default_factory=lambda: ["oncall", "lead", "manager"])


class RequirementStepConfig(Section):
    after_days: float = Field(gt=0)  # working days a requirement has waited for its evaluation
    to: str  # a role in the directory: lead, manager, director


class RequirementsConfig(Section):
    """Requirements (需求): who evaluates them, by when, and who hears of a late evaluation.

    The evaluation is due ``evaluation_days`` working days (business hours of the calendar) after
    the requirement came in; it replaces the priority's resolution target and ladder for tickets of
    ``type``.
    """

    type: str = "requirement"  # the type code of requirements in [types]
    role: str = "product"  # the directory role that evaluates them (产品经理)
    evaluation_days: float = Field(default=3.0, gt=0)
    # business hours before the evaluation is due when the evaluator is reminded; 0: no reminder
    reminder_before_hours: float = Field(default=4.0, ge=0)
    number_prefix: str = Field(default="RD", pattern=r"^[A-Z][A-Z0-9]{0,9}$")  # RD-YYYYMMDD-NNNN
    escalation: list[RequirementStepConfig] = Field(default_factory=lambda: [
        RequirementStepConfig(after_days=3, to="manager"), RequirementStepConfig(after_days=5, to="director")])

    @model_validator(mode="after")
    def _ladder_goes_up(self) -> RequirementsConfig:
        _rungs_go_up([step.after_days for step in self.escalation], "after_days", "working days")
        return self
