"""Step: whether the mail may join the conversation of the ticket it names.

Applies to every mail that names a ticket (reply address, tag, Message-ID). Its reporter, a
watcher or staff join it (staff commands still need proof, ``staff_reply``); anyone else gets
a ticket of their own, linked to the named one and flagged ``foreign_thread``, and never sees
or adds to the other conversation.
"""

from __future__ import annotations

from maildesk.desk.context import Context
from maildesk.desk.handling import Handling
from maildesk.desk.parties import may_write_to
from maildesk.ingest.outcome import Handled

FOREIGN_FLAG = "foreign_thread"


def handle(ctx: Context, mail: Handling) -> Handled | None:
    named = mail.inbound.named
    if named is None:
        return None
    if may_write_to(named, mail.sender, ctx.directory):
        mail.ticket = named
    else:
        mail.related = named
        mail.flags.append(FOREIGN_FLAG)
    return None
