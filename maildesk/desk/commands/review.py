"""``#复盘 conclusion`` / ``#reviewed conclusion``: a supervisor records the review (复盘) a ticket was owed.

A poor survey score or a complaint opens a review task (``desk/review``); the sweep chases it while it
is open (``sweep/reviews``). A reply to the review mail (or to any mail of the ticket) with this
command, from the task's owner or a lead, manager or director, closes every open task of the ticket
with the conclusion, which the history keeps.
"""

from __future__ import annotations

from sqlalchemy import select

from maildesk.desk.commands.context import CommandContext
from maildesk.desk.tickets import record
from maildesk.store.models_conversation import ReviewTask

REVIEWERS = frozenset({"lead", "manager", "director"})


def do_reviewed(cmd: CommandContext, arg: str) -> None:
    conclusion = arg.strip()
    if not conclusion:
        cmd.fail("command.reviewed.empty")
    tasks = cmd.session.scalars(
        select(ReviewTask).where(ReviewTask.ticket_id == cmd.ticket.id, ReviewTask.done_at.is_(None))
        .order_by(ReviewTask.id)
    ).all()
    if not tasks:
        cmd.fail("command.reviewed.none")
    person = cmd.ctx.directory.get(cmd.actor)
    owners = {t.owner.lower() for t in tasks if t.owner}
    if cmd.actor not in owners and (person is None or person.role not in REVIEWERS):
        cmd.fail("command.reviewed.not_a_supervisor")
    for task in tasks:
        task.done_at, task.note = cmd.ctx.now, conclusion
        record(cmd.ctx, cmd.ticket, actor=cmd.actor, action="review_done", old=task.reason, new=str(task.id),
               note=conclusion)
