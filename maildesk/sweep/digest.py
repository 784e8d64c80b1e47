"""Supervisor digests: breaches, tickets at risk, the oldest open tickets, load per engineer, and (daily)
the new tickets nobody has reviewed (复核) yet.

Hourly (in business hours) while a ticket of ``sla.digest_hourly_priorities`` (P1/P2) is in
breach, to the leads and managers; daily at ``sla.daily_digest_at`` on working days, for
every priority, to leads, managers and directors. One mail per supervisor and period
(``digest:hourly:2026-11-23T10:<address>``, ``digest:daily:2026-11-23:<address>``), so a
restart or a second daemon sends nothing twice; the daily digest stands in for the hourly one
in its hour. "At risk" means due before the next digest of the same kind. Subjects and
addresses pass through ``maildesk.masking`` (with the reporter's and the directory's names): a
reporter's mobile number or name in a subject does not travel on to supervisors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session

from maildesk.desk.mailing import fmt_time, mask_for_ticket
from maildesk.desk.triage import REVIEWED
from maildesk.masking import mask_email
from maildesk.outbound.outbox import Outgoing, queue_mail
from maildesk.people.roles import holders_of_any
from maildesk.statuses import OPEN_STATUSES, Status
from maildesk.store.models import Event, Ticket
from maildesk.sweep.runner import Batch, Queued, Sweep, existing_keys
from maildesk.words import age, hours_minutes, status_name, type_name, unassigned

LIST_LIMIT = 50  # rows per section; the totals are always complete
OLDEST = 5
REVIEW_DAYS = 7  # how far back the daily digest lists tickets nobody reviewed (复核)
HOURLY_ROLES = ("lead", "manager")
DAILY_ROLES = ("lead", "manager", "director")
ACTIVE = sorted(s.value for s in OPEN_STATUSES - {Status.WAITING_USER})
OPEN = sorted(s.value for s in OPEN_STATUSES)


@dataclass(frozen=True)
class Edition:
    """One digest to send: which kind, for which period, about which priorities."""

    kind: str  # hourly, daily
    period_key: str
    period: str
    priorities: tuple[str, ...]  # empty: all
    horizon: datetime
    roles: tuple[str, ...]


def digest_phase(sweep: Sweep) -> None:
    """Queue the digests due at ``sweep.now``."""
    desk, now, local = sweep.desk, sweep.now, sweep.local_now
    sla, calendar = desk.settings.sla, sweep.calendar
    editions: list[Edition] = []
    slot = datetime.combine(local.date(), sla.daily_digest_at, tzinfo=desk.settings.tz)
    daily_due = calendar.is_working_day(slot.date()) and slot <= now and \
        (sweep.in_hours or not calendar.is_business_time(slot))
    if daily_due:
        editions.append(Edition("daily", f"{local:%Y-%m-%d}", f"{local:%Y-%m-%d}", (),
                                calendar.add_business_seconds(now, calendar.day_seconds), DAILY_ROLES))
    if sweep.in_hours and sla.digest_hourly_priorities and not (daily_due and local.hour == slot.hour):
        hour = local.replace(minute=0, second=0, microsecond=0)
        editions.append(Edition("hourly", f"{hour:%Y-%m-%dT%H}", f"{hour:%Y-%m-%d %H:%M}–{hour.hour + 1:02d}:00",
                                tuple(sla.digest_hourly_priorities), calendar.add_business_hours(now, 1),
                                HOURLY_ROLES))
    for edition in editions:
        with sweep.store.session() as session:
            queued = _send_edition(Batch.of(sweep, session), edition)
        sweep.queued.extend(queued)


def _recipients(batch: Batch, roles: tuple[str, ...]) -> list[tuple[str, str]]:
    directory = batch.ctx.directory
    found = (directory.get(a) for a in holders_of_any(directory, batch.ctx.settings, roles))
    return [(p.address, p.name or p.address) for p in found if p is not None]


def _send_edition(batch: Batch, edition: Edition) -> list[Queued]:
    recipients = _recipients(batch, edition.roles)
    keys = {addr: f"digest:{edition.kind}:{edition.period_key}:{addr}" for addr, _ in recipients}
    sent = existing_keys(batch.session, list(keys.values()))
    todo = [(addr, name) for addr, name in recipients if keys[addr] not in sent]
    if not todo:
        return []
    ctx, now = batch.ctx, batch.now
    lang = ctx.lang
    # the hourly digest exists for breaches of urgent tickets only, the daily one while anything is open
    if not (_any_breach(batch, edition) if edition.kind == "hourly" else _any(batch, Ticket.status.in_(OPEN))):
        return []
    content = digest_content(batch.session, batch, edition, lang)
    queued = []
    for addr, name in todo:
        rendered = ctx.templates.render("digest", lang, {
            **content, "recipient_name": name, "period": edition.period, "generated_at": fmt_time(now, ctx.settings),
        })
        row = queue_mail(batch.session, ctx.settings, Outgoing(
            kind="digest", to=[addr], subject=rendered.subject, text=rendered.text, html=rendered.html,
            dedup_key=keys[addr], record_on_ticket=False,
        ), now=now)
        if row is not None:
            queued.append(Queued(None, "digest", (addr,)))
    return queued


def _any(batch: Batch, where: ColumnElement[bool]) -> bool:
    return batch.session.scalar(select(Ticket.id).where(where).limit(1)) is not None


def _any_breach(batch: Batch, edition: Edition) -> bool:
    active = and_(Ticket.status.in_(ACTIVE), Ticket.priority.in_(edition.priorities))
    return _any(batch, and_(active, Ticket.resolve_due <= batch.now)) or _any(
        batch, and_(active, Ticket.first_response_at.is_(None), Ticket.response_due <= batch.now))


def digest_content(session: Session, batch: Batch, edition: Edition, lang: str) -> dict[str, Any]:
    """The digest's sections, masked; lists capped at LIST_LIMIT rows, totals complete."""
    now = batch.now
    only: ColumnElement[bool] = Ticket.priority.in_(edition.priorities) if edition.priorities else true()
    active = and_(Ticket.status.in_(ACTIVE), only)
    resolve_late = and_(active, Ticket.resolve_due <= now)
    response_late = and_(active, Ticket.first_response_at.is_(None), Ticket.response_due <= now,
                         Ticket.resolve_due > now)
    breaches, breach_total = _listed(session, [(resolve_late, Ticket.resolve_due),
                                               (response_late, Ticket.response_due)])
    h = edition.horizon
    resolve_soon = and_(active, Ticket.resolve_due > now, Ticket.resolve_due <= h)
    response_soon = and_(active, Ticket.first_response_at.is_(None), Ticket.response_due > now,
                         Ticket.response_due <= h, Ticket.resolve_due > h)
    at_risk, risk_total = _listed(session, [(resolve_soon, Ticket.resolve_due), (response_soon, Ticket.response_due)])
    oldest = session.scalars(select(Ticket).where(Ticket.status.in_(OPEN)).order_by(Ticket.created_at, Ticket.id)
                             .limit(OLDEST)).all()
    tz = batch.ctx.settings.tz
    return {
        "breaches": [{**_row(batch, t, lang), "overdue_by": hours_minutes(
            batch.ctx.clock_of(t).business_seconds_between(due, now), lang)} for t, due in breaches],
        "breaches_total": breach_total,
        "at_risk": [{**_row(batch, t, lang), "due": f"{due.astimezone(tz):%Y-%m-%d %H:%M}"} for t, due in at_risk],
        "at_risk_total": risk_total,
        "oldest": [{"number": t.number, "subject": mask_for_ticket(batch.ctx, t, t.subject),
                    "status_name": status_name(t.status, lang),
                    "age": age((now - t.created_at).total_seconds(), lang)} for t in oldest],
        "load": _load(session, batch, lang),
        "to_review": _to_review(batch, lang) if edition.kind == "daily" else [],
    }


Listed = tuple[list[tuple[Ticket, datetime]], int]


def _listed(session: Session, parts: list[tuple[ColumnElement[bool], Any]]) -> Listed:
    """The first LIST_LIMIT tickets by due time over several conditions, and how many match in all."""
    rows: list[tuple[Ticket, datetime]] = []
    total = 0
    for where, due in parts:
        total += session.scalar(select(func.count()).select_from(Ticket).where(where)) or 0
        rows.extend((t, d) for t, d in session.execute(
            select(Ticket, due).where(where).order_by(due, Ticket.id).limit(LIST_LIMIT)))
    rows.sort(key=lambda pair: pair[1])
    return rows[:LIST_LIMIT], total


def _row(batch: Batch, ticket: Ticket, lang: str) -> dict[str, str]:
    return {"number": ticket.number, "subject": mask_for_ticket(batch.ctx, ticket, ticket.subject),
            "priority": ticket.priority,
            "assignee_name": _engineer(batch, ticket.assignee, lang),
            # the intake form's system and impact tell a supervisor at a glance how bad a breach is
            "system": mask_for_ticket(batch.ctx, ticket, ticket.system or ""),
            "impact": mask_for_ticket(batch.ctx, ticket, ticket.impact or "")}


def _engineer(batch: Batch, address: str | None, lang: str) -> str:
    if not address:
        return unassigned(lang)
    person = batch.ctx.directory.get(address)
    # supervisors know their engineers by name; an address that the directory does not name is masked
    return person.name if person and person.name else mask_email(address)


def _to_review(batch: Batch, lang: str) -> list[dict[str, str]]:
    """Open tickets of the last REVIEW_DAYS nobody has reviewed (复核) yet, oldest first: the supervisors' list."""
    since = batch.now - timedelta(days=REVIEW_DAYS)
    reviewed = select(Event.id).where(Event.ticket_id == Ticket.id, Event.action == REVIEWED).exists()
    rows = batch.session.scalars(
        select(Ticket).where(Ticket.status.in_(OPEN), Ticket.created_at >= since, ~reviewed)
        .order_by(Ticket.created_at, Ticket.id).limit(LIST_LIMIT)).all()
    settings = batch.ctx.settings
    return [{"number": t.number, "subject": mask_for_ticket(batch.ctx, t, t.subject), "priority": t.priority,
             "type_name": type_name(settings, t.type, lang),
             "system": mask_for_ticket(batch.ctx, t, t.system or ""),
             "age": age((batch.now - t.created_at).total_seconds(), lang)} for t in rows]


def _load(session: Session, batch: Batch, lang: str) -> list[dict[str, Any]]:
    """Open and breached tickets per assignee, every priority (the busiest first)."""
    now = batch.now
    active = Ticket.status.in_(ACTIVE)
    late = [and_(active, Ticket.resolve_due <= now),
            and_(active, Ticket.first_response_at.is_(None), Ticket.response_due <= now, Ticket.resolve_due > now)]
    open_by = dict(session.execute(select(Ticket.assignee, func.count()).where(Ticket.status.in_(OPEN))
                                   .group_by(Ticket.assignee)).all())
    breached: dict[str | None, int] = {}
    for where in late:
        for assignee, n in session.execute(select(Ticket.assignee, func.count()).where(where)
                                           .group_by(Ticket.assignee)):
            breached[assignee] = breached.get(assignee, 0) + n
    order = sorted(open_by, key=lambda a: (-open_by[a], a or "~"))
    return [{"engineer": _engineer(batch, a, lang), "open": open_by[a], "breached": breached.get(a, 0)}
            for a in order]
