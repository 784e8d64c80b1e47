"""The end of a ticket: a reminder to confirm, the auto-close, the satisfaction survey.

A resolved ticket whose reporter gave no verdict gets one reminder a working day before the
deadline and is closed after ``sla.confirm_close_days`` working days (the closed mail to the
reporter). The days count from the resolution, or from the reporter's last reply that was no
verdict ("谢谢，我试试"), so the engineer has time to answer it. Every ticket closed — here,
by an engineer's command, from the command line — gets the survey once (``survey:<number>``,
the conversation code's key too) on the first sweep in business hours after the close, except
a ticket merged into another, which is closed without one on purpose.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, select

from maildesk.desk.breach_review import queued_review
from maildesk.desk.notices import queue_closed, queue_survey
from maildesk.desk.tickets import SYSTEM, change_status
from maildesk.statuses import Status
from maildesk.store.models import Event, Message, Ticket
from maildesk.sweep.runner import Batch, Sweep, existing_keys, for_each_due
from maildesk.words import working_days

# Closed longer ago than this and never surveyed (the daemon was down for a week): let it be.
SURVEY_WINDOW = timedelta(days=7)
_DONE = (Status.CLOSED.value, Status.ARCHIVED.value)


def closing_phase(sweep: Sweep) -> None:
    """Confirmation reminders and auto-closes of resolved tickets nobody answered; in business hours."""
    if not sweep.in_hours:
        return
    days = sweep.desk.settings.sla.confirm_close_days
    first = days - 1 if days > 1 else days
    # N working days are at least N calendar days: a cheap bound before the calendar's exact answer
    where = and_(Ticket.status == Status.RESOLVED.value, Ticket.resolved_at <= sweep.now - timedelta(days=first))
    for_each_due(sweep, [where], _resolved, prepare=_last_words)


def survey_phase(sweep: Sweep) -> None:
    """The satisfaction survey to the reporter of every ticket closed lately; in business hours."""
    if not sweep.in_hours:
        return
    # the closed_at range alone: with a status term SQLite would read every closed ticket ever
    where = and_(Ticket.closed_at > sweep.now - SURVEY_WINDOW, Ticket.closed_at <= sweep.now)
    for_each_due(sweep, [where], _survey, prepare=_surveyed)


def _stamp(ticket: Ticket) -> str:
    return f"{ticket.resolved_at.timestamp():.0f}" if ticket.resolved_at else "0"


def _last_words(batch: Batch, tickets: list[Ticket]) -> None:
    """When the reporter last wrote after the resolution (a reply that was no verdict restarts the clock)."""
    earliest = min(t.resolved_at for t in tickets if t.resolved_at is not None)
    rows = batch.session.execute(
        select(Message.ticket_id, Message.from_addr, Message.created_at)
        .where(Message.ticket_id.in_([t.id for t in tickets]), Message.direction == "in",
               Message.created_at > earliest)
    ).all()
    by_id = {t.id: t for t in tickets}
    last: dict[int, datetime] = {}
    for tid, sender, at in rows:
        ticket = by_id.get(tid or 0)
        if ticket is not None and ticket.resolved_at is not None and sender == ticket.reporter \
                and at > ticket.resolved_at:
            last[ticket.id] = max(at, last.get(ticket.id, at))
    batch.facts["last_words"] = last
    batch.facts["sent"] = existing_keys(batch.session, [f"confirm:{t.number}:reminder:{_stamp(t)}" for t in tickets])


def _resolved(batch: Batch, ticket: Ticket) -> None:
    if ticket.resolved_at is None:
        return
    ctx, now = batch.ctx, batch.now
    days = ctx.settings.sla.confirm_close_days
    lang = ticket.language or ctx.lang
    since = batch.facts["last_words"].get(ticket.id, ticket.resolved_at)
    if now >= ctx.calendar.add_working_days(since, days):
        _auto_close(batch, ticket, days, lang)
        return
    key = f"confirm:{ticket.number}:reminder:{_stamp(ticket)}"
    if days < 2 or key in batch.facts["sent"] or now < ctx.calendar.add_working_days(since, days - 1):
        return
    batch.to_reporter(ticket, "confirm", {
        "reporter_name": ticket.reporter_name, "engineer_name": _engineer(batch, ticket),
        "resolution": _resolution(batch, ticket) or ctx.say("closing.see_above", lang),
        "auto_close_after": working_days(1, lang),
    }, dedup_key=key, with_watchers=False)


def _auto_close(batch: Batch, ticket: Ticket, days: int, lang: str) -> None:
    ctx = batch.ctx
    resolution = _resolution(batch, ticket)
    change_status(ctx, ticket, Status.CLOSED, actor=SYSTEM,
                  note=f"no answer from the reporter within {days} working days")
    reason = ctx.say("closing.no_answer", lang, days=working_days(days, lang))
    row = queue_closed(ctx, ticket, reason=reason, resolution=resolution or None)
    batch.keep(row, ticket, "closed")
    batch.keep(queued_review(ctx, ticket), ticket, "review")  # closed after its target: the review it opened


def _surveyed(batch: Batch, tickets: list[Ticket]) -> None:
    """Tickets already surveyed, and tickets merged into another (closed without a survey on purpose)."""
    ids = [t.id for t in tickets]
    batch.facts["sent"] = existing_keys(batch.session, [f"survey:{t.number}" for t in tickets])
    batch.facts["merged"] = set(batch.session.scalars(
        select(Event.ticket_id).where(Event.ticket_id.in_(ids), Event.action == "merged")))


def _survey(batch: Batch, ticket: Ticket) -> None:
    if f"survey:{ticket.number}" in batch.facts["sent"] or ticket.id in batch.facts["merged"] \
            or not ticket.reporter or ticket.status not in _DONE:
        return
    batch.keep(queue_survey(batch.ctx, ticket), ticket, "survey")


def _engineer(batch: Batch, ticket: Ticket) -> str:
    return batch.ctx.person_name(ticket.assignee) or batch.ctx.settings.support_name


def _resolution(batch: Batch, ticket: Ticket) -> str:
    """What the engineer wrote when resolving (the status change's note), or ""."""
    since: datetime = ticket.resolved_at or batch.now
    note = batch.session.scalar(
        select(Event.note).where(Event.ticket_id == ticket.id, Event.to_value == Status.RESOLVED.value,
                                 Event.at >= since - timedelta(seconds=1))
        .order_by(Event.id.desc()).limit(1)
    )
    return note or ""
