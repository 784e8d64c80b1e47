"""Who a mail's sender is to a ticket: one of its people, and whether they write as staff."""

from __future__ import annotations

from maildesk.desk.commands.parse import parse_commands
from maildesk.people.directory import Directory
from maildesk.store.models import Ticket


def may_write_to(ticket: Ticket, sender: str, directory: Directory) -> bool:
    """Whether ``sender`` is one of the ticket's people: its reporter, a watcher, or staff."""
    sender = sender.lower()
    return sender == ticket.reporter or sender in (ticket.watchers or []) or directory.is_staff(sender)


def acts_as_staff(ticket: Ticket, sender: str, text: str, directory: Directory) -> bool:
    """Staff write as staff, except on their own ticket, where only a mail with commands does."""
    if not directory.is_staff(sender):
        return False
    return sender != ticket.reporter or parse_commands(text).has_commands
