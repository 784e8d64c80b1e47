"""The names the desk writes, per language: statuses, priorities, types, roles, targets and spans of time.

One table per kind of name, one column per language, so that a desk writing English never says
处理中 and a new language is a new column, not a new branch in the code. Priority and type names
come from the config (``priorities.P1.name``, ``types``), which holds the Chinese ones and, for
English, ``priorities.P1.name_en``; a type has its English name here when it is one of the default
types, and its code otherwise. Whole sentences live in the templates and their phrase books.
"""

from __future__ import annotations

from maildesk.config import Settings
from maildesk.statuses import Status

LANGS = ("zh", "en")

STATUS_NAMES: dict[str, dict[Status, str]] = {
    "zh": {
        Status.NEW: "待处理", Status.ASSIGNED: "已分配", Status.IN_PROGRESS: "处理中", Status.WAITING_TEAM: "待协同",
        Status.WAITING_USER: "待用户反馈", Status.TESTING: "测试中", Status.RESOLVED: "已解决",
        Status.CLOSED: "已关闭", Status.ARCHIVED: "已归档",
    },
    "en": {
        Status.NEW: "new", Status.ASSIGNED: "assigned", Status.IN_PROGRESS: "in progress",
        Status.WAITING_TEAM: "waiting on another team", Status.WAITING_USER: "waiting on the reporter",
        Status.TESTING: "testing", Status.RESOLVED: "resolved", Status.CLOSED: "closed", Status.ARCHIVED: "archived",
    },
}  # fmt: skip

TYPE_NAMES_EN = {
    "hardware": "hardware fault", "software": "software error", "permission": "permission request",
    "business": "business system", "consultation": "consultation", "requirement": "requirement", "other": "other",
}  # fmt: skip

OUTBOX_STATUS_NAMES: dict[str, dict[str, str]] = {
    "zh": {"pending": "待发送", "sent": "已发送", "failed": "发送失败"},
    "en": {"pending": "pending", "sent": "sent", "failed": "failed"},
}

ROLE_NAMES: dict[str, dict[str, str]] = {
    "zh": {"assignee": "处理人", "engineer": "工程师", "lead": "二线组长", "manager": "技术支持经理",
           "director": "技术总监", "product": "产品经理", "oncall": "值班人员", "tier1": "一线工程师",
           "tier2": "二线工程师", "tier3": "三线（研发）"},
    "en": {"assignee": "assignee", "engineer": "engineer", "lead": "tier-2 lead", "manager": "support manager",
           "director": "director", "product": "product manager", "oncall": "on-call engineer",
           "tier1": "tier-1 engineer", "tier2": "tier-2 engineer", "tier3": "tier 3 (R&D)"},
}

# the ways a problem reaches the desk (Ticket.channel): mail, or recorded by staff from another channel
CHANNELS = ("email", "phone", "im", "system", "walk-in")
CHANNEL_NAMES: dict[str, dict[str, str]] = {
    "zh": {"email": "邮件", "phone": "电话", "im": "即时通讯", "system": "内部系统", "walk-in": "现场"},
    "en": {"email": "mail", "phone": "phone", "im": "instant message", "system": "internal system",
           "walk-in": "walk-in"},
}
# what people type for a channel, in English and Chinese
_CHANNEL_WORDS: dict[str, str] = {
    **{c: c for c in CHANNELS}, **{name: c for names in CHANNEL_NAMES.values() for c, name in names.items()},
    "mail": "email", "e-mail": "email", "邮箱": "email", "tel": "phone", "telephone": "phone", "call": "phone",
    "电话报修": "phone", "座机": "phone", "手机": "phone", "chat": "im", "wechat": "im", "微信": "im",
    "企业微信": "im", "钉钉": "im", "qq": "im", "飞书": "im", "系统": "system", "工单系统": "system", "监控": "system",
    "walkin": "walk-in", "visit": "walk-in", "到访": "walk-in", "上门": "walk-in",
}  # fmt: skip

TARGET_NAMES: dict[str, dict[str, str]] = {
    "zh": {"start": "开始处理", "response": "首次响应", "resolve": "解决", "evaluate": "需求评估"},
    "en": {"start": "start of work", "response": "first response", "resolve": "resolution",
           "evaluate": "requirement evaluation"},
}

_FORMS: dict[str, dict[str, str]] = {
    "zh": {"missed": "{target}时限", "escalation": "{hours:g} 小时升级时限", "hours": "{n} 小时", "minutes": "{n} 分钟",
           "under_a_minute": "不到 1 分钟", "days": "{n} 天", "working_days": "{n} 个工作日",
           "working_day": "{n} 个工作日", "unassigned": "（待分配）", "join": "、"},
    "en": {"missed": "{target} target", "escalation": "{hours:g}-hour escalation threshold", "hours": "{n} h",
           "minutes": "{n} min", "under_a_minute": "less than a minute", "days": "{n} d",
           "working_days": "{n} working days", "working_day": "{n} working day", "unassigned": "(not assigned yet)",
           "join": ", "},
}  # fmt: skip


def _lang(lang: str) -> str:
    return lang if lang in LANGS else "en"


def form(key: str, lang: str, **values: object) -> str:
    """A short form such as "{n} 小时" in ``lang``, filled in."""
    return _FORMS[_lang(lang)][key].format(**values)


def status_name(status: Status | str | None, lang: str) -> str:
    """处理中 / in progress; an unknown code is shown as it is."""
    if not status:
        return ""
    try:
        return STATUS_NAMES[_lang(lang)][Status(status)]
    except ValueError:
        return str(status)


def outbox_status_name(code: str, lang: str) -> str:
    """待发送 / pending: an outgoing mail's status; an unknown code as it is."""
    return OUTBOX_STATUS_NAMES[_lang(lang)].get(code, code)


def priority_name(settings: Settings, code: str, lang: str) -> str:
    """紧急 / urgent for P1, from the config; the code when the config names none."""
    priority = settings.priorities.get(code)
    if priority is None:
        return code
    return priority.name if _lang(lang) == "zh" else (priority.name_en or code)


def type_name(settings: Settings, code: str, lang: str) -> str:
    """硬件故障 / hardware fault; the code when no name is known."""
    if _lang(lang) == "zh":
        return settings.types.get(code, code)
    return TYPE_NAMES_EN.get(code, code)


def team_name(settings: Settings, code: str, lang: str) -> str:
    """硬件组 / hardware: the team's display name in Chinese mails and tables, its code otherwise."""
    team = settings.team(code)
    if _lang(lang) == "zh" and team is not None and team.display_name:
        return team.display_name
    return code


def role_name(role: str, lang: str) -> str:
    return ROLE_NAMES[_lang(lang)].get(role, role)


TIER_NAMES: dict[str, dict[int, str]] = {
    "zh": {1: "一线", 2: "二线", 3: "三线（研发）"},
    "en": {1: "tier 1", 2: "tier 2", 3: "tier 3 (R&D)"},
}


def tier_name(tier: int, lang: str) -> str:
    """一线 / tier 1: a support tier (1 when none is known)."""
    return TIER_NAMES[_lang(lang)].get(tier, TIER_NAMES[_lang(lang)][1])


def file_size(size: int) -> str:
    """1.2 MB, 340 KB, 512 B: an attachment's size as people read it (the same in every language)."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{size} B"


def channel_name(channel: str, lang: str) -> str:
    """电话 / phone: how a ticket reached the desk; an unknown code is shown as it is."""
    return CHANNEL_NAMES[_lang(lang)].get(channel, channel)


def parse_channel(text: str) -> str | None:
    """The channel a person meant by ``text`` (phone, 电话, 微信, walk-in, 现场, ...), or None."""
    word = text.strip().lower()
    return _CHANNEL_WORDS.get(word) or _CHANNEL_WORDS.get(word.replace(" ", "-"))


def target_name(target: str, lang: str) -> str:
    """首次响应 / first response: what a reminder is about."""
    return TARGET_NAMES[_lang(lang)][target]


def missed_name(target: str, lang: str, hours: float = 0) -> str:
    """首次响应时限 / first response target; 4 小时升级时限 for an escalation threshold."""
    if target == "escalation":
        return form("escalation", lang, hours=hours)
    return form("missed", lang, target=target_name(target, lang))


def joined(items: list[str], lang: str) -> str:
    """Names in a row: 张伟、李娜 / Zhang Wei, Li Na."""
    return form("join", lang).join(items)


def hours_minutes(seconds: float, lang: str) -> str:
    """A span of (business) time: 2 小时 15 分钟 / 2 h 15 min; under a minute says so."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return form("under_a_minute", lang)
    h, m = divmod(minutes, 60)
    return " ".join(p for p in (form("hours", lang, n=h) if h else "", form("minutes", lang, n=m) if m else "") if p)


def age(seconds: float, lang: str) -> str:
    """How long a ticket has been open, in wall-clock days and hours: 3 天 4 小时 / 3 d 4 h."""
    d, h = divmod(int(seconds // 3600), 24)
    if not d:
        return hours_minutes(seconds, lang)
    return " ".join(p for p in (form("days", lang, n=d), form("hours", lang, n=h) if h else "") if p)


def working_days(days: int, lang: str) -> str:
    return form("working_day" if days == 1 else "working_days", lang, n=days)


def unassigned(lang: str) -> str:
    return form("unassigned", lang)


# what people type, in English and Chinese, for a status
_ALIASES: dict[str, Status] = {
    **{s.value: s for s in Status},
    **{name: s for s, name in STATUS_NAMES["zh"].items()},
    **{name.replace(" ", "_"): s for s, name in STATUS_NAMES["en"].items()},
    "open": Status.IN_PROGRESS,
    "in-progress": Status.IN_PROGRESS,
    "progress": Status.IN_PROGRESS,
    "waiting": Status.WAITING_USER,
    "waiting-user": Status.WAITING_USER,
    "waiting-team": Status.WAITING_TEAM,
    "solved": Status.RESOLVED,
    "done": Status.RESOLVED,
    "close": Status.CLOSED,
    "archive": Status.ARCHIVED,
    "处理": Status.IN_PROGRESS,
    "解决": Status.RESOLVED,
    "关闭": Status.CLOSED,
    "归档": Status.ARCHIVED,
    "待反馈": Status.WAITING_USER,
    "协同": Status.WAITING_TEAM,
    "测试": Status.TESTING,
}


def parse_status(text: str) -> Status | None:
    """The status a person meant by ``text`` (English code, alias or Chinese name), or None."""
    return _ALIASES.get(text.strip().lower().replace(" ", "_")) or _ALIASES.get(text.strip())


# the outcomes of a requirement's evaluation (需求评估), and what people type for them
OUTCOMES = ("feasible", "not_now", "needs_change")
OUTCOME_NAMES: dict[str, dict[str, str]] = {
    "zh": {"feasible": "可实施", "not_now": "暂不可实施", "needs_change": "需调整方案"},
    "en": {"feasible": "feasible", "not_now": "not now", "needs_change": "needs change"},
}
_OUTCOME_WORDS: dict[str, str] = {
    **{o: o for o in OUTCOMES}, **{name: o for names in OUTCOME_NAMES.values() for o, name in names.items()},
    "not-now": "not_now", "needs-change": "needs_change", "accept": "feasible", "accepted": "feasible",
    "later": "not_now", "deferred": "not_now", "change": "needs_change", "revise": "needs_change",
    "可以实施": "feasible", "暂不实施": "not_now", "不可实施": "not_now", "调整方案": "needs_change",
}  # fmt: skip
_OUTCOMES_BY_LENGTH = sorted(_OUTCOME_WORDS, key=len, reverse=True)


def outcome_name(outcome: str, lang: str) -> str:
    """可实施 / feasible: an evaluation's outcome as people read it."""
    return OUTCOME_NAMES[_lang(lang)].get(outcome, outcome)


def parse_outcome(text: str) -> tuple[str, str] | None:
    """(outcome, the words after it) for ``可实施 计划下季度上线`` or ``not-now: budget``; None when the text
    starts with no outcome. The longest word wins, so 暂不可实施 is never read as 可实施."""
    stripped = text.strip()
    lower = stripped.lower()
    for word in _OUTCOMES_BY_LENGTH:
        if lower.startswith(word):
            rest = stripped[len(word):]
            if word.isascii() and rest[:1].isalnum():
                continue  # "later" is not "laterally"
            return _OUTCOME_WORDS[word], rest.strip().lstrip(":：,，;；-—").strip()
    return None
