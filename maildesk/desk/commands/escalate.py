"""``#escalate reason`` / ``#升级 原因``: hand the ticket to the next support tier; ``#escalate management
reason`` / ``#升级 管理层 原因``: tell the next rung of the management ladder now.

Tier hand-off (一线 → 二线 → 三线): the ticket goes to the least loaded present person of the next
tier of its team that has someone (tier 3: the team or person configured as ``tier3``, R&D), who
gets the assignment mail with the reason and the ticket's history; the previous assignee is told
to whom it went and why. A reason is required: the next tier must know what was tried. At tier 3
there is nothing higher, and the reply says so (and how to reach management instead).

Management escalation is the SLA ladder's (``sweep/escalation``), climbed by hand: the priority's
escalation steps (e.g. P1: lead, manager, director), continued by the roles above the last step
(lead → manager → director). The level is the one the SLA sweep keeps, so an automatic escalation
later goes on from here instead of repeating it. The people told are outside the ticket's
conversation, so they read it masked. Tier hand-offs never move the ladder, and the ladder never
reassigns.
"""

from __future__ import annotations

from maildesk.desk.assignment import assign_person, least_loaded
from maildesk.desk.commands.context import CommandContext
from maildesk.desk.mailing import mask_for_ticket, relay_to_staff
from maildesk.desk.notices import queue_assignment, tell_previous
from maildesk.desk.tickets import add_tags, record, set_escalation_level
from maildesk.people.directory import TIERS
from maildesk.people.roles import holders
from maildesk.people.tiers import tier_of, tier_people
from maildesk.words import role_name, tier_name

ROLE_ORDER = ("lead", "manager", "director")
# the first word of the argument that asks for the management ladder instead of the next tier
MANAGEMENT = frozenset({"management", "mgmt", "manager", "管理层", "管理", "领导"})


def ladder(cmd: CommandContext) -> list[str]:
    """The roles a ticket of this priority escalates to, in order."""
    target = cmd.ctx.targets.get(cmd.ticket.priority)
    roles = [step.to_role for step in target.escalation] if target else []
    top = max((ROLE_ORDER.index(r) for r in roles if r in ROLE_ORDER), default=-1)
    return roles + [r for r in ROLE_ORDER[top + 1:] if r not in roles]


def do_escalate(cmd: CommandContext, arg: str) -> None:
    first, _, rest = arg.strip().partition(" ")
    if first.lower() in MANAGEMENT:
        escalate_to_management(cmd, rest.strip())
    else:
        hand_to_next_tier(cmd, arg.strip())


def hand_to_next_tier(cmd: CommandContext, reason: str) -> None:
    """一线 → 二线 → 三线: reassign to the next tier that has someone present, with the reason and the history."""
    ctx, ticket = cmd.ctx, cmd.ticket
    lang, directory, settings = ctx.lang, ctx.directory, ctx.settings
    if not reason:
        cmd.fail("command.escalate.reason")
    current = tier_of(directory, settings, ticket.assignee)
    if current >= max(TIERS):
        cmd.fail("command.escalate.top_tier", tier=tier_name(current, lang))
    tier, people = current, []
    for tier in range(current + 1, max(TIERS) + 1):
        people = [p for p in tier_people(directory, settings, tier, ticket.team) if not p.away]
        if people:
            break
    if not people:
        cmd.fail("command.escalate.no_tier", tier=tier_name(current + 1, lang))
    previous = ticket.assignee
    chosen = least_loaded(cmd.session, people)
    note = f"{tier_name(current, 'en')} → {tier_name(tier, 'en')}: {reason}"
    assign_person(ctx, ticket, chosen, actor=cmd.actor, note=note)
    add_tags(ticket, ["tier_escalation"], field_name="flags")
    record(ctx, ticket, actor=cmd.actor, action="tier", old=str(current), new=str(tier), note=reason)
    who = ctx.person_name(cmd.actor)
    notice = cmd.say("command.escalate.handed", who=who, from_tier=tier_name(current, lang),
                     to_tier=tier_name(tier, lang), why=reason)
    queue_assignment(ctx, ticket, chosen.address, description=cmd.first_text(), notice=notice, history=True)
    if previous and previous != chosen.address:  # told even when they asked: it says to whom it went
        told = cmd.say("command.escalate.handed_away", who=who, to=ctx.person_name(chosen.address),
                       to_tier=tier_name(tier, lang))
        tell_previous(ctx, ticket, previous=previous, new=chosen.address, actor=cmd.actor, body=reason, notice=told)


def escalate_to_management(cmd: CommandContext, arg: str) -> None:
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
