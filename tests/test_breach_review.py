"""Review (复盘) after a breach, by mail with an explicit clock: a ticket closed after missing its resolution
target opens a review task like a poor survey score does, once, whatever closed it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.statuses import Status
from maildesk.store.models_conversation import ReviewTask
from tests.desk import (
    ENGINEER,
    MANAGER,
    REPORTER,
    Helpdesk,
    at,
    body_of,
    desk_fixture,  # noqa: F401
    sweep,
    utc,
)


def _tasks(desk: Helpdesk) -> list[ReviewTask]:
    with desk.app.store.session() as s:
        return list(s.scalars(select(ReviewTask).order_by(ReviewTask.id)))


def _printer(desk: Helpdesk) -> str:
    """A P3 printer fault mailed Monday 23 November 10:00: resolution due Friday 27th 14:00 (40 business hours)."""
    desk.now = utc(at("2026-11-23", 10))
    ticket = desk.open_ticket()
    assert (ticket.priority, ticket.assignee) == ("P3", ENGINEER)
    assert ticket.resolve_due == utc(at("2026-11-27", 14))
    return ticket.number


def test_closing_after_the_resolution_target_opens_a_review_saying_by_how_much(desk: Helpdesk) -> None:
    """Resolved Monday 10:00 a week on (5 business hours late, the weekend not counted) and confirmed: the manager
    gets the review mail, masked, with the reason and a day to do it; the history says so."""
    number = _printer(desk)
    desk.now = utc(at("2026-11-30", 10))
    desk.staff(desk.ticket(number), "#状态 已解决\n已更换搓纸轮。")
    assert not _tasks(desk)  # resolved late, not closed yet
    desk.later(hours=1)
    desk.reporter(desk.ticket(number), "已解决，谢谢。")
    assert desk.ticket(number).status == Status.CLOSED
    [task] = _tasks(desk)
    assert (task.reason, task.owner) == ("breach", MANAGER)
    assert task.detail == "解决时限已超出 5 小时（应于 2026-11-27 14:00 之前完成）"
    assert task.due_at == utc(at("2026-12-01", 11))
    [mail] = desk.outbox("review")
    text = body_of(mail)
    assert mail.to_addrs == [MANAGER]
    assert "工单关闭时解决时限已超出 5 小时" in text and "#复盘" in text and "2026-12-01 11:00" in text
    assert "三楼打印机一直卡纸" in text  # the reporter's words, for the review
    assert "张伟" not in text and "张*" in text  # the manager is outside the conversation: masked
    [event] = [e for e in desk.events(number, "review")]
    assert (event.to_value, event.note) == ("breach", task.detail)


def test_a_ticket_resolved_in_time_opens_no_review_and_a_late_one_opens_only_one(desk: Helpdesk) -> None:
    """In time: nothing. Late, reopened by the reporter and closed again: still the one review."""
    on_time = _printer(desk)
    desk.now = utc(at("2026-11-27", 13))
    desk.staff(desk.ticket(on_time), "#状态 已解决\n已清理卡纸。")
    desk.staff(desk.ticket(on_time), "#关闭 强制 用户电话确认")
    assert desk.ticket(on_time).status == Status.CLOSED and not _tasks(desk)
    late = _printer(desk)
    desk.now = utc(at("2026-11-30", 10))
    desk.staff(desk.ticket(late), "#关闭 强制 已更换")
    desk.later(hours=1)
    desk.reporter(desk.ticket(late), "还是卡纸。")  # a reply to the closed ticket reopens it
    assert desk.ticket(late).status == Status.IN_PROGRESS
    desk.later(hours=1)
    desk.staff(desk.ticket(late), "#关闭 强制 已更换整机")
    assert desk.ticket(late).status == Status.CLOSED
    assert [(t.reason, desk.ticket(late).id == t.ticket_id) for t in _tasks(desk)] == [("breach", True)]


def test_the_breach_review_is_chased_when_overdue_and_completed_with_the_review_command(desk: Helpdesk) -> None:
    """Not done within a day: the owner is reminded with the breach as the reason; #复盘 completes it."""
    number = _printer(desk)
    desk.now = utc(at("2026-11-30", 10))
    desk.staff(desk.ticket(number), "#关闭 强制 已更换")
    sweep(desk.app, utc(at("2026-12-01", 10, 15)))
    [_, reminder] = desk.outbox("review")
    assert reminder.to_addrs == [MANAGER] and "复盘任务已逾期" in body_of(reminder)
    assert "解决时限已超出 5 小时" in body_of(reminder)
    desk.now = utc(at("2026-12-01", 11))
    desk.staff(desk.ticket(number), "#复盘 备件库存不足，已调整安全库存", sender=MANAGER)
    [task] = _tasks(desk)
    assert task.done_at == utc(at("2026-12-01", 11)) and task.note == "备件库存不足，已调整安全库存"


@pytest.fixture
def english(tmp_path: Path, db_url: str) -> Iterator[Helpdesk]:
    from tests.test_english_desk import english_desk

    with english_desk(tmp_path, db_url) as desk:
        yield desk


def test_an_english_desk_asks_for_the_breach_review_in_english(english: Helpdesk) -> None:
    """The review mail of an English desk says which target was missed by how much, without a Chinese character."""
    from tests.test_english_desk import CJK, _texts

    desk = english
    desk.now = utc(at("2026-11-23", 10))
    ticket = desk.open_ticket("Printer paper jam on floor 3", "The printer keeps jamming.", sender="ann@example.com",
                              name="Ann Reed")
    desk.now = utc(at("2026-11-30", 10))
    desk.staff(ticket, "#close force replaced the roller", sender="bob@example.com", re="Re: ")
    [mail] = desk.outbox("review")
    assert mail.to_addrs == ["meg@example.com"]
    assert "closed after its resolution target was missed by 5 h (due 2026-11-27 14:00)" in body_of(mail)
    assert not CJK.findall(_texts(mail))
    assert REPORTER not in body_of(mail)


def test_the_auto_close_of_a_late_ticket_opens_the_review_and_the_sweep_reports_it(desk: Helpdesk) -> None:
    """Resolved late and never confirmed: the sweep that closes it after 3 working days lists the review mail."""
    number = _printer(desk)
    desk.now = utc(at("2026-11-30", 10))
    desk.staff(desk.ticket(number), "#状态 已解决\n已更换搓纸轮。")
    queued = sweep(desk.app, utc(at("2026-12-03", 10)))
    assert desk.ticket(number).status == Status.CLOSED
    assert [(q.kind, q.to) for q in queued if q.kind in ("closed", "review")] == [
        ("closed", (REPORTER,)), ("review", (MANAGER,))]
    assert not [q for q in sweep(desk.app, utc(at("2026-12-03", 10))) if q.ticket]  # and only once
