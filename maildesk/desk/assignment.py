"""Giving a ticket to someone: round-robin or least-loaded within a team, never someone away, or by name.

The round-robin cursor lives in the ``teams`` table so it survives restarts and
is shared by several daemons (the row is locked while choosing).
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import Session

from maildesk.config_desk import TeamConfig
from maildesk.desk.context import Context
from maildesk.desk.tickets import set_field
from maildesk.people.directory import Directory, Person
from maildesk.people.roles import candidates
from maildesk.statuses import OPEN_STATUSES
from maildesk.store.as_loaded import connection_reading, flush_for
from maildesk.store.models import Team, Ticket

# built once: building a statement costs more than SQLite takes to run it
_TEAM_ROW = select(Team).where(Team.name == bindparam("name")).with_for_update()
_OPEN_LOAD = (
    select(Ticket.assignee, func.count())
    .where(Ticket.assignee.in_(bindparam("addresses", expanding=True)),
           Ticket.status.in_([s.value for s in OPEN_STATUSES]))
    .group_by(Ticket.assignee)
)


# session.info key: the team rows this transaction has locked and chosen with, by team name
_CHOSEN_ROWS = "maildesk.assignment.team_rows"


def _chosen_rows(session: Session) -> dict[str, Team]:
    """The team rows ``choose_assignee`` locked in the session's current transaction (a batch of intake)."""
    transaction = session.get_transaction()
    held = session.info.get(_CHOSEN_ROWS)
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        session.info[_CHOSEN_ROWS] = held
    rows: dict[str, Team] = held[1]
    return rows


def _team_row(session: Session, name: str) -> Team:
    # A row this transaction already locked and set, still loaded, is the row as the SELECT would
    # return it (the identity map keeps loaded attributes) and still locked: skip the SELECT. A
    # savepoint rolled back since (a mail that failed) expired the row or, were it new, expunged
    # it; then it is read and locked again, as the first time.
    row = _chosen_rows(session).get(name)
    if row is not None:
        state = inspect(row)
        if state.persistent and state.session is session and "last_assignee" in state.dict:
            return row
    flush_for(session, Team, ("name",))  # a team row new since: found, not made twice
    with session.no_autoflush:  # the batch's other changes wait for one flush later
        row = session.scalars(_TEAM_ROW, {"name": name}).one_or_none()
    if row is None:
        row = Team(name=name, last_assignee=None)
        session.add(row)
    return row


def _open_load(session: Session, addresses: list[str]) -> dict[str, int]:
    # past the ORM's execute path (half this count's CPU on SQLite); after a flush wherever one would change the
    # count: a hand-over moving several tickets counts each move before choosing for the next. A batch's other
    # changes to its tickets (their message counts, the times they changed) are left for one flush later.
    conn = connection_reading(session, Ticket, ("assignee", "status"))
    rows = conn.execute(_OPEN_LOAD, {"addresses": addresses}).all()
    return {addr: int(n) for addr, n in rows if addr}


def choose_assignee(
    session: Session, directory: Directory, team: TeamConfig, *, reporter: str = "",
) -> str | None:
    """The next assignee of ``team`` by its strategy, or None when nobody is available.

    An engineer who reports a problem of their own is not given it while a colleague is available.
    """
    people = [p.address.lower() for p in candidates(directory, team.name)]
    if len(people) > 1 and reporter.lower() in people:
        people.remove(reporter.lower())
    if not people:
        return None
    row = _team_row(session, team.name)
    # rotate the list so it starts after the last person chosen: ties go round in turn
    start = people.index(row.last_assignee) + 1 if row.last_assignee in people else 0
    order = people[start:] + people[:start]
    if team.strategy == "least_loaded":
        load = _open_load(session, people)
        chosen = min(order, key=lambda a: load.get(a, 0))
    else:
        chosen = order[0]
    row.last_assignee = chosen
    # remembered only once set: a rollback of this mail's savepoint then surely expires it
    _chosen_rows(session)[team.name] = row
    return chosen


def least_loaded(session: Session, people: list[Person]) -> Person:
    """Of ``people`` (at least one), the one with the fewest open tickets; ties go to the first listed."""
    load = _open_load(session, [p.address.lower() for p in people])
    return min(people, key=lambda p: load.get(p.address.lower(), 0))


def assign_person(ctx: Context, ticket: Ticket, person: Person, *, actor: str, note: str = "",
                  move_team: bool = True) -> bool:
    """Make ``person`` the assignee (audited); their team comes along when it is a configured one.

    False when they already were: the caller then has nobody new to tell.
    """
    if not set_field(ctx, ticket, "assignee", person.address.lower(), actor=actor, note=note):
        return False
    if move_team and person.team and ctx.settings.team(person.team) is not None:
        set_field(ctx, ticket, "team", person.team, actor=actor, note=note)
    return True
