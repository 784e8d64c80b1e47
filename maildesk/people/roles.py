"""Who holds a role for a ticket: the one answer behind every mail addressed to a role.

Roles are the directory's (engineer, lead, manager, director, product), ``assignee``: the
ticket's assignee, else its lead, and ``oncall``: who the on-call rota (``people/oncall.py``) puts
on call at the moment of the work, of the ticket's team if any of them is, else all of them;
``tier2`` and ``tier3``: the people at that support tier for the ticket's team (``people/tiers``).
A team's ``lead`` is the lead named in the team's config,
else the team's lead in the directory; for a ticket without a team (or a team without a lead),
every lead. People marked away are passed over, unless everyone holding the role is away:
someone away is better told than nobody (the operator names deputies in the directory).

Choosing who *works* a ticket is another question (``candidates``): nobody away is given one.
"""

from __future__ import annotations

from maildesk.config import Settings
from maildesk.config_desk import TeamConfig
from maildesk.people.directory import Directory, Person
from maildesk.people.tiers import TIER_ROLES, tier_people
from maildesk.store.models import Ticket

ONCALL = "oncall"


def _present(people: list[Person]) -> list[str]:
    chosen = [p for p in people if not p.away] or people
    return list(dict.fromkeys(p.address.lower() for p in chosen))


def team_lead(directory: Directory, team: TeamConfig | None) -> str | None:
    """The lead (牵头人) of ``team``: its configured lead, else its present lead in the directory."""
    if team is None:
        return None
    if team.lead:
        return team.lead.lower()
    leads = [p for p in directory.members(team.name) if p.role == "lead"]
    found = _present(leads)
    return found[0] if found else None


def holders(directory: Directory, settings: Settings, role: str, ticket: Ticket | None = None) -> list[str]:
    """The addresses of the people who hold ``role`` for ``ticket`` (or in general), in directory order."""
    if role == "assignee":
        if ticket is not None and ticket.assignee:
            return [ticket.assignee]
        role = "lead"
    if role in TIER_ROLES:
        return _present(tier_people(directory, settings, TIER_ROLES[role], ticket.team if ticket else None))
    if role == ONCALL:
        on_call = directory.on_call()
        mine = [p for p in on_call if ticket is not None and ticket.team and p.team == ticket.team]
        return _present(mine or on_call)
    if role == "lead" and ticket is not None and ticket.team:
        lead = team_lead(directory, settings.team(ticket.team))
        if lead:
            return [lead]
    return _present(directory.by_role(role))


def holders_of_any(directory: Directory, settings: Settings, roles: tuple[str, ...]) -> list[str]:
    """Everyone who holds one of ``roles`` (in general, not for a ticket), each once."""
    return list(dict.fromkeys(a for role in roles for a in holders(directory, settings, role)))


def supervisors(directory: Directory, settings: Settings) -> list[str]:
    """Who hears of what went wrong (a poor score, a complaint, a report): the managers, else the directors."""
    return holders(directory, settings, "manager") or holders(directory, settings, "director")


def candidates(directory: Directory, team: str) -> list[Person]:
    """Who can take a ticket of ``team`` now: its engineers and leads, else any staff of it; never anyone away.
    A team whose directory gives tiers takes new work at tier 1 (一线) while someone there is present: the
    higher tiers get it by ``#escalate``."""
    people = directory.available(team)
    if not people:  # e.g. the product team, whose members are product managers
        people = [p for p in directory.all() if p.team == team and p.is_staff and not p.away]
    first_line = [p for p in people if p.tier <= 1]
    return first_line if first_line and len(first_line) < len(people) else people
