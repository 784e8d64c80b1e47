"""Commands in a staff member's reply: parsing the lines, proving the sender, applying them all or none."""

from maildesk.commands.apply import CommandOutcome, apply_commands
from maildesk.commands.context import CommandContext, CommandFailed
from maildesk.commands.parse import Command, ParsedReply, parse_commands, split_request
from maildesk.commands.proof import Proof, sender_proof

__all__ = [
    "Command", "CommandContext", "CommandFailed", "CommandOutcome", "ParsedReply", "Proof", "apply_commands",
    "parse_commands", "sender_proof", "split_request",
]  # fmt: skip
