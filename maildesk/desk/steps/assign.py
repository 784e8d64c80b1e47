"""Step: who works the new ticket: the rules' assignee, else the team's next by its strategy.

Applies to every mail that starts a new ticket. Round-robin or least-loaded within the team
(``desk/assignment``), never someone away, never the reporter while a colleague is free; a
collaboration ticket (协同处理) also gets its team's lead (牵头人). A requirement (需求) nobody was
found for goes to a holder of the evaluating role (``requirements.role``, the product managers).
"""

from __future__ import annotations

from maildesk.desk.assignment import choose_assignee
from maildesk.desk.context import Context
from maildesk.desk.handling import Handling
from maildesk.ingest.outcome import Handled
from maildesk.people.roles import holders, team_lead


def handle(ctx: Context, mail: Handling) -> Handled | None:
    decision = mail.decision
    assert decision is not None, "classify runs first"
    team = ctx.settings.team(decision.team) if decision.team else None
    mail.assignee = decision.assignee or (
        choose_assignee(ctx.session, ctx.directory, team, reporter=mail.sender) if team else None)
    if mail.assignee is None and ctx.desk.is_requirement(decision.type):
        evaluators = [a for a in holders(ctx.directory, ctx.settings, ctx.settings.requirements.role)
                      if a != mail.sender.lower()]
        mail.assignee = evaluators[0] if evaluators else None
    if "collaboration" in decision.flags:
        mail.lead = team_lead(ctx.directory, team)
    return None
