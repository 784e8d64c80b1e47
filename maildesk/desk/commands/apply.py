"""Running the commands of one staff mail: all of them, or none.

Every command runs in a savepoint of its own, so one that fails halfway leaves
nothing, and the others still run to find their own mistakes; if any failed, the
savepoint around them all is rolled back too. The engineer then gets one mail
listing every line that was wrong and saying that nothing was changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from maildesk.desk.commands.closing import do_close, do_status
from maildesk.desk.commands.context import CommandContext, CommandFailed
from maildesk.desk.commands.escalate import do_escalate
from maildesk.desk.commands.evaluate import do_evaluate
from maildesk.desk.commands.form import do_impact, do_occurred, do_system
from maildesk.desk.commands.handlers import (
    Handler,
    do_assign,
    do_kb,
    do_link,
    do_merge,
    do_note,
    do_priority,
    do_type,
    do_waiting,
)
from maildesk.desk.commands.parse import ParsedReply
from maildesk.desk.commands.recheck import do_ok
from maildesk.desk.commands.review import do_reviewed
from maildesk.desk.commands.split import do_split
from maildesk.desk.tickets import record

HANDLERS: dict[str, Handler] = {
    "status": do_status, "priority": do_priority, "assign": do_assign, "type": do_type, "note": do_note,
    "kb": do_kb, "link": do_link, "merge": do_merge, "escalate": do_escalate, "close": do_close,
    "waiting": do_waiting, "split": do_split, "reviewed": do_reviewed,
    "system": do_system, "impact": do_impact, "occurred": do_occurred, "ok": do_ok, "evaluate": do_evaluate,
}  # fmt: skip


@dataclass(frozen=True)
class CommandOutcome:
    """What the commands of one mail did: the lines applied, or every line with why it was not."""

    applied: tuple[str, ...] = ()
    errors: tuple[tuple[str, str], ...] = ()  # (line, reason)
    body_sent: bool = False
    created: tuple[str, ...] = ()


def apply_commands(cmd: CommandContext, parsed: ParsedReply) -> CommandOutcome:
    """Apply ``parsed.commands`` to ``cmd.ticket``; each applied one is audited as a "command" event."""
    errors: list[tuple[str, str]] = [(line, cmd.say("command.unknown")) for line in parsed.unknown]
    applied: list[str] = []
    session = cmd.session
    outer = session.begin_nested()
    try:
        for command in parsed.commands:
            try:
                with session.begin_nested():
                    HANDLERS[command.name](cmd, command.arg)
                    record(cmd.ctx, cmd.ticket, actor=cmd.actor, action="command", note=command.line)
            except CommandFailed as exc:
                errors.append((command.line, str(exc)))
            else:
                applied.append(command.line)
    except BaseException:
        outer.rollback()
        raise
    if not errors:
        outer.commit()
        return CommandOutcome(tuple(applied), (), cmd.body_sent, tuple(cmd.created))
    outer.rollback()
    untouched = cmd.say("command.untouched")
    errors.extend((line, untouched) for line in applied)
    for line, reason in errors:
        record(cmd.ctx, cmd.ticket, actor=cmd.actor, action="command_rejected", note=f"{line}: {reason}")
    return CommandOutcome((), tuple(errors), False, ())
