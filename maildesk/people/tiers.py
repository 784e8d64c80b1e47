"""Support tiers (一线/二线/三线): who works a ticket at which tier, and who is the next tier up.

A person's tier is the directory's ``tier`` column (1, 2, 3). Tier 3 is R&D: the team or person
the config names as ``tier3``, else the people of the ticket's team with tier 3. Someone without
a tier is tier 1, unless they are the configured tier 3. ``#escalate`` (``desk/commands/escalate``)
hands a ticket on to the next tier that has someone; the SLA ladder may name ``tier2``/``tier3``
as roles (``people/roles``) to tell them without handing anything on.
"""

from __future__ import annotations

from maildesk.config import Settings
from maildesk.people.directory import TIERS, Directory, Person

TIER_ROLES = {"tier2": 2, "tier3": 3}


def _configured_tier3(directory: Directory, settings: Settings) -> list[Person]:
    wanted = settings.tier3.strip()
    if not wanted:
        return []
    if "@" in wanted:
        person = directory.get(wanted)
        return [person] if person is not None and person.is_staff else []
    return [p for p in directory.all() if p.team == wanted and p.is_staff]


def tier_of(directory: Directory, settings: Settings, address: str | None) -> int:
    """The tier ``address`` works at: the directory's, 3 for the configured tier 3, else 1."""
    person = directory.get(address) if address else None
    if person is None:
        return 1
    if person.tier:
        return person.tier
    return 3 if any(p.address == person.address for p in _configured_tier3(directory, settings)) else 1


def tier_people(directory: Directory, settings: Settings, tier: int, team: str | None) -> list[Person]:
    """Everyone at ``tier`` for a ticket of ``team``, away or not, in directory order."""
    if tier not in TIERS:
        return []
    if tier == 3 and settings.tier3.strip():
        return _configured_tier3(directory, settings)
    return [p for p in directory.all() if p.is_staff and p.tier == tier and (not team or p.team == team)]
