"""Step: a staff member's reply on a ticket — proof, commands, a progress entry, the words for the reporter.

Applies to a mail that joins a ticket from a staff address (on their own ticket, only a mail
with commands counts as staff's). Commands run only when the mail proves its sender
(``desk/proof``); a mail with a staff From and no proof is kept for a person to look at, the
ticket is flagged, the real owner of the address is told, and nothing of it is applied or
relayed: relaying it would let anyone write to the reporter from the support address. The
reporter gets the text without the command lines, from the support address, with the
attachments, and never a staff address or a reply address of the desk; with ``#split`` the text
is the new ticket's instead. On a closed ticket (the survey sent) the words reach nobody, unless the
mail's commands reopen it: they stay in the history as an internal note.
"""

from __future__ import annotations

import re

from maildesk.desk.commands import CommandContext, CommandOutcome, apply_commands, parse_commands
from maildesk.desk.context import Context
from maildesk.desk.handling import Handling, done
from maildesk.desk.mailing import to_reporter
from maildesk.desk.messages import attachments_of, store_inbound
from maildesk.desk.notices import queue_command_error
from maildesk.desk.parties import acts_as_staff
from maildesk.desk.proof import sender_proof
from maildesk.desk.tickets import add_tags, record, respond
from maildesk.desk.watchers import add_copied_watchers
from maildesk.ingest.outcome import Handled, Result
from maildesk.statuses import Status
from maildesk.store.models import Ticket

UNVERIFIED_FLAG = "unverified_staff_mail"
FINISHED = frozenset({Status.CLOSED.value, Status.ARCHIVED.value})
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def without_staff_addresses(ctx: Context, text: str) -> str:
    """The text with staff addresses (a signature's, a colleague's) and the desk's per-ticket reply
    addresses (the staff one above all) replaced by the support address."""
    support = ctx.settings.support_address

    def public(match: re.Match[str]) -> str:
        address = match.group(0)
        private = ctx.directory.is_staff(address) or ctx.addresses.is_reply_address(address)
        return support if private else address

    return _ADDRESS.sub(public, text)


def _unproven(ctx: Context, ticket: Ticket, mail: Handling, how: str) -> Handled:
    parsed = parse_commands(mail.text)
    store_inbound(ctx, mail.mail, ticket=ticket, kind="unverified", text=mail.text)
    add_tags(ticket, [UNVERIFIED_FLAG], field_name="flags")
    record(ctx, ticket, actor=mail.sender, action="unverified", note=how)
    if parsed.has_commands:
        # the real owner of the address hears of it: either their mail lacked proof, or someone forged it
        reason = ctx.say("command.unproven", how=how)
        lines = [*(c.line for c in parsed.commands), *parsed.unknown]
        queue_command_error(ctx, ticket, mail.sender, errors=[(line, reason) for line in lines], applied=(),
                            message_id=mail.mail.message_id, references=mail.mail.references)
    return done(ctx, Result.REPLY, ticket, f"staff mail without proof ({how}): stored and flagged, nothing applied")


def _withheld(ctx: Context, ticket: Ticket, sender: str, body: str) -> bool:
    """Keep a staff member's words on a closed ticket as an internal note; False: nothing goes out."""
    if ctx.stored is not None:
        ctx.stored.kind = "note"
    record(ctx, ticket, actor=sender, action="withheld", new=ticket.status, note=body)
    return False


def handle(ctx: Context, mail: Handling) -> Handled | None:
    ticket = mail.ticket
    if ticket is None or not acts_as_staff(ticket, mail.sender, mail.text, ctx.directory):
        return None
    proof = sender_proof(mail.mail, ticket, ctx.addresses, ctx.settings.intake.trusted_authserv_ids, ctx.now)
    if not proof.proven:
        return _unproven(ctx, ticket, mail, proof.how)
    sender = mail.sender
    parsed = parse_commands(mail.text)
    rest = without_staff_addresses(ctx, parsed.body)
    # with #split the words below the commands describe the new problem: none of them is an answer here
    splitting = any(c.name == "split" for c in parsed.commands)
    body = "" if splitting else rest
    public = bool(body)
    # after the closing mail and the survey the reporter hears nothing more but a reopening: words on a
    # finished ticket are held until the commands show whether they reopen it
    finished = ticket.status in FINISHED
    store_inbound(ctx, mail.mail, ticket=ticket, kind="normal" if public else "note", text=parsed.body)
    add_copied_watchers(ctx, ticket, mail.mail)
    attachments = attachments_of(mail.mail)
    if public and not finished:  # a progress entry (time, who, text), and the work has started
        record(ctx, ticket, actor=sender, action="progress", note=body)
        respond(ctx, ticket, actor=sender)
    outcome = CommandOutcome()
    if parsed.has_commands:
        outcome = apply_commands(CommandContext(ctx, ticket, sender, body=body, rest=rest, attachments=attachments),
                                 parsed)
    if public and finished and not outcome.body_sent:
        if ticket.status in FINISHED:  # still finished: the words stay inside, a note the reporter never gets
            public = _withheld(ctx, ticket, sender, body)
        else:  # reopened: the words are progress again, and go out
            record(ctx, ticket, actor=sender, action="progress", note=body)
            respond(ctx, ticket, actor=sender)
    if public and not outcome.body_sent:
        to_reporter(ctx, ticket, "relay", {"engineer_name": ctx.person_name(sender), "body": body, "notice": ""},
                    attachments=attachments, auto_submitted=None)
    if outcome.errors:
        queue_command_error(ctx, ticket, sender, errors=outcome.errors, applied=outcome.applied,
                            message_id=mail.mail.message_id, references=mail.mail.references)
    parts = [f"staff reply ({proof.how})"]
    if outcome.applied:
        parts.append(f"{len(outcome.applied)} command(s) applied")
    if outcome.errors:
        parts.append(f"{len(outcome.errors)} command line(s) rejected")
    if outcome.created:
        parts.append("split into " + ", ".join(outcome.created))
    return done(ctx, Result.REPLY, ticket, "; ".join(parts))
