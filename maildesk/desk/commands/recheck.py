"""``#ok`` / ``#复核``: a supervisor reviewed (复核) the ticket's type and priority and lets them stand.

The review a new ticket waits for (``desk/triage``): only a lead, a manager or a director may give
it. A ``#priority`` or ``#type`` of theirs is a review too (``handlers``); an engineer's is only a change.
"""

from __future__ import annotations

from maildesk.desk.commands.context import CommandContext
from maildesk.desk.triage import is_reviewer, record_review


def do_ok(cmd: CommandContext, arg: str) -> None:
    if not is_reviewer(cmd.ctx, cmd.actor):
        cmd.fail("command.ok.not_a_reviewer")
    record_review(cmd.ctx, cmd.ticket, actor=cmd.actor, what=f"ok {arg.strip()}".strip())


def reviewed_by_change(cmd: CommandContext, what: str) -> None:
    """A supervisor's change of type or priority is their review as well."""
    if is_reviewer(cmd.ctx, cmd.actor):
        record_review(cmd.ctx, cmd.ticket, actor=cmd.actor, what=what)
