"""``#escalate`` / ``#升级``: hand the ticket one level up the ladder now, without waiting for the SLA.

The ladder is the priority's escalation steps (e.g. P1: manager, then director),
continued by the roles above the last step (lead → manager → director). The
level is the one the SLA sweep keeps, so an automatic escalation later goes on
from here instead of repeating it.
"""

from __future__ import annotations

from maildesk.commands.context import CommandContext
from maildesk.outbound.audience import mask_for_ticket, queue_supervisor_relay
from maildesk.outbound.notify import person_name
from maildesk.rules.assign import team_lead
from maildesk.sla_state import refresh_deadlines
from maildesk.tickets import add_tags, record

ROLE_ORDER = ("lead", "manager", "director")
ROLE_NAMES = {"lead": ("二线负责人", "tier-2 lead"), "manager": ("技术支持经理", "support manager"),
              "director": ("总监", "director")}


def ladder(ctx: CommandContext) -> list[str]:
    """The roles a ticket of this priority escalates to, in order."""
    target = ctx.app.targets.get(ctx.ticket.priority)
    roles = [step.to_role for step in target.escalation] if target else []
    top = max((ROLE_ORDER.index(r) for r in roles if r in ROLE_ORDER), default=-1)
    return roles + [r for r in ROLE_ORDER[top + 1:] if r not in roles]


def people_for(ctx: CommandContext, role: str) -> list[str]:
    directory = ctx.app.directory
    if role == "lead":
        team = ctx.app.settings.team(ctx.ticket.team) if ctx.ticket.team else None
        lead = team_lead(directory, team)
        if lead:
            return [lead]
    return [p.address.lower() for p in directory.by_role(role) if not p.away]


def do_escalate(ctx: CommandContext, arg: str) -> None:
    ticket = ctx.ticket
    roles = ladder(ctx)
    level = ticket.escalation_level or 0
    if level >= len(roles):
        ctx.fail(f"工单已在最高一级（第 {level} 级），无法再升级", f"already at the top level ({level})")
    role = roles[level]
    to = [a for a in people_for(ctx, role) if a != ctx.actor] or people_for(ctx, role)
    zh_role, en_role = ROLE_NAMES.get(role, (role, role))
    if not to:
        ctx.fail(f"目录中没有可接收升级的{zh_role}", f"nobody in the directory has the role {role}")
    ticket.escalation_level = level + 1
    add_tags(ticket, ["manual_escalation"], field_name="flags")
    record(ctx.session, ticket, actor=ctx.actor, action="escalated", now=ctx.now, old=str(level),
           new=str(level + 1), note=f"{role}: {', '.join(to)}" + (f" — {arg}" if arg else ""))
    refresh_deadlines(ticket, ctx.app.targets, ctx.app.calendar, ctx.now)
    who = person_name(ctx.app, ctx.actor)
    why = mask_for_ticket(ctx.app, ticket, arg)  # supervisors are outside the conversation
    notice = ctx.say(f"{who} 将本工单升级至第 {level + 1} 级，由您（{zh_role}）跟进。{why}",
                     f"{who} escalated this ticket to level {level + 1}; over to you ({en_role}). {why}").strip()
    queue_supervisor_relay(ctx.session, ctx.app, ticket, to, author_name=who, now=ctx.now, notice=notice,
                           body=ctx.body or ctx.first_text(), kind="escalation",
                           dedup_key=f"escalation:{ticket.number}:{level + 1}")
