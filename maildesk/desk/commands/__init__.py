"""Commands in a staff member's reply: parsing the lines, and applying them all or none."""

from maildesk.desk.commands.apply import CommandOutcome, apply_commands
from maildesk.desk.commands.context import CommandContext, CommandFailed
from maildesk.desk.commands.parse import Command, ParsedReply, parse_commands, split_request

__all__ = [
    "Command", "CommandContext", "CommandFailed", "CommandOutcome", "ParsedReply", "apply_commands",
    "parse_commands", "split_request",
]  # fmt: skip
