"""Step: a staff member's out-of-office reply marks them away; their next normal mail marks them back.

Applies to every mail from a staff address that proves its sender (``desk/proof.staff_proof``: a
forged auto-reply must not take an engineer's tickets away). An out-of-office reply
(``ingest/loops.is_out_of_office``) is kept like any auto-reply and never answered; the person is
away from then on (``people/presence``), wherever the desk asks who is away, and their open urgent
tickets pass to present colleagues (``desk/handover``). Their next normal mail marks them back and
goes on its way. Unproven mails change nothing here.
"""

from __future__ import annotations

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling, done
from maildesk.desk.handover import hand_on_urgent, since_text
from maildesk.desk.messages import store_inbound
from maildesk.desk.proof import staff_proof
from maildesk.ingest.loops import MailKind, is_out_of_office
from maildesk.ingest.outcome import Handled, Result
from maildesk.people.presence import is_away, mark_away, mark_back


def handle(ctx: Context, mail: Handling) -> Handled | None:
    sender, kind = mail.sender, mail.inbound.kind
    if not sender or not ctx.directory.is_staff(sender):
        return None
    out_of_office = kind == MailKind.AUTO_REPLY and is_out_of_office(mail.mail)
    if not out_of_office and (kind != MailKind.NORMAL or not is_away(ctx.session, sender)):
        return None
    proof = staff_proof(mail.mail, ctx.addresses, ctx.settings.intake.trusted_authserv_ids, ctx.now)
    if not proof.proven:
        if out_of_office:
            ctx.notes.append(f"out-of-office reply from {sender} without proof ({proof.how}): not marked away")
        return None
    if not out_of_office:
        mark_back(ctx.session, sender, ctx.now)
        ctx.presence_changed()
        ctx.notes.append(f"{sender} is back (a normal mail)")
        return None
    message = store_inbound(ctx, mail.mail, ticket=mail.ticket, kind=kind.value, text=mail.text)
    if not mark_away(ctx.session, sender, ctx.now, note=mail.mail.subject[:200], message_pk=message.id):
        return done(ctx, Result.NOISE, mail.ticket, f"out-of-office reply from {sender}, away already")
    ctx.presence_changed()
    moved = hand_on_urgent(ctx, sender, since=since_text(ctx))
    handed = "; handed on " + ", ".join(f"{n} to {a}" for n, a in moved) if moved else ""
    return done(ctx, Result.NOISE, mail.ticket, f"out-of-office reply: {sender} marked away{handed}")
