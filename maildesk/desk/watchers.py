"""Who follows a ticket besides its reporter: the people copied (Cc) by the reporter or by staff.

A watcher receives every public mail of the ticket and may write to it, so the
list only grows from mails of people who already speak for the ticket (its
reporter, or staff with proof), never beyond ``intake.max_watchers``, and never
with the desk's own addresses (an alias, a per-ticket reply address), staff
(who hear of the ticket anyway) or list and role addresses
(``intake.watcher_exclude``): one mail copied to a list must not make every
later answer go to the whole company.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from maildesk.config import Settings
from maildesk.desk.context import Context
from maildesk.desk.tickets import add_tags
from maildesk.mail import InboundMail
from maildesk.people.directory import Directory
from maildesk.store.models import Ticket


def may_watch(address: str, settings: Settings, directory: Directory) -> bool:
    """Whether ``address`` can be made a watcher at all."""
    address = address.strip().lower()
    if not address or "@" not in address or settings.is_own_address(address) or directory.is_staff(address):
        return False
    return not any(fnmatchcase(address, pattern.lower()) for pattern in settings.intake.watcher_exclude)


def added_watchers(
    current: Iterable[str], copied: Iterable[str], *, reporter: str, settings: Settings, directory: Directory,
) -> list[str]:
    """The addresses of ``copied`` to add to the ``current`` watchers, in order, within the limit."""
    have = [w.lower() for w in current]
    room = settings.intake.max_watchers - len(have)
    added: list[str] = []
    for address in (a.strip().lower() for a in copied):
        if room <= len(added):
            break
        if address == reporter or address in have or address in added or not may_watch(address, settings,
                                                                                           directory):
            continue
        added.append(address)
    return added


def add_copied_watchers(ctx: Context, ticket: Ticket, mail: InboundMail) -> None:
    """The people ``mail`` copied become watchers of ``ticket``; the caller knows its sender may do that."""
    add_tags(ticket, added_watchers(ticket.watchers or [], [a.addr for a in mail.cc], reporter=ticket.reporter,
                                    settings=ctx.settings, directory=ctx.directory), field_name="watchers")
