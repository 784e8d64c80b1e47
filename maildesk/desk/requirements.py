"""Evaluating a requirement (需求评估): the outcome on record, the requester told, an RD number for an accepted one.

A ticket of the requirement type (``requirements.type``) goes to the evaluating role and is due
for evaluation ``requirements.evaluation_days`` working days after it came in (its resolution
target, ``Desk.requirement_targets``). The evaluation ends the desk's part:

- 可实施 (feasible): the requirement gets its own number, RD-YYYYMMDD-NNNN (the desk's local date of
  ``now`` and a daily sequence, like ticket numbers), and the ticket closes;
- 暂不可实施 (not now): the ticket closes;
- 需调整方案 (needs change): the ticket waits on the requester (the clock stops) for a changed
  proposal; their reply puts it back to work, to be evaluated again.

The requester is told the outcome and the evaluator's words by mail. A requester is never asked
whether their "problem is solved" (a requirement is never resolved, only evaluated), and gets no
satisfaction survey: its questions (response speed, problem solving) are about a fault.
"""

from __future__ import annotations

from sqlalchemy import select

from maildesk.desk.context import Context
from maildesk.desk.mailing import Files, to_reporter
from maildesk.desk.tickets import change_status, record, respond
from maildesk.statuses import Status
from maildesk.store.models import Ticket
from maildesk.store.models_requirements import Requirement
from maildesk.store.numbering import next_ticket_number
from maildesk.words import outcome_name

_NEXT_STATUS = {"feasible": Status.CLOSED, "not_now": Status.CLOSED, "needs_change": Status.WAITING_USER}


def evaluation_of(ctx: Context, ticket: Ticket) -> Requirement | None:
    return ctx.session.scalars(select(Requirement).where(Requirement.ticket_id == ticket.id)).one_or_none()


def evaluate(ctx: Context, ticket: Ticket, outcome: str, *, actor: str, note: str, words: str = "",
             attachments: Files = ()) -> Requirement:
    """Record ``outcome`` (feasible, not_now, needs_change) with the evaluator's ``note``, move the ticket on
    and mail the requester (``words``: the rest of the evaluator's mail, for them too).

    Raises TransitionError when the ticket cannot move that way (a closed one cannot wait on the requester).
    """
    target = _NEXT_STATUS[outcome]
    row = evaluation_of(ctx, ticket)
    before = row.outcome if row is not None else None
    respond(ctx, ticket, actor=actor)  # the evaluation is an answer to the requester
    change_status(ctx, ticket, target, actor=actor, note=f"evaluated: {outcome}")
    if row is None:
        row = Requirement(ticket_id=ticket.id, outcome=outcome, note=note, evaluated_by=actor, evaluated_at=ctx.now)
        ctx.session.add(row)
    row.outcome, row.note, row.evaluated_by, row.evaluated_at = outcome, note, actor, ctx.now
    record(ctx, ticket, actor=actor, action="evaluated", old=before, new=outcome, note=note)
    if outcome == "feasible" and row.rd_number is None:  # an accepted requirement keeps its first number
        prefix = ctx.settings.requirements.number_prefix
        row.rd_number = next_ticket_number(ctx.session, prefix, ctx.now, ctx.settings.tz)
        record(ctx, ticket, actor=actor, action="rd_number", new=row.rd_number)
    ctx.session.flush()
    lang = ticket.language or ctx.lang
    to_reporter(ctx, ticket, "evaluation", {
        "reporter_name": ticket.reporter_name, "evaluator_name": ctx.person_name(actor), "outcome": outcome,
        "outcome_name": outcome_name(outcome, lang), "note": note, "words": words, "rd_number": row.rd_number,
    }, attachments=attachments, dedup_key=f"evaluation:{ticket.number}:{ctx.now.timestamp():.0f}")
    return row
