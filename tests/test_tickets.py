"""The ticket state machine and the audit trail, on every database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from maildesk.errors import TransitionError
from maildesk.statuses import TRANSITIONS, Status, parse_status
from maildesk.store.db import Store
from maildesk.store.models import Event, Ticket
from maildesk.tickets import NewTicket, add_note, change_status, create_ticket, get_ticket, link_tickets, set_field

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")


def _new(store: Store, **kw: object) -> str:
    data = NewTicket(**{"subject": "ERP 无法登录", "reporter": "Li.Na@Example.com", "priority": "P2",
                        "type": "software", **kw})  # type: ignore[arg-type]
    with store.session() as s:
        return create_ticket(s, data, prefix="TS", tz=TZ, now=T0).number


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
            assert change_status(s, t, target, actor="li@example.com", now=T0 + timedelta(hours=i + 1))
        assert t.reopen_count == 1
        assert t.closed_at == T0 + timedelta(hours=6)
    actions = [a for a, _, _ in _events(store, number)]
    assert actions == ["created", "status", "status", "status", "status", "reopened", "status", "status"]


def test_waiting_on_the_reporter_pauses_the_clock(store: Store) -> None:
    """Time spent waiting on the reporter is added up in paused_seconds."""
    number = _new(store)
    with store.session() as s:
        t = get_ticket(s, number)
        change_status(s, t, Status.WAITING_USER, actor="x", now=T0 + timedelta(hours=1))
        change_status(s, t, Status.IN_PROGRESS, actor="x", now=T0 + timedelta(hours=3, minutes=30))
        assert t.paused_seconds == 2.5 * 3600
        assert t.paused_at is None


def test_invalid_transition_is_refused_and_nothing_changes(store: Store) -> None:
    """An archived ticket cannot be reopened; the error names both statuses."""
    number = _new(store)
    with store.session() as s:
        t = get_ticket(s, number)
        change_status(s, t, Status.CLOSED, actor="x", now=T0)
        change_status(s, t, Status.ARCHIVED, actor="x", now=T0)
    with pytest.raises(TransitionError, match="archived to in_progress"), store.session() as s:
        change_status(s, get_ticket(s, number), Status.IN_PROGRESS, actor="x", now=T0)
    with store.session() as s:
        assert get_ticket(s, number).status == "archived"


def test_every_status_has_a_chinese_name_and_parses_back() -> None:
    """Each status parses from its code and from its Chinese name; 'resolved' cannot go to 'new'."""
    for status in Status:
        assert parse_status(status.value) == status
        assert parse_status(status.zh) == status
    assert Status.NEW not in TRANSITIONS[Status.RESOLVED]
    assert parse_status("已解决") == Status.RESOLVED and parse_status("nonsense") is None


def test_field_changes_and_notes_are_audited(store: Store) -> None:
    """Priority and assignee changes record old and new values; an unchanged value records nothing."""
    number = _new(store)
    with store.session() as s:
        t = get_ticket(s, number)
        assert set_field(s, t, "priority", "P1", actor="boss@example.com", now=T0)
        assert not set_field(s, t, "priority", "P1", actor="boss@example.com", now=T0)
        set_field(s, t, "assignee", "wang@example.com", actor="boss@example.com", now=T0)
        add_note(s, t, "内部备注", actor="boss@example.com", now=T0)
        assert t.status == "assigned"
    events = _events(store, number)
    assert ("priority", "P2", "P1") in events and ("assignee", None, "wang@example.com") in events
    assert ("status", "new", "assigned") in events and ("note", None, None) in events


def test_links_show_from_both_sides(store: Store) -> None:
    """Linking two tickets records the link on each of them."""
    a, b = _new(store), _new(store)
    with store.session() as s:
        link_tickets(s, get_ticket(s, a), get_ticket(s, b), "related", actor="x", now=T0)
        link_tickets(s, get_ticket(s, a), get_ticket(s, b), "related", actor="x", now=T0)
    assert _events(store, a)[-1] == ("link", None, b)
    assert [e for e in _events(store, a) if e[0] == "link"] == [("link", None, b)]
    with store.session() as s:
        assert s.scalar(select(Ticket.id).where(Ticket.number == b)) is not None
