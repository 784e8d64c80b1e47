"""Ticket statuses and which moves between them are allowed (their names per language: ``maildesk.words``)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_TEAM = "waiting_team"
    WAITING_USER = "waiting_user"
    TESTING = "testing"
    RESOLVED = "resolved"
    CLOSED = "closed"
    ARCHIVED = "archived"



_WORKING = {Status.IN_PROGRESS, Status.WAITING_TEAM, Status.WAITING_USER, Status.TESTING}
_FINISH = {Status.RESOLVED, Status.CLOSED}

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ASSIGNED, *_WORKING, *_FINISH}),
    Status.ASSIGNED: frozenset({Status.NEW, *_WORKING, *_FINISH}),
    Status.IN_PROGRESS: frozenset({Status.ASSIGNED, *(_WORKING - {Status.IN_PROGRESS}), *_FINISH}),
    Status.WAITING_TEAM: frozenset({*(_WORKING - {Status.WAITING_TEAM}), *_FINISH}),
    Status.WAITING_USER: frozenset({*(_WORKING - {Status.WAITING_USER}), *_FINISH}),
    Status.TESTING: frozenset({*(_WORKING - {Status.TESTING}), *_FINISH}),
    # a resolved or closed ticket goes back to work when the reporter says it is not solved
    Status.RESOLVED: frozenset({Status.IN_PROGRESS, Status.CLOSED}),
    Status.CLOSED: frozenset({Status.IN_PROGRESS, Status.ARCHIVED}),
    Status.ARCHIVED: frozenset(),
}

OPEN_STATUSES: frozenset[Status] = frozenset(
    {Status.NEW, Status.ASSIGNED, *_WORKING}
)
DONE_STATUSES: frozenset[Status] = frozenset({Status.RESOLVED, Status.CLOSED, Status.ARCHIVED})

def allowed_moves(current: Status) -> list[str]:
    return sorted(s.value for s in TRANSITIONS[current])
