"""Ticket statuses, their Chinese names, and which moves between them are allowed."""

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

    @property
    def zh(self) -> str:
        return DISPLAY_ZH[self]


DISPLAY_ZH: dict[Status, str] = {
    Status.NEW: "待处理",
    Status.ASSIGNED: "已分配",
    Status.IN_PROGRESS: "处理中",
    Status.WAITING_TEAM: "待协同",
    Status.WAITING_USER: "待用户反馈",
    Status.TESTING: "测试中",
    Status.RESOLVED: "已解决",
    Status.CLOSED: "已关闭",
    Status.ARCHIVED: "已归档",
}

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

# what people type, in English and Chinese, for a status
_ALIASES: dict[str, Status] = {
    **{s.value: s for s in Status},
    **{s.zh: s for s in Status},
    "open": Status.IN_PROGRESS,
    "in-progress": Status.IN_PROGRESS,
    "progress": Status.IN_PROGRESS,
    "waiting": Status.WAITING_USER,
    "waiting-user": Status.WAITING_USER,
    "waiting-team": Status.WAITING_TEAM,
    "solved": Status.RESOLVED,
    "done": Status.RESOLVED,
    "close": Status.CLOSED,
    "archive": Status.ARCHIVED,
    "处理": Status.IN_PROGRESS,
    "解决": Status.RESOLVED,
    "关闭": Status.CLOSED,
    "归档": Status.ARCHIVED,
    "待反馈": Status.WAITING_USER,
    "协同": Status.WAITING_TEAM,
    "测试": Status.TESTING,
}


def parse_status(text: str) -> Status | None:
    """The status a person meant by ``text`` (English code, alias or Chinese name), or None."""
    return _ALIASES.get(text.strip().lower().replace(" ", "_")) or _ALIASES.get(text.strip())


def allowed_moves(current: Status) -> list[str]:
    return sorted(s.value for s in TRANSITIONS[current])
