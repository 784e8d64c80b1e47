"""Overdue review (复盘) tasks are chased: the owner, then the supervisor above; #复盘 completes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from maildesk.store.models import Ticket
from maildesk.store.models_conversation import ReviewTask
from maildesk.sweep import run_sweep
from tests.desk import (
    TZ,
    Helpdesk,
    body_of,
    desk_fixture,  # noqa: F401
)

MANAGER = "zheng.li@example.com"  # 郑丽: the supervisor a review goes to
DIRECTOR = "huang.gang@example.com"  # 黄刚: above her
ENGINEER = "liu.yang@example.com"


def _poorly_rated(desk: Helpdesk) -> Ticket:
    """A ticket solved, confirmed and rated 2 with a phone number in the comment: a review is owed."""
    t = desk.open_ticket()
    desk.staff(t, "#状态 已解决\n已更换定影器。")
    desk.reporter(t, "已解决，谢谢")
    desk.reporter(t, "2 2 3 等了两天才有人来，我的手机 13800138001")
    assert [m.to_addrs for m in desk.outbox("review")] == [[MANAGER]]
    return desk.ticket(t.number)


def _task(desk: Helpdesk) -> ReviewTask:
    with desk.app.store.session() as s:
        return s.scalars(select(ReviewTask)).one()


def _sweep(desk: Helpdesk, now: datetime) -> list[tuple[str, tuple[str, ...]]]:
    return [(q.kind, q.to) for q in run_sweep(desk.app.desk, desk.app.store, now).queued if q.kind == "review"]


def test_an_overdue_review_reminds_its_owner_then_the_supervisor_above(desk: Helpdesk) -> None:
    """Due a day after the score: the manager is reminded at once, the director 8 business hours later (Tuesday
    18:00, so the first sweep of Wednesday); each once, masked."""
    t = _poorly_rated(desk)  # Monday 23 Nov 10:00: due Tuesday 10:00
    assert _sweep(desk, datetime(2026, 11, 24, 9, 55, tzinfo=TZ)) == []
    assert _sweep(desk, datetime(2026, 11, 24, 10, 0, tzinfo=TZ)) == [("review", (MANAGER,))]
    assert _sweep(desk, datetime(2026, 11, 24, 10, 0, tzinfo=TZ)) == []
    assert _sweep(desk, datetime(2026, 11, 24, 17, 55, tzinfo=TZ)) == []
    assert _sweep(desk, datetime(2026, 11, 25, 9, 0, tzinfo=TZ)) == [("review", (DIRECTOR,))]
    assert _sweep(desk, datetime(2026, 11, 26, 10, 0, tzinfo=TZ)) == []
    reminder, escalation = desk.outbox("review")[1:]
    assert "复盘任务已逾期" in body_of(reminder) and "#复盘 结论" in body_of(reminder)
    assert "郑丽负责的复盘任务已逾期 8 小时" in body_of(escalation)
    for mail in (reminder, escalation):
        assert "13800138001" not in body_of(mail) and "138****8001" in body_of(mail) and "张伟" not in body_of(mail)
    assert [e.action for e in desk.events(t.number) if e.action.startswith("review_")] == [
        "review_reminded", "review_escalated"]


def test_the_owner_completes_the_review_by_mail_and_the_chase_stops(desk: Helpdesk) -> None:
    """"#复盘 conclusion" from the manager closes the task with the conclusion; nothing more is sent."""
    t = _poorly_rated(desk)
    desk.later(hours=3)
    outcome = desk.staff(t, "#复盘 原因是备件不足，已增加定影器库存", sender=MANAGER)
    assert "1 command(s) applied" in outcome.reason
    task = _task(desk)
    assert task.done_at == desk.now and task.note == "原因是备件不足，已增加定影器库存"
    assert [e.note for e in desk.events(t.number, "review_done")] == ["原因是备件不足，已增加定影器库存"]
    assert _sweep(desk, datetime(2026, 11, 25, 10, 0, tzinfo=TZ)) == []
    assert all("备件" not in body_of(m) for m in desk.outbox() if "zhang.wei@example.com" in m.to_addrs)


def test_only_a_supervisor_or_the_owner_completes_a_review(desk: Helpdesk) -> None:
    """An engineer cannot close the review of their own work; an empty conclusion and no open task are refused."""
    t = _poorly_rated(desk)
    desk.staff(t, "#复盘 我觉得没问题")
    desk.staff(t, "#reviewed", sender=MANAGER)
    errors = [body_of(m) for m in desk.outbox("command_error")]
    assert "复盘只能由任务负责人或组长、经理、总监完成" in errors[0] and "请写下复盘结论" in errors[1]
    assert _task(desk).done_at is None
    desk.staff(t, "#reviewed spare parts ran out", sender=DIRECTOR)
    desk.staff(t, "#复盘 再来一次", sender=MANAGER)
    assert "本工单没有待完成的复盘任务" in body_of(desk.outbox("command_error")[-1])


def test_a_review_due_on_a_saturday_is_chased_on_monday(desk: Helpdesk) -> None:
    """A Friday-afternoon score is due Saturday: nothing over the weekend, the owner on Monday at 09:00, the
    director at 17:00."""
    desk.now = datetime(2026, 11, 27, 15, 0, tzinfo=TZ)
    _poorly_rated(desk)
    assert _task(desk).due_at == datetime(2026, 11, 28, 15, 0, tzinfo=TZ)
    for day, hour in ((28, 15), (28, 20), (29, 10)):
        assert _sweep(desk, datetime(2026, 11, day, hour, 0, tzinfo=TZ)) == []
    assert _sweep(desk, datetime(2026, 11, 30, 9, 0, tzinfo=TZ)) == [("review", (MANAGER,))]
    assert _sweep(desk, datetime(2026, 11, 30, 16, 45, tzinfo=TZ)) == []
    assert _sweep(desk, datetime(2026, 11, 30, 17, 0, tzinfo=TZ)) == [("review", (DIRECTOR,))]
