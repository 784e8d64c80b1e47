"""``#close`` / ``#关闭``: the reporter confirms the end, unless staff close ``force`` with a reason.

Closing is step 5 and 6 of the loop: the reporter verifies the solution (结果验证) before the ticket
closes. So ``#close`` (and ``#status closed``) resolves the ticket and asks the reporter to confirm,
exactly as ``#status resolved`` does; their answer, or the working days without one, closes it
(``steps/verdict``, ``sweep/closing``). ``#close force reason`` (``#关闭 强制 原因``) closes at once
without asking, for what cannot wait on a reporter (a duplicate, a reporter who left); the reason is
required, goes to the reporter in the closing mail and stays in the history.
"""

from __future__ import annotations

from maildesk.desk.commands import handlers
from maildesk.desk.commands.context import CommandContext
from maildesk.desk.tickets import record
from maildesk.statuses import Status
from maildesk.words import parse_status

FORCE_WORDS = ("force", "forced", "强制")
CLOSE_FORCED = "close_forced"  # the audit action of a close without the reporter's confirmation


def _forced(arg: str) -> tuple[bool, str]:
    """(force?, the reason after the word) of ``#close`` 's argument."""
    text = arg.strip()
    for word in FORCE_WORDS:
        if text.lower().startswith(word) and (len(text) == len(word) or not text[len(word)].isascii()
                                              or not text[len(word)].isalnum()):
            return True, text[len(word):].strip().lstrip(":：,，").strip()
    return False, text


def ask_to_close(cmd: CommandContext, resolution: str = "") -> None:
    """Resolve and ask the reporter to confirm (``resolution``: what ``#close text`` says was done, for a reply
    with no text of its own); a ticket already waiting on their confirmation is refused."""
    if cmd.ctx.desk.is_requirement(cmd.ticket.type):
        cmd.fail("command.evaluate.not_resolved")  # its requester is told the evaluation, never asked "solved?"
    current = Status(cmd.ticket.status)
    if current == Status.RESOLVED:
        cmd.fail("command.close.waiting")
    if current in (Status.CLOSED, Status.ARCHIVED):
        cmd.fail("command.close.already")
    handlers.move(cmd, Status.RESOLVED, resolution=resolution)


def do_close(cmd: CommandContext, arg: str) -> None:
    force, reason = _forced(arg)
    if not force:
        ask_to_close(cmd, reason)
        return
    if not reason:
        cmd.fail("command.close.reason")
    if Status(cmd.ticket.status) in (Status.CLOSED, Status.ARCHIVED):
        cmd.fail("command.close.already")
    record(cmd.ctx, cmd.ticket, actor=cmd.actor, action=CLOSE_FORCED, note=reason)
    handlers.move(cmd, Status.CLOSED, reason=reason, note=f"closed without confirmation: {reason}")


def do_status(cmd: CommandContext, arg: str) -> None:
    """``#status``, with ``closed`` taken as ``#close``: no status command closes past the reporter."""
    if arg and parse_status(arg) == Status.CLOSED:
        ask_to_close(cmd)
        return
    handlers.do_status(cmd, arg)
