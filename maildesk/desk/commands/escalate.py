"""``#escalate`` / ``#升级``: hand the ticket one level up the ladder now, without waiting for the SLA.

The ladder is the priority's escalation steps (e.g. P1: manager, then director),
continued by the roles above the last step (lead → manager → director). The
level is the one the SLA sweep keeps, so an automatic escalation later goes on
from here instead of repeating it. The people told are outside the ticket's
conversation, so they read it masked.
"""

from __future__ import annotations

from maildesk.desk.commands.context import CommandContext
from maildesk.desk.mailing import mask_for_ticket, relay_to_staff
from maildesk.desk.tickets import add_tags, record, set_escalation_level
from maildesk.people.roles import holders
from maildesk.words import role_name

ROLE_ORDER = ("lead", "manager", "director")


def ladder(cmd: CommandContext) -> list[str]:
    """The roles a ticket of this priority escalates to, in order."""
    target = cmd.ctx.targets.get(cmd.ticket.priority)
    roles = [step.to_role for step in target.escalation] if target else []
    top = max((ROLE_ORDER.index(r) for r in roles if r in ROLE_ORDER), default=-1)
    return roles + [r for r in ROLE_ORDER[top + 1:] if r not in roles]


def do_escalate(cmd: CommandContext, arg: str) -> None:
    ctx, ticket = cmd.ctx, cmd.ticket
    roles = ladder(cmd)
    level = ticket.escalation_level or 0
    if level >= len(roles):
        cmd.fail("command.escalate.top", level=level)
    role = roles[level]
    everyone = holders(ctx.directory, ctx.settings, role, ticket)
    to = [a for a in everyone if a != cmd.actor] or everyone
    if not to:
        cmd.fail("command.escalate.nobody", role=role_name(role, ctx.lang))
    set_escalation_level(ctx, ticket, level + 1)
    add_tags(ticket, ["manual_escalation"], field_name="flags")
    record(ctx, ticket, actor=cmd.actor, action="escalated", old=str(level), new=str(level + 1),
           note=f"{role}: {', '.join(to)}" + (f" — {arg}" if arg else ""))
    who = ctx.person_name(cmd.actor)
    why = mask_for_ticket(ctx, ticket, arg)  # supervisors are outside the conversation
    notice = cmd.say("command.escalate.notice", who=who, level=level + 1, role=role_name(role, ctx.lang),
                     why=why).strip()
    relay_to_staff(ctx, ticket, to, author_name=who, notice=notice, body=cmd.body or cmd.first_text(),
                   kind="escalation", dedup_key=f"escalation:{ticket.number}:{level + 1}")
