"""Step: auto-replies, bounces, list mail and our own mail are kept where they belong and never answered.

Applies to every mail whose kind (``ingest/loops``) is not normal. Nothing here sends a mail:
this is how mail loops are made impossible.
"""

from __future__ import annotations

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling, done
from maildesk.desk.messages import store_inbound
from maildesk.ingest.loops import MailKind
from maildesk.ingest.outcome import Handled, Result


def handle(ctx: Context, mail: Handling) -> Handled | None:
    kind = mail.inbound.kind
    if kind == MailKind.NORMAL:
        return None
    store_inbound(ctx, mail.mail, ticket=mail.ticket, kind=kind.value, text=mail.text)
    return done(ctx, Result.NOISE, mail.ticket, f"{kind.value}: {mail.inbound.kind_reason}")
