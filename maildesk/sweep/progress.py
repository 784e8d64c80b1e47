"""Progress mails to the reporter when nobody wrote to them within the priority's cadence.

Cadence on the priority's clock (P1 hourly, round the clock by default; P2 every 4 business
hours), or a daily summary at
``sla.daily_summary_at`` on working days (P3/P4). Silence is counted from the last mail the
reporter got on the thread (the acknowledgement, an engineer's answer, a progress mail…) or
from the moment the ticket stopped waiting on them: the reporter's own "any news?" does not
restart the clock, it is what the clock is for. A daily summary goes on a working day in
which nobody wrote to the reporter (a ticket opened or answered today gets none today).

``Ticket.next_progress_at`` is when to look again: NULL means "work it out" (a ticket operation
after a change); a new ticket comes with the time this phase would work out for a ticket nobody
wrote to since it was opened (``desk/deadlines.first_progress_at``). A ticket whose thread moved
on meanwhile is simply rescheduled when its time comes. Tickets waiting on the reporter get none.
Hourly mails go only in business time; a daily summary that could not go out on its day is not
sent a day late (the next one covers it). Idempotent per period: ``progress:<number>:<YYYY-MM-DDTHH>``
(cadence) or ``progress:<number>:<YYYY-MM-DD>`` (daily summary).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import and_, bindparam, func, select

from maildesk.desk.mailing import fmt_time, ticket_context
from maildesk.sla import daily_summary_due, progress_due
from maildesk.statuses import OPEN_STATUSES, Status
from maildesk.store.models import Event, Message, Ticket
from maildesk.sweep.runner import Batch, Sweep, for_each_due
from maildesk.words import status_name, unassigned

ACTIVE = sorted(s.value for s in OPEN_STATUSES - {Status.WAITING_USER})
# mails to staff: they tell the reporter nothing
STAFF_KINDS = ("assignment", "reminder", "escalation", "digest", "command_error", "report", "review", "mobilise")
_ENTRY_ACTIONS = ("status", "reopened", "priority")
# built once: read once a chunk (a summary sweep mails most of the chunk's tickets)
_ENTRY_EVENTS = (
    select(Event.ticket_id, Event.at, Event.action, Event.from_value, Event.to_value)
    .where(Event.ticket_id.in_(bindparam("ticket_ids", expanding=True)), Event.action.in_(_ENTRY_ACTIONS))
    .order_by(Event.id)
)


def progress_phase(sweep: Sweep) -> None:
    """Queue the progress mails due now; reschedule the tickets whose thread moved on."""
    active = Ticket.status.in_(ACTIVE)
    # mails together: at 17:00 the daily summary mails most of each chunk's tickets, and the work
    # reads nothing back (the chunk's facts are read once by _heard)
    for_each_due(sweep, [and_(active, Ticket.next_progress_at.is_(None)),
                         and_(active, Ticket.next_progress_at <= sweep.now)], _progress, prepare=_heard,
                 mails_together=True)


def _heard(batch: Batch, tickets: list[Ticket]) -> None:
    """Per ticket: when the reporter last got a mail, last got one that was no progress mail, left waiting."""
    by_id = {t.id: t for t in tickets}
    heard: dict[int, datetime] = {}
    heard_other: dict[int, datetime] = {}
    rows = batch.session.execute(
        select(Message.ticket_id, Message.kind, Message.to_addrs, Message.cc_addrs, Message.created_at)
        .where(Message.ticket_id.in_(list(by_id)), Message.direction == "out", Message.kind.not_in(STAFF_KINDS))
    ).all()
    for tid, kind, to, cc, at in rows:
        ticket = by_id.get(tid or 0)
        if ticket is None or ticket.reporter not in [*(to or []), *(cc or [])]:
            continue
        heard[ticket.id] = max(at, heard.get(ticket.id, at))
        if kind != "progress":
            heard_other[ticket.id] = max(at, heard_other.get(ticket.id, at))
    resumed = batch.session.execute(
        select(Event.ticket_id, func.max(Event.at))
        .where(Event.ticket_id.in_(list(by_id)), Event.from_value == Status.WAITING_USER.value,
               Event.action.in_(("status", "reopened")))
        .group_by(Event.ticket_id)
    ).all()
    changes: dict[int, list[Any]] = {}
    for row in batch.session.execute(_ENTRY_EVENTS, {"ticket_ids": list(by_id)}):
        changes.setdefault(row.ticket_id, []).append(row)
    batch.facts.update(heard=heard, heard_other=heard_other, changes=changes,
                       resumed={tid: at for tid, at in resumed if at is not None})


def _since(batch: Batch, ticket: Ticket, *, with_progress: bool) -> datetime:
    facts = batch.facts
    heard = facts["heard" if with_progress else "heard_other"].get(ticket.id)
    return max(a for a in (ticket.created_at, heard, facts["resumed"].get(ticket.id)) if a is not None)


def _progress(batch: Batch, ticket: Ticket) -> None:
    ctx, now = batch.ctx, batch.now
    target = ctx.targets.get(ticket.priority)
    daily_at = ctx.settings.sla.daily_summary_at
    if target is None:  # a priority no longer configured: look again tomorrow
        ticket.next_progress_at = ctx.calendar.next_local_time(now, daily_at)
        return
    if target.progress_hours is None:
        _daily(batch, ticket, daily_at)
        return
    anchor = _since(batch, ticket, with_progress=True)
    clock = ctx.clock_of(ticket)  # a P1 on the 7×24 clock hears of progress at night too
    due = progress_due(anchor, target, clock, daily_at)
    if due > now:
        ticket.next_progress_at = due
    elif not clock.is_business_time(now):
        ticket.next_progress_at = clock.next_business_moment(now)
    else:
        following = progress_due(now, target, clock, daily_at)
        _send(batch, ticket, f"{due.astimezone(ctx.settings.tz):%Y-%m-%dT%H}", anchor, following)
        ticket.next_progress_at = following


def _daily(batch: Batch, ticket: Ticket, daily_at: time) -> None:
    """The summary of a working day in which the reporter heard nothing: at its time, that day only."""
    ctx, now, sweep = batch.ctx, batch.now, batch.sweep
    tz, calendar = ctx.settings.tz, ctx.calendar
    due = daily_summary_due(_since(batch, ticket, with_progress=False), batch.facts["heard"].get(ticket.id), calendar,
                            daily_at)
    following = calendar.next_local_time(now, daily_at)
    if due > now:
        ticket.next_progress_at = due
        return
    slot = datetime.combine(sweep.local_now.date(), daily_at, tzinfo=tz)
    on_its_day = calendar.is_working_day(slot.date()) and due <= slot <= now
    if on_its_day and (sweep.in_hours or not calendar.is_business_time(slot)):
        _send(batch, ticket, f"{slot:%Y-%m-%d}", _since(batch, ticket, with_progress=True), following)
    ticket.next_progress_at = following


def _send(batch: Batch, ticket: Ticket, period: str, since: datetime, following: datetime) -> None:
    ctx = batch.ctx
    lang = ticket.language or ctx.lang
    context = ticket_context(ctx, ticket, lang)
    context["assignee_name"] = ctx.person_name(ticket.assignee) or unassigned(lang)
    batch.to_reporter(ticket, "progress", {
        "ticket": context, "reporter_name": ticket.reporter_name,
        "entries": _entries(batch, ticket, since, lang), "next_update": fmt_time(following, ctx.settings),
    }, dedup_key=f"progress:{ticket.number}:{period}")


def _entries(batch: Batch, ticket: Ticket, since: datetime, lang: str) -> list[dict[str, str]]:
    """What happened on the ticket since the reporter last heard: status and priority changes, never notes."""
    # the chunk's status and priority changes, read before its work (which adds none of them)
    events = [e for e in batch.facts["changes"].get(ticket.id, ()) if e.at > since]
    ctx = batch.ctx
    out = []
    for e in events:
        if e.action == "priority":
            action, result = ctx.say("progress.priority_changed", lang), f"{e.from_value} → {e.to_value}"
        else:
            action = ctx.say("progress.status_changed", lang)
            result = f"{status_name(e.from_value, lang)} → {status_name(e.to_value, lang)}"
        out.append({"at": f"{e.at.astimezone(ctx.settings.tz):%m-%d %H:%M}", "action": action, "result": result})
    return out
