"""Step: a staff mail that records a problem for a reporter who called, messaged or came by (其他渠道).

Applies to a mail naming no ticket, from a staff address, whose first lines are ``#reporter ADDR``
(``#反馈人``) and optionally ``#channel phone|im|system|walk-in`` (``#渠道 电话``); the rest is the
problem. The mail must prove its sender (``desk/proof.staff_proof``), or anyone could have the desk
write to any address in its name: unproven, it is kept and the real owner of the address is told.
A line that cannot be used is answered the same way, and nothing is opened. Otherwise the mail goes
on through the new-ticket steps as the reporter's own (``desk/on_behalf``): their classification,
their acknowledgement, and the channel on the ticket. ``maildesk tickets new`` enters here too,
with the form already read.
"""

from __future__ import annotations

from dataclasses import replace

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling, done
from maildesk.desk.messages import store_inbound
from maildesk.desk.notices import queue_form_error
from maildesk.desk.on_behalf import Form, OnBehalf, channel_of, read_form, resolve_reporter
from maildesk.desk.proof import staff_proof
from maildesk.ingest.outcome import Handled, Result
from maildesk.mail import Address
from maildesk.words import CHANNELS, channel_name


def take_over(mail: Handling, on_behalf: OnBehalf, text: str) -> None:
    """From here on the mail reads as the reporter's: the rules see them as its sender and ``text`` as its words.

    The mail as staff sent it stays in ``mail.inbound`` (it is what the ticket keeps).
    """
    mail.mail = replace(mail.mail, from_addr=Address(on_behalf.name, on_behalf.reporter), reply_to=(), text=text,
                        html=None, in_reply_to=None, references=())
    mail.text = text
    mail.on_behalf = on_behalf


def _errors(ctx: Context, form: Form, found: tuple[str, str] | None, channel: str | None) -> list[tuple[str, str]]:
    errors = []
    if found is None:
        errors.append((form.reporter_line, ctx.say("recorded.no_reporter", arg=form.reporter or "—")))
    elif ctx.settings.is_own_address(found[0]):
        errors.append((form.reporter_line, ctx.say("recorded.own_address", arg=found[0])))
    if channel is None:
        choices = ctx.say("command.list_separator").join(f"{c} {channel_name(c, ctx.lang)}" for c in CHANNELS)
        errors.append((form.channel_line, ctx.say("recorded.unknown_channel", arg=form.channel, choices=choices)))
    if not form.rest:
        errors.append((form.reporter_line, ctx.say("recorded.no_problem")))
    return errors


def _refuse(ctx: Context, mail: Handling, errors: list[tuple[str, str]], reason: str, *, kind: str) -> Handled:
    store_inbound(ctx, mail.mail, ticket=None, kind=kind, text=mail.text)
    queue_form_error(ctx, mail.sender, errors=errors, message_id=mail.mail.message_id,
                     references=mail.mail.references)
    return done(ctx, Result.REJECTED, reason=reason)


def handle(ctx: Context, mail: Handling) -> Handled | None:
    if mail.on_behalf is not None or mail.ticket is not None or not ctx.directory.is_staff(mail.sender):
        return None
    form = read_form(mail.text)
    if form is None:
        return None
    proof = staff_proof(mail.mail, ctx.addresses, ctx.settings.intake.trusted_authserv_ids, ctx.now)
    if not proof.proven:
        why = ctx.say("command.unproven", how=proof.how)
        lines = [line for line in (form.reporter_line, form.channel_line) if line]
        return _refuse(ctx, mail, [(line, why) for line in lines],
                       f"a ticket for {form.reporter} without proof ({proof.how}): stored, nothing opened",
                       kind="unverified")
    found = resolve_reporter(form.reporter, ctx.directory)
    channel = channel_of(form.channel)
    errors = _errors(ctx, form, found, channel)
    if errors or found is None or channel is None:
        return _refuse(ctx, mail, errors, f"a ticket for {form.reporter}: {len(errors)} line(s) unusable",
                       kind="rejected")
    address, name = found
    person = ctx.directory.get(address)
    take_over(mail, OnBehalf(address, (person.name if person else "") or name, channel, mail.sender, proof.how),
              form.rest)
    return None
