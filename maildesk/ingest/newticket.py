"""A mail that starts a conversation: who sent it, how the rules classify it, who gets it.

Produces the ticket, its first message, the audit events, and the acknowledgement
and assignment mails, all in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from maildesk.app import App
from maildesk.commands.proof import FROM_FAILED_FLAG, failed_from
from maildesk.ingest.mail import InboundMail
from maildesk.ingest.storing import store_inbound
from maildesk.kb import suggest_articles
from maildesk.outbound.notify import language_of, queue_ack, queue_assignment, queue_reject
from maildesk.rules.assign import choose_assignee, team_lead
from maildesk.rules.directory import Person
from maildesk.rules.engine import evaluate
from maildesk.rules.model import BurstHit, Decision
from maildesk.sla_state import refresh_deadlines
from maildesk.store.models import OutboxMail, RuleHit, Ticket
from maildesk.tickets import NewTicket, create_ticket, link_tickets, record, set_field
from maildesk.watchers import added_watchers


@dataclass(frozen=True)
class NewOutcome:
    result: str  # "created", "rejected", "quarantine"
    ticket: Ticket | None = None
    reason: str = ""


def classify(app: App, mail: InboundMail, person: Person | None, now: datetime) -> Decision:
    return evaluate(app.rules, mail, person, in_business_hours=app.calendar.is_business_time(now),
                    defaults=app.rule_defaults)


def acks_in_last_hour(session: Session, sender: str, now: datetime) -> int:
    """Acks to ``sender`` queued in the last hour, earlier mails of this batch included.

    Without an autoflush: the acks of earlier mails in the batch were flushed when their
    savepoints were released, and the pending changes of the current mail (its ticket's
    counters and deadlines, events) do not change the count; they go out in one flush later.
    """
    with session.no_autoflush:
        return session.scalar(_ACKS_SINCE, {"sender": sender, "since": now - timedelta(hours=1)}) or 0


_ACKS_SINCE = (  # built once: building it costs more than running it
    select(func.count()).select_from(OutboxMail).join(Ticket, Ticket.id == OutboxMail.ticket_id)
    .where(OutboxMail.kind == "ack", Ticket.reporter == bindparam("sender"),
           OutboxMail.created_at > bindparam("since"))
)


def start_ticket(
    app: App, session: Session, mail: InboundMail, text: str, now: datetime, *, flags: tuple[str, ...] = (),
    related: Ticket | None = None, link_kind: str = "related",
) -> NewOutcome:
    settings = app.settings
    sender = mail.sender
    person = app.directory.get(sender)
    extra_flags: list[str] = list(flags)
    if failed_from(mail, settings.intake.trusted_authserv_ids) is not None:
        extra_flags.append(FROM_FAILED_FLAG)  # our mail server says this From is forged: a person looks
    lang = language_of(f"{mail.subject}\n{text}", settings.language)
    if person is None:
        policy = settings.intake.unknown_senders
        if policy == "reject":
            store_inbound(session, mail, ticket=None, kind="rejected", text=text, now=now)
            if acks_in_last_hour(session, sender, now) < settings.intake.ack_limit_per_hour:
                queue_reject(session, app, to=sender, sender_name=mail.from_addr.name if mail.from_addr else "",
                             subject=mail.subject, message_id=mail.message_id, now=now, lang=lang)
            return NewOutcome("rejected", reason="unknown sender, policy reject")
        if policy == "flag":
            extra_flags.append("unknown_sender")
    decision = classify(app, mail, person, now)
    if decision.quarantine:
        return NewOutcome("quarantine", reason=f"rule {', '.join(decision.hits)} asked for quarantine")
    team = settings.team(decision.team) if decision.team else None
    assignee = decision.assignee or (choose_assignee(session, app.directory, team, reporter=sender) if team else None)
    lead = team_lead(app.directory, team) if "collaboration" in decision.flags else None
    data = NewTicket(
        subject=mail.subject.strip() or "(无主题)", reporter=sender, priority=decision.priority, type=decision.type,
        team=decision.team, assignee=assignee,
        reporter_name=(person.name if person else "") or (mail.from_addr.name if mail.from_addr else ""),
        reporter_department=person.department if person else "",
        reporter_employee_id=person.employee_id if person else "",
        reporter_extension=person.extension if person else "",
        language=lang, tags=decision.tags, flags=(*decision.flags, *extra_flags),
        watchers=tuple(added_watchers((), [a.addr for a in mail.cc], reporter=sender, settings=settings,
                                      directory=app.directory)),
        extra_events=(("rules", "; ".join(line for line in decision.explain() if line.startswith("hit"))),)
        if decision.hits else (),
    )
    ticket = create_ticket(session, data, prefix=settings.ticket_prefix, tz=settings.tz, now=now)
    if lead:
        ticket.lead = lead
        record(session, ticket, actor="system", action="lead", now=now, new=lead)
    store_inbound(session, mail, ticket=ticket, kind="normal", text=text, now=now, rule_hits=list(decision.hits))
    refresh_deadlines(ticket, app.targets, app.calendar, now)
    if related is not None:
        link_tickets(session, ticket, related, link_kind, actor="system", now=now)
    for burst in decision.bursts:
        apply_burst(app, session, ticket, burst, now)
    if not decision.skip_ack and acks_in_last_hour(session, sender, now) < settings.intake.ack_limit_per_hour:
        with session.no_autoflush:  # the knowledge base does not depend on this mail's pending rows
            kb_articles = suggest_articles(session, ticket.subject)
        queue_ack(session, app, ticket, now=now, message_id=mail.message_id, references=mail.references,
                  kb_articles=kb_articles)
    if ticket.assignee:
        queue_assignment(session, app, ticket, ticket.assignee, now=now, description=text,
                         in_reply_to=mail.message_id)
    return NewOutcome("created", ticket)


def apply_burst(app: App, session: Session, ticket: Ticket, burst: BurstHit, now: datetime) -> None:
    """N matching tickets (per department or overall) within the window: raise them all, link as one incident."""
    session.add(RuleHit(ticket_id=ticket.id, rule=burst.rule, key=burst.key, at=now))
    session.flush()
    since = now - timedelta(minutes=burst.minutes)
    ids = list(session.scalars(
        select(RuleHit.ticket_id).where(RuleHit.rule == burst.rule, RuleHit.key == burst.key, RuleHit.at > since)
        .order_by(RuleHit.at, RuleHit.id)
    ))
    if len(ids) < burst.count:
        return
    order = app.settings.priority_order()
    tickets = list(session.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id)))
    first = tickets[0]
    for t in tickets:
        if order.index(burst.priority) < order.index(t.priority):
            set_field(session, t, "priority", burst.priority, actor=f"rule:{burst.rule}", now=now,
                      note=f"{len(ids)} within {burst.minutes} min ({burst.key})")
            refresh_deadlines(t, app.targets, app.calendar, now)
        if t.id != first.id:
            link_tickets(session, t, first, "incident", actor=f"rule:{burst.rule}", now=now)
