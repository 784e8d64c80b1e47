"""A staff member's out-of-office reply: away until their next normal mail, urgent tickets handed on, no forgery."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime

from sqlalchemy import select

from maildesk.desk.tickets import get_ticket
from maildesk.people.presence import away_now, mark_away, mark_back
from maildesk.people.roles import holders
from maildesk.store.db import Store
from maildesk.store.models_people import StaffAway
from tests.desk import (
    Helpdesk,
    body_of,
    context,
    desk_fixture,  # noqa: F401
    mail,
    new_ticket,
    stamped,
)

ENGINEER = "sun.hao@example.com"  # 孙浩, software engineer
LEAD = "wu.qiang@example.com"  # 吴强, software lead: the only other member of the team
DKIM_PASS = ("Authentication-Results",
             "mx.example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com")


def _urgent(desk: Helpdesk, priority: str, subject: str = "生产系统宕机") -> str:
    number = new_ticket(desk.app, desk.now, priority, subject=subject, assignee=ENGINEER)
    with desk.app.store.session() as s:
        get_ticket(s, number).team = "software"
    return number


def _out_of_office(subject: str = "自动回复: 工单通知", *, proven: bool = True, **headers: str) -> bytes:
    raw = mail(ENGINEER, subject, "我于 11 月 23 日至 27 日休假，紧急事务请联系吴强。", name="孙浩",
               headers={"Auto-Submitted": "auto-replied", **headers})
    return stamped(raw, DKIM_PASS) if proven else raw


def test_an_out_of_office_reply_hands_urgent_tickets_on_and_marks_the_person_away(desk: Helpdesk) -> None:
    """The P1 and P2 go to the present colleague with the assignment mail saying why; the P3 stays."""
    p1, p2, p3 = _urgent(desk, "P1"), _urgent(desk, "P2", "订单接口偶发超时"), _urgent(desk, "P3", "报表导出慢")
    outcome = desk.feed(_out_of_office())
    assert outcome.result == "noise" and "marked away" in outcome.reason
    assert [desk.ticket(n).assignee for n in (p1, p2, p3)] == [LEAD, LEAD, ENGINEER]
    mails = desk.outbox("assignment")
    assert sorted(m.ticket_id for m in mails) == sorted(desk.ticket(n).id for n in (p1, p2))
    assert all(m.to_addrs == [LEAD] and "孙浩发来外出自动回复" in body_of(m) for m in mails)
    [event] = [e for e in desk.events(p1, "assignee") if e.from_value == ENGINEER]
    assert (event.to_value, event.note) == (LEAD, f"out of office: {ENGINEER}")
    with desk.app.store.session() as s:
        assert away_now(s) == {ENGINEER}
        ctx = context(desk.app, s, desk.now)
        assert ctx.directory.get(ENGINEER).away and not desk.app.desk.directory.get(ENGINEER).away


def test_someone_away_gets_no_new_ticket_until_their_next_normal_mail(desk: Helpdesk) -> None:
    """New software tickets skip the person away; once they write normally again, they take new tickets again."""
    desk.feed(_out_of_office())
    first = desk.open_ticket("生产系统宕机", "订单系统打不开")
    second = desk.open_ticket("生产环境无法访问", "所有门店都连不上")
    assert (first.assignee, second.assignee) == (LEAD, LEAD)
    desk.later(hours=2)
    back = desk.staff(first, "#备注 我回来了，这单我也看一下", sender=ENGINEER)
    assert back.result == "reply" and back.notes == (f"{ENGINEER} is back (a normal mail)",)  # logged once stored
    with desk.app.store.session() as s:
        assert away_now(s) == frozenset()
        spell = s.scalars(select(StaffAway)).one()
        assert spell.back_at is not None and spell.message_pk is not None
    third = desk.open_ticket("生产系统宕机", "下单页面打不开")
    assert third.assignee == ENGINEER  # the team's least loaded, and present again


def test_the_role_rule_passes_over_people_away_by_their_own_word(desk: Helpdesk) -> None:
    """holders() (escalations, reminders, digests) skip a lead whose out-of-office came in, as a directory 'away'."""
    people = desk.app.settings.path("people.csv")
    second_lead = "gao.feng@example.com,高峰,技术支持部,E2006,8206,13899990000,lead,hardware,no\n"
    people.write_text(people.read_text(encoding="utf-8") + second_lead, encoding="utf-8")
    with desk.app.store.session() as s:
        ctx = context(desk.app, s, desk.now)
        assert holders(ctx.directory, ctx.settings, "lead") == [LEAD, "gao.feng@example.com"]
    raw = mail(LEAD, "Automatic reply: 周报", "I am out of the office until Monday.",
               headers={"Auto-Submitted": "auto-replied"})
    desk.feed(stamped(raw, DKIM_PASS))
    with desk.app.store.session() as s:
        ctx = context(desk.app, s, desk.now)
        assert holders(ctx.directory, ctx.settings, "lead") == ["gao.feng@example.com"]


def test_a_forged_out_of_office_changes_nothing(desk: Helpdesk) -> None:
    """An attacker who writes an auto-reply in the engineer's name (no DKIM pass, no staff reply address) moves no
    ticket and marks nobody away."""
    p1 = _urgent(desk, "P1")
    outcome = desk.feed(_out_of_office(proven=False))
    assert outcome.result == "noise" and "marked away" not in outcome.reason
    assert [note.split(" without proof")[0] for note in outcome.notes] == [f"out-of-office reply from {ENGINEER}"]
    assert desk.ticket(p1).assignee == ENGINEER and desk.outbox("assignment") == []
    with desk.app.store.session() as s:
        assert away_now(s) == frozenset()


def _read_receipt() -> bytes:
    """A read receipt as Outlook writes one: a multipart/report holding a disposition notification."""
    return (f"From: 孙浩 <{ENGINEER}>\r\nTo: support@example.com\r\nSubject: 已读: 工单通知\r\n"
            "Message-ID: <mdn.1@client.example.com>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0800\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=disposition-notification; boundary=r\r\n\r\n"
            "--r\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nread\r\n"
            "--r\r\nContent-Type: message/disposition-notification\r\n\r\n"
            "Disposition: manual-action/MDN-sent-manually; displayed\r\n--r--\r\n").encode()


def test_a_read_receipt_is_no_out_of_office(desk: Helpdesk) -> None:
    """A read receipt or a robot's notification from a staff address is an auto-reply, but says nobody is away."""
    p1 = _urgent(desk, "P1")
    assert desk.feed(stamped(_read_receipt(), DKIM_PASS)).result == "noise"
    assert desk.feed(stamped(mail(ENGINEER, "系统通知", "磁盘空间不足", headers={"Auto-Submitted": "auto-generated"}),
                             DKIM_PASS)).result == "noise"
    assert desk.ticket(p1).assignee == ENGINEER
    with desk.app.store.session() as s:
        assert away_now(s) == frozenset()


def test_an_out_of_office_to_a_staff_reply_address_proves_itself(desk: Helpdesk) -> None:
    """Without a trusted mail server, an auto-reply sent to a staff reply address (only staff get one) counts."""
    p1 = _urgent(desk, "P1")
    ticket = desk.ticket(p1)
    raw = mail(ENGINEER, f"自动回复: [{p1}] 生产系统宕机", "休假中", to=desk.app.desk.addresses.staff(p1),
               headers={"Auto-Submitted": "auto-replied"})
    assert desk.feed(raw).ticket == ticket.number
    assert desk.ticket(p1).assignee == LEAD
    again = desk.feed(_out_of_office("自动回复: 另一封"))
    assert "away already" in again.reason and len(desk.outbox("assignment")) == 1


def test_nobody_present_leaves_the_ticket_and_says_so(desk: Helpdesk) -> None:
    """When the whole team is away the urgent ticket stays with its assignee and the history says why."""
    p1 = _urgent(desk, "P1")
    desk.feed(stamped(mail(LEAD, "自动回复: 会议", "外出", headers={"Auto-Submitted": "auto-replied"}), DKIM_PASS))
    desk.feed(_out_of_office())
    assert desk.ticket(p1).assignee == ENGINEER
    assert [e.note for e in desk.events(p1, "handover_failed")] == [
        f"out of office: {ENGINEER}; nobody present to take it"]


def test_who_is_away_is_read_again_after_a_rollback(store: Store) -> None:
    """A batch reads who is away once, but a mark undone by a mail's rolled-back savepoint is not believed after."""
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    with store.session() as s:
        assert away_now(s) == frozenset()
        with suppress(RuntimeError), s.begin_nested():
            mark_away(s, ENGINEER, now)
            assert away_now(s) == {ENGINEER}
            raise RuntimeError("the mail failed after marking")
        assert away_now(s) == frozenset()
        with s.begin_nested():
            mark_away(s, ENGINEER, now)
        assert away_now(s) == {ENGINEER}
        mark_back(s, ENGINEER, now)
        assert away_now(s) == frozenset()
