"""Step: a mail from the reporter's side whose From address our mail server says failed.

Applies to a mail that joins a ticket (not as staff) when the trusted Authentication-Results
say DMARC failed, or SPF failed for the From domain without a DKIM pass (``desk/proof``). It
may be forged: it is stored and shown to the engineer with a warning, the ticket is flagged,
and nothing of it is applied (no verdict, no survey answer, no watcher, no reopening).
"""

from __future__ import annotations

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling, done
from maildesk.desk.messages import store_inbound
from maildesk.desk.notices import tell_engineer
from maildesk.desk.proof import FROM_FAILED_FLAG, failed_from
from maildesk.desk.tickets import add_tags, record
from maildesk.ingest.outcome import Handled, Result


def handle(ctx: Context, mail: Handling) -> Handled | None:
    ticket = mail.ticket
    if ticket is None:
        return None
    why = failed_from(mail.mail, ctx.settings.intake.trusted_authserv_ids)
    if why is None:
        return None
    store_inbound(ctx, mail.mail, ticket=ticket, kind="unverified", text=mail.text)
    add_tags(ticket, [FROM_FAILED_FLAG], field_name="flags")
    record(ctx, ticket, actor=mail.sender, action="unverified",
           note=f"our mail server says the From address failed ({why}): nothing of this mail was applied")
    tell_engineer(ctx, ticket, mail.mail, mail.text, notice=ctx.say("notice.from_failed", why=why))
    return done(ctx, Result.REPLY, ticket, f"From address failed ({why}): stored and flagged, nothing applied")
