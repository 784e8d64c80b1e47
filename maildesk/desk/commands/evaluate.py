"""``#evaluate feasible|not-now|needs-change why`` (``#评估 可实施|暂不可实施|需调整方案 理由``): the outcome.

Only on a requirement (需求) ticket, and only from whoever may decide it: a holder of the evaluating
role (``requirements.role``), the ticket's assignee, or a lead, manager or director. The words after
the outcome (or, without any, the reply's text) are the reason the requester reads
(``desk/requirements``).
"""

from __future__ import annotations

from maildesk.desk.commands.context import CommandContext
from maildesk.desk.requirements import evaluate
from maildesk.errors import TransitionError
from maildesk.statuses import Status
from maildesk.words import OUTCOMES, outcome_name, parse_outcome, status_name, type_name

DECIDERS = frozenset({"lead", "manager", "director"})


def do_evaluate(cmd: CommandContext, arg: str) -> None:
    ctx, ticket = cmd.ctx, cmd.ticket
    settings = ctx.settings
    if not ctx.desk.is_requirement(ticket.type):
        cmd.fail("command.evaluate.not_requirement", type=type_name(settings, ticket.type, ctx.lang),
                 requirement=type_name(settings, settings.requirements.type, ctx.lang))
    parsed = parse_outcome(arg)
    if parsed is None:
        choices = cmd.say("command.list_separator").join(outcome_name(o, ctx.lang) for o in OUTCOMES)
        cmd.fail("command.evaluate.unknown", arg=cmd.shown(arg), choices=choices)
    outcome, reason = parsed
    person = ctx.directory.get(cmd.actor)
    role = person.role if person is not None else ""
    if cmd.actor != ticket.assignee and role != settings.requirements.role and role not in DECIDERS:
        cmd.fail("command.evaluate.not_an_evaluator")
    note = reason or cmd.body.strip()
    if not note:
        cmd.fail("command.evaluate.no_reason")
    current = Status(ticket.status)
    try:
        evaluate(ctx, ticket, outcome, actor=cmd.actor, note=note, words=cmd.body if reason else "",
                 attachments=cmd.attachments)
    except TransitionError:
        cmd.fail("command.evaluate.finished", status=status_name(current, ctx.lang))
    cmd.body_sent = True
