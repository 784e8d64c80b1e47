"""A staff member's reply on a ticket: commands, a progress entry, and the words relayed to the reporter.

Commands run only when the mail proves its sender (commands/proof.py); a mail
with a staff From and no proof is kept for a person to look at, the ticket is
flagged, and nothing of it is applied or relayed: relaying it would let anyone
write to the reporter from the support address. The reporter gets the text
without the command lines, from the support address, with the attachments, and
never a staff address: watchers who are staff are left out of the copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from maildesk.app import App
from maildesk.commands import CommandContext, CommandOutcome, apply_commands, parse_commands, sender_proof
from maildesk.ingest.mail import InboundMail
from maildesk.ingest.storing import store_inbound
from maildesk.outbound.audience import ticket_context_for
from maildesk.outbound.notify import person_name, queue_command_error, queue_public
from maildesk.sla_state import refresh_deadlines
from maildesk.statuses import Status
from maildesk.store.models import Ticket
from maildesk.tickets import add_tags, change_status, record
from maildesk.watchers import added_watchers

UNVERIFIED_FLAG = "unverified_staff_mail"
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class ReplyOutcome:
    """What a reply did: "reply", or "created" when it became a ticket of its own (``ticket``)."""

    result: str = "reply"
    ticket: str | None = None
    note: str = ""


def without_staff_addresses(app: App, text: str) -> str:
    """The text with staff addresses (a signature's, a colleague's) and the desk's per-ticket reply
    addresses (the staff one above all) replaced by the support address."""
    support = app.settings.support_address

    def public(match: re.Match[str]) -> str:
        address = match.group(0)
        private = app.directory.is_staff(address) or app.addresses.is_reply_address(address)
        return support if private else address

    return _ADDRESS.sub(public, text)


def attachments_of(mail: InboundMail) -> tuple[tuple[str, str, bytes], ...]:
    return tuple((a.filename or "attachment", a.content_type, a.data) for a in mail.attachments)


def _unproven(app: App, session: Session, ticket: Ticket, mail: InboundMail, text: str, how: str,
              now: datetime) -> ReplyOutcome:
    sender = mail.sender
    parsed = parse_commands(text)
    store_inbound(session, mail, ticket=ticket, kind="unverified", text=text, now=now)
    add_tags(ticket, [UNVERIFIED_FLAG], field_name="flags")
    record(session, ticket, actor=sender, action="unverified", now=now, note=how)
    if parsed.has_commands:
        # the real owner of the address hears of it: either their mail lacked proof, or someone forged it
        reason = ("未执行：无法证实邮件来自您本人（" + how + "）。请直接回复系统发给您的工单邮件。"
                  if app.settings.language == "zh" else
                  f"not applied: the mail does not prove it comes from you ({how}). Reply to the ticket mail "
                  "we sent you.")
        lines = [*(c.line for c in parsed.commands), *parsed.unknown]
        queue_command_error(session, app, ticket, sender, errors=[(line, reason) for line in lines], applied=(),
                            now=now, message_id=mail.message_id, references=mail.references,
                            ticket_view=ticket_context_for(app, ticket, [sender]))
    return ReplyOutcome(note=f"staff mail without proof ({how}): stored and flagged, nothing applied")


def staff_reply(app: App, session: Session, ticket: Ticket, mail: InboundMail, text: str,
                now: datetime) -> ReplyOutcome:
    """Apply a staff member's reply (``text`` is the reply without the quoted mail)."""
    sender = mail.sender
    proof = sender_proof(mail, ticket, app.addresses, app.settings.intake.trusted_authserv_ids, now)
    if not proof.proven:
        return _unproven(app, session, ticket, mail, text, proof.how, now)
    parsed = parse_commands(text)
    body = without_staff_addresses(app, parsed.body)
    public = bool(body)
    store_inbound(session, mail, ticket=ticket, kind="normal" if public else "note", text=parsed.body, now=now)
    add_tags(ticket, added_watchers(ticket.watchers or [], [a.addr for a in mail.cc], reporter=ticket.reporter,
                                    settings=app.settings, directory=app.directory), field_name="watchers")
    attachments = attachments_of(mail)
    if public:
        # a progress entry (time, who, text), and the work has started
        record(session, ticket, actor=sender, action="progress", now=now, note=body)
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        if Status(ticket.status) in (Status.NEW, Status.ASSIGNED):
            change_status(session, ticket, Status.IN_PROGRESS, actor=sender, now=now,
                          pause_meter=app.calendar.business_seconds_between)
        refresh_deadlines(ticket, app.targets, app.calendar, now)
    outcome = CommandOutcome()
    if parsed.has_commands:
        ctx = CommandContext(app, session, ticket, sender, now, body=body, attachments=attachments)
        outcome = apply_commands(ctx, parsed)
    if public and not outcome.body_sent:
        queue_public(session, app, ticket, "relay",
                     {"engineer_name": person_name(app, sender), "body": body, "notice": ""},
                     now=now, attachments=attachments, auto_submitted=None)
    if outcome.errors:
        # a supervisor answering an escalation is outside the conversation: the ticket stays masked
        queue_command_error(session, app, ticket, sender, errors=outcome.errors, applied=outcome.applied,
                            now=now, message_id=mail.message_id, references=mail.references,
                            ticket_view=ticket_context_for(app, ticket, [sender]))
    refresh_deadlines(ticket, app.targets, app.calendar, now)
    parts = [f"staff reply ({proof.how})"]
    if outcome.applied:
        parts.append(f"{len(outcome.applied)} command(s) applied")
    if outcome.errors:
        parts.append(f"{len(outcome.errors)} command line(s) rejected")
    if outcome.created:
        parts.append("split into " + ", ".join(outcome.created))
    return ReplyOutcome(note="; ".join(parts))
