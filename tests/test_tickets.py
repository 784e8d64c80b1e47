"""The ticket state machine and the audit trail, on every database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.config import parse_settings
from maildesk.desk.context import Context
from maildesk.desk.setup import Desk
from maildesk.desk.tickets import NewTicket, add_note, change_status, create_ticket, get_ticket, link_tickets, set_field
from maildesk.errors import TransitionError
from maildesk.statuses import TRANSITIONS, Status
from maildesk.store.db import Store
from maildesk.store.models import Event, Ticket
from maildesk.words import STATUS_NAMES, parse_status

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
TZ = ZoneInfo("Asia/Shanghai")
DESK = Desk(parse_settings({}, Path(".")))  # the default settings: P1-P4 targets, China's calendar


def at(s: Session, now: datetime = T0) -> Context:
    return Context(DESK, s, now)


def _new(store: Store, **kw: object) -> str:
    data = NewTicket(**{"subject": "ERP 无法登录", "reporter": "Li.Na@Example.com", "priority": "P2",
                        "type": "software", **kw})  # type: ignore[arg-type]
    with store.session() as s:
        return create_ticket(at(s), data).number


def _events(store: Store, number: str) -> list[tuple[str, str | None, str | None]]:
    with store.session() as s:
        t = get_ticket(s, number)
        rows = s.scalars(select(Event).where(Event.ticket_id == t.id).order_by(Event.id))
        return [(e.action, e.from_value, e.to_value) for e in rows]


def test_new_ticket_is_new_and_audited(store: Store) -> None:
    """A ticket starts as new, with the reporter lower-cased and a 'created' event."""
    number = _new(store)
    with store.session() as s:
        t = get_ticket(s, number)
        assert (t.status, t.reporter) == ("new", "li.na@example.com")
    assert _events(store, number) == [("created", None, "new")]


def test_ticket_with_assignee_starts_assigned(store: Store) -> None:
    """A ticket routed to a person at creation is 'assigned' and the assignment is in its history."""
    number = _new(store, assignee="wang@example.com")
    with store.session() as s:
        assert get_ticket(s, number).status == "assigned"
    assert ("assignee", None, "wang@example.com") in _events(store, number)


def test_full_life_and_reopen(store: Store) -> None:
    """new → assigned → in progress → waiting on user → resolved → reopened → closed → archived."""
    number = _new(store)
    steps = [Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING_USER, Status.RESOLVED,
             Status.IN_PROGRESS, Status.CLOSED, Status.ARCHIVED]
    with store.session() as s:
        t = get_ticket(s, number)
        for i, target in enumerate(steps):
            assert change_status(at(s, T0 + timedelta(hours=i + 1)), t, target, actor="li@example.com")
        assert t.reopen_count == 1
        assert t.closed_at == T0 + timedelta(hours=6)
    actions = [a for a, _, _ in _events(store, number)]
    assert actions == ["created", "status", "status", "status", "status", "reopened", "status", "status"]


def test_waiting_on_the_reporter_pauses_the_clock(store: Store) -> None:
    """Time spent waiting on the reporter is added up in paused_seconds."""
    number = _new(store)
    with store.session() as s:
        t = get_ticket(s, number)
        change_status(at(s, T0 + timedelta(hours=1)), t, Status.WAITING_USER, actor="x")
        change_status(at(s, T0 + timedelta(hours=3, minutes=30)), t, Status.IN_PROGRESS, actor="x")
        assert t.paused_seconds == 2.5 * 3600
        assert t.paused_at is None


def test_invalid_transition_is_refused_and_nothing_changes(store: Store) -> None:
    """An archived ticket cannot be reopened; the error names both statuses."""
    number = _new(store)
    with store.session() as s:
        t = get_ticket(s, number)
        change_status(at(s, T0), t, Status.CLOSED, actor="x")
        change_status(at(s, T0), t, Status.ARCHIVED, actor="x")
    with pytest.raises(TransitionError, match="archived to in_progress"), store.session() as s:
        change_status(at(s, T0), get_ticket(s, number), Status.IN_PROGRESS, actor="x")
    with store.session() as s:
        assert get_ticket(s, number).status == "archived"


def test_every_status_has_a_name_in_each_language_and_parses_back() -> None:
    """Each status parses from its code and from its Chinese and English names; 'resolved' cannot go to 'new'."""
    for status in Status:
        assert parse_status(status.value) == status
        assert parse_status(STATUS_NAMES["zh"][status]) == status
        assert parse_status(STATUS_NAMES["en"][status]) == status
    assert Status.NEW not in TRANSITIONS[Status.RESOLVED]
    assert parse_status("已解决") == Status.RESOLVED and parse_status("nonsense") is None


def test_field_changes_and_notes_are_audited(store: Store) -> None:
    """Priority and assignee changes record old and new values; an unchanged value records nothing."""
    number = _new(store)
    with store.session() as s:
        t = get_ticket(s, number)
        assert set_field(at(s), t, "priority", "P1", actor="boss@example.com")
        assert not set_field(at(s), t, "priority", "P1", actor="boss@example.com")
        set_field(at(s), t, "assignee", "wang@example.com", actor="boss@example.com")
        add_note(at(s), t, "内部备注", actor="boss@example.com")
        assert t.status == "assigned"
    events = _events(store, number)
    assert ("priority", "P2", "P1") in events and ("assignee", None, "wang@example.com") in events
    assert ("status", "new", "assigned") in events and ("note", None, None) in events


def test_links_show_from_both_sides(store: Store) -> None:
    """Linking two tickets records the link on each of them."""
    a, b = _new(store), _new(store)
    with store.session() as s:
        link_tickets(at(s), get_ticket(s, a), get_ticket(s, b), "related", actor="x")
        link_tickets(at(s), get_ticket(s, a), get_ticket(s, b), "related", actor="x")
    assert _events(store, a)[-1] == ("link", None, b)
    assert [e for e in _events(store, a) if e[0] == "link"] == [("link", None, b)]
    with store.session() as s:
        assert s.scalar(select(Ticket.id).where(Ticket.number == b)) is not None


def test_ticket_operations_keep_their_own_deadlines(store: Store) -> None:
    """Creating, raising the priority and waiting on the reporter move the deadlines without any caller's help."""
    number = _new(store)  # P2 at Monday 10:00: answer within 4 business hours, resolve within 24
    with store.session() as s:
        t = get_ticket(s, number)
        assert t.response_due == datetime(2026, 11, 23, 14, 0, tzinfo=TZ)
        assert set_field(at(s), t, "priority", "P1", actor="boss@example.com")
        assert t.response_due == datetime(2026, 11, 23, 12, 0, tzinfo=TZ)  # P1: 2 business hours
        change_status(at(s, T0 + timedelta(hours=1)), t, Status.WAITING_USER, actor="x")
        assert t.next_escalation_at is None  # no escalation while the clock stands still
        change_status(at(s, T0 + timedelta(hours=25)), t, Status.IN_PROGRESS, actor="x")  # Tuesday 11:00
        # waited Monday 11:00-18:00 and Tuesday 09:00-11:00: 9 business hours added to every target
        assert t.response_due == datetime(2026, 11, 24, 12, 0, tzinfo=TZ)
        assert t.next_escalation_at is not None
