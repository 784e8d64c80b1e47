"""Step: the new ticket itself, with its first message, its links and its burst incident.

Applies to every mail that starts a new ticket. The reporter's details come from the people
directory; the ticket is written in the language the reporter wrote in; the people they copied
become watchers (within the limit); a ticket linked to another (a stranger's, a follow-up, a
split) is linked both ways; the intake form's lines (涉及系统, 发生时间, 影响范围) fill its fields;
a From that our mail server says failed is flagged. A ticket staff
record for a reporter keeps the staff member's mail as its first message, the channel the problem
came by, and who recorded it.
"""

from __future__ import annotations

from maildesk.desk.bursts import apply_burst
from maildesk.desk.context import Context
from maildesk.desk.handling import Handling
from maildesk.desk.mailing import language_of
from maildesk.desk.messages import inbound_row, keep_inbound
from maildesk.desk.proof import FROM_FAILED_FLAG, failed_from
from maildesk.desk.tickets import SYSTEM, NewTicket, create_ticket, link_tickets, record
from maildesk.desk.watchers import added_watchers
from maildesk.ingest.form import parse_occurred, read_form
from maildesk.ingest.outcome import Handled


def handle(ctx: Context, mail: Handling) -> Handled | None:
    decision, person, message, behalf = mail.decision, mail.person, mail.mail, mail.on_behalf
    assert decision is not None, "classify runs first"
    sender, settings = mail.sender, ctx.settings
    if failed_from(mail.inbound.mail, settings.intake.trusted_authserv_ids) is not None:
        mail.flags.append(FROM_FAILED_FLAG)  # our mail server says this From is forged: a person looks
    # the form's lines (登记表) as the reporter filled them in; a rule names the system where they did not
    form = read_form(mail.text)
    lang = language_of(f"{message.subject}\n{mail.text}", settings.language)
    data = NewTicket(
        subject=message.subject.strip() or ctx.say("ticket.no_subject", lang), reporter=sender,
        priority=decision.priority, type=decision.type, team=decision.team, assignee=mail.assignee,
        reporter_name=(person.name if person else "") or (message.from_addr.name if message.from_addr else ""),
        reporter_department=person.department if person else "",
        reporter_employee_id=person.employee_id if person else "",
        reporter_extension=person.extension if person else "",
        channel=behalf.channel if behalf else "email", language=lang, tags=decision.tags,
        flags=(*decision.flags, *mail.flags),
        watchers=tuple(added_watchers((), [a.addr for a in message.cc], reporter=sender, settings=settings,
                                      directory=ctx.directory)),
        system=form.system or decision.system, impact=form.impact, occurred=form.occurred,
        occurred_at=parse_occurred(form.occurred, settings.tz, ctx.now),
        extra_events=(("rules", "; ".join(line for line in decision.explain() if line.startswith("hit"))),)
        if decision.hits else (),
    )
    # what the ticket keeps is the mail as it came: the staff member's, for a ticket they recorded
    kept = mail.inbound.mail if behalf else message
    first = inbound_row(ctx, kept, ticket=None, kind="recorded" if behalf else "normal", text=mail.text,
                        rule_hits=list(decision.hits))
    ticket = create_ticket(ctx, data, actor=behalf.recorded_by if behalf else SYSTEM, first=first)
    if behalf is not None:
        record(ctx, ticket, actor=behalf.recorded_by, action="recorded", new=behalf.channel,
               note=f"for {behalf.reporter} ({behalf.how})")
    if mail.lead:
        ticket.lead = mail.lead
        record(ctx, ticket, actor="system", action="lead", new=mail.lead)
    keep_inbound(ctx, kept, first, ticket, opening=True)
    if mail.related is not None:
        link_tickets(ctx, ticket, mail.related, mail.link_kind, actor="system")
    if mail.split_from is not None:
        record(ctx, mail.split_from, actor=sender, action="split", new=ticket.number)
    for burst in decision.bursts:
        mail.incident = apply_burst(ctx, ticket, burst) or mail.incident
    mail.made = ticket
    return None
