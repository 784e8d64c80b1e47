"""Closing by mail with an explicit clock: #close asks the reporter to confirm like #status resolved; #close force
closes without, audited with its reason; after the survey nothing reaches the reporter or Cc but a reopening."""

from __future__ import annotations

from tests.desk import (
    ENGINEER,
    REPORTER,
    Helpdesk,
    body_of,
    desk_fixture,  # noqa: F401
)

COLLEAGUE = "li.na@example.com"


def test_close_asks_the_reporter_to_confirm(desk: Helpdesk) -> None:
    """#关闭 resolves and mails the confirmation request with the engineer's words; no closing mail, no survey yet;
    the reporter's 已解决 then closes it and sends the survey."""
    t = desk.open_ticket()
    desk.later(hours=1)
    desk.staff(t, "#关闭\n已更换定影器。")
    assert desk.ticket(t.number).status == "resolved"
    [confirm] = desk.outbox("confirm")
    assert confirm.to_addrs == [REPORTER] and "已更换定影器。" in body_of(confirm) and "仍有问题" in body_of(confirm)
    assert desk.outbox("closed") == [] and desk.outbox("survey") == [] and desk.outbox("relay") == []
    desk.later(hours=1)
    desk.reporter(t, "已解决，谢谢")
    assert desk.ticket(t.number).status == "closed" and len(desk.outbox("survey")) == 1


def test_close_with_words_on_its_line_tells_them_as_the_resolution(desk: Helpdesk) -> None:
    """``#close replaced the fuser`` in a reply with no other text: those words are the resolution to confirm."""
    t = desk.open_ticket()
    desk.staff(t, "#close 已更换定影器")
    [confirm] = desk.outbox("confirm")
    assert "已更换定影器" in body_of(confirm) and desk.ticket(t.number).status == "resolved"


def test_status_closed_is_a_close_too(desk: Helpdesk) -> None:
    """#status closed cannot step past the reporter either: it asks them to confirm."""
    t = desk.open_ticket()
    desk.staff(t, "#status closed\nDone.")
    assert desk.ticket(t.number).status == "resolved" and len(desk.outbox("confirm")) == 1


def test_close_while_waiting_for_the_confirmation_is_refused(desk: Helpdesk) -> None:
    """A second #close on a resolved ticket says it waits on the reporter and how to force it; nothing changes."""
    t = desk.open_ticket()
    desk.staff(t, "#状态 已解决\n已处理。")
    desk.staff(t, "#close")
    [error] = desk.outbox("command_error")
    assert error.to_addrs == [ENGINEER] and "#关闭 强制 原因" in error.text
    assert desk.ticket(t.number).status == "resolved" and desk.outbox("closed") == []


def test_close_force_closes_at_once_with_the_reason_audited(desk: Helpdesk) -> None:
    """#关闭 强制 reason: closed without asking, the reason in the history and in the closing mail, then the survey."""
    t = desk.open_ticket()
    desk.later(minutes=20)
    desk.staff(t, "#关闭 强制 重复工单，已在 TS-20261122-0007 处理")
    ticket = desk.ticket(t.number)
    assert ticket.status == "closed" and ticket.closed_at == desk.now
    [forced] = desk.events(t.number, "close_forced")
    assert (forced.actor, forced.note) == (ENGINEER, "重复工单，已在 TS-20261122-0007 处理")
    [closed] = desk.outbox("closed")
    assert closed.to_addrs == [REPORTER] and "重复工单，已在 TS-20261122-0007 处理" in body_of(closed)
    assert len(desk.outbox("survey")) == 1 and desk.outbox("confirm") == []


def test_close_force_needs_a_reason(desk: Helpdesk) -> None:
    """#close force with nothing after it is refused: the engineer is told, the ticket stays open."""
    t = desk.open_ticket()
    desk.staff(t, "#close force")
    [error] = desk.outbox("command_error")
    assert "#close force" in error.text and "需写明原因" in error.text
    assert desk.ticket(t.number).status != "closed" and desk.events(t.number, "close_forced") == []


def test_after_the_survey_a_kb_new_reply_reaches_nobody_outside(desk: Helpdesk) -> None:
    """A #kb new reply on a closed ticket makes the article but reaches neither the reporter nor the Cc; the words
    stay as an internal note."""
    t = desk.open_ticket(cc=COLLEAGUE)
    assert desk.ticket(t.number).watchers == [COLLEAGUE]
    desk.staff(t, "#close force 用户已离职")
    assert len(desk.outbox("survey")) == 1
    before = len(desk.outbox())
    desk.later(hours=2)
    outcome = desk.staff(t, "#kb new\n取出卡住的纸，清理搓纸轮即可。")
    assert "1 command(s) applied" in outcome.reason
    assert desk.outbox()[before:] == []  # not a relay, not anything, to anyone
    [withheld] = desk.events(t.number, "withheld")
    assert withheld.note == "取出卡住的纸，清理搓纸轮即可。"
    assert desk.ticket(t.number).status == "closed"


def test_after_the_survey_plain_words_stay_inside_but_a_reopening_goes_out(desk: Helpdesk) -> None:
    """Words alone on a closed ticket are withheld; the same with #status in_progress reopen it and are relayed."""
    t = desk.open_ticket(cc=COLLEAGUE)
    desk.staff(t, "#close force 用户要求关闭")
    desk.later(hours=1)
    desk.staff(t, "补充一下：定影器下周到货。")
    assert desk.outbox("relay") == []
    desk.later(hours=1)
    desk.staff(t, "#status in_progress\n定影器到了，我下午过来更换。")
    ticket = desk.ticket(t.number)
    assert ticket.status == "in_progress" and ticket.reopen_count == 1
    [relay] = desk.outbox("relay")
    assert relay.to_addrs == [REPORTER, COLLEAGUE]
    assert "定影器到了" in body_of(relay) and "下周到货" not in body_of(relay)
    assert [e.note for e in desk.events(t.number, "progress")] == ["定影器到了，我下午过来更换。"]
