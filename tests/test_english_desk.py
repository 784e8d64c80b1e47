"""A desk that works in English, the whole loop through: not one Chinese character reaches its mails."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest

from maildesk.app import App
from maildesk.reports.mailing import queue_report
from maildesk.reports.period import week_of
from maildesk.store.models import OutboxMail
from tests.desk import NOW, Helpdesk, desk_settings, make_app, sweep

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
PEOPLE = """address,name,department,employee_id,extension,phone,role,team,away
ann@example.com,Ann Reed,Finance,E1,8101,,reporter,,no
bob@example.com,Bob Stone,Support,E2,8201,,engineer,hardware,no
dan@example.com,Dan Hill,Support,E3,8202,,lead,hardware,no
meg@example.com,Meg Lowe,Support,E4,8301,,manager,,no
tom@example.com,Tom Cole,IT,E5,8302,,director,,no
"""
RULES = """[[rule]]
name = "printer"
conditions = [{ field = "subject_or_body", op = "contains_any", value = ["printer", "paper jam", "打印机"] }]
actions = { type = "hardware", team = "hardware" }
"""


@contextmanager
def english_desk(tmp_path: Path, db_url: str, *, people: str = PEOPLE, rules: str = RULES) -> Iterator[Helpdesk]:
    """An English desk named "IT Support", with English-speaking ``people`` and ``rules`` (by default one)."""
    app = make_app(tmp_path, desk_settings(db_url, language="en", support_name="IT Support"))
    (tmp_path / "people.csv").write_text(people, encoding="utf-8")
    (tmp_path / "rules.toml").write_text(rules, encoding="utf-8")
    app = App(app.settings)
    app.upgrade()
    try:
        yield Helpdesk(app)
    finally:
        app.close()


@pytest.fixture
def english(tmp_path: Path, db_url: str) -> Iterator[Helpdesk]:
    """An English desk named "IT Support", with English-speaking people and one rule."""
    with english_desk(tmp_path, db_url) as desk:
        yield desk


def _texts(row: OutboxMail) -> str:
    message = email.message_from_bytes(row.raw, policy=policy.default)
    parts = [str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"]
    return "\n".join([str(message["Subject"]), str(message["From"]), *parts])


def test_no_chinese_reaches_an_english_desks_mails(english: Helpdesk) -> None:
    """Ack, assignment, relays, confirm, closed, survey, review, reminder, escalation, progress, digest, report."""
    desk = english
    ticket = desk.open_ticket("Printer paper jam on floor 3", "The printer keeps jamming; month-end reports are due.",
                              sender="ann@example.com", name="Ann Reed")
    assert ticket.assignee == "bob@example.com"
    desk.later(minutes=30)
    desk.staff(ticket, "#status in_progress\n#note spare fuser ordered\nI will come by at two.",
               sender="bob@example.com", re="Re: ")
    desk.later(minutes=30)
    desk.reporter(ticket, "Thanks, I am in room 301.", sender="ann@example.com", re="Re: ")
    desk.later(hours=1)
    desk.staff(ticket, "#escalate management the fuser needs a vendor\nWorking on it.", sender="bob@example.com",
               re="Re: ")
    for hours in range(0, 32):  # progress mails (Tuesday 17:00), reminders, the escalation ladder, digests
        sweep(desk.app, NOW + timedelta(hours=hours))
    desk.now = NOW + timedelta(hours=32)
    desk.staff(ticket, "#status resolved\nReplaced the fuser.", sender="bob@example.com", re="Re: ")
    desk.later(minutes=10)
    desk.reporter(ticket, "Solved, thank you.", sender="ann@example.com", re="Re: ")
    desk.later(minutes=10)
    desk.reporter(ticket, "2 2 3 slow answer", sender="ann@example.com", re="Re: ")
    queue_report(desk.app.desk, desk.app.store, week_of(NOW.date(), desk.app.settings.tz), desk.now)
    kinds = {row.kind for row in desk.outbox()}
    assert {"ack", "assignment", "relay", "escalation", "progress", "digest", "confirm", "survey", "review",
            "report"} <= kinds, kinds
    for row in desk.outbox():
        found = CJK.findall(_texts(row))
        assert not found, (row.kind, "".join(found)[:40])


def test_an_english_desk_answers_a_chinese_reporter_in_chinese(english: Helpdesk) -> None:
    """The desk's language is for staff; a reporter who writes Chinese is answered in Chinese."""
    desk = english
    ticket = desk.open_ticket("打印机卡纸", "三楼打印机一直卡纸。", sender="ann@example.com")
    [ack] = desk.outbox("ack")
    [assignment] = desk.outbox("assignment")
    assert CJK.search(_texts(ack)) and ticket.language == "zh"
    assert not CJK.search(_texts(assignment).replace("打印机卡纸", "").replace("三楼打印机一直卡纸。", ""))


def test_an_english_desk_mobilises_and_hands_on_in_english(english: Helpdesk, tmp_path: Path) -> None:
    """A P1 mobilises the lead and the manager, and #escalate hands it to tier 2: every mail in English."""
    desk = english
    people = PEOPLE.replace("tier", "").splitlines()
    with_tiers = [people[0] + ",tier", *(line + (",1" if line.startswith("bob@") else ",2" if line.startswith("dan@")
                                                  else ",") for line in people[1:])]
    (tmp_path / "people.csv").write_text("\n".join(with_tiers) + "\n", encoding="utf-8")
    (tmp_path / "rules.toml").write_text(RULES + """
[[rule]]
name = "outage"
conditions = [{ field = "subject_or_body", op = "contains_any", value = ["down for everyone"] }]
actions = { priority = "P1" }
""", encoding="utf-8")
    desk.app = App(desk.app.settings)  # reads the directory with its tiers, and the rules
    desk.app.upgrade()
    try:
        ticket = desk.open_ticket("Printer down for everyone", "The printer is down for all users on floor 3.",
                                  sender="ann@example.com", name="Ann Reed",
                                  attachments=(("panel.jpg", "image/jpeg", b"j" * 3000),))
        assert ticket.priority == "P1" and ticket.assignee == "bob@example.com"
        assert sorted(a for row in desk.outbox("mobilise") for a in row.to_addrs) == \
            ["dan@example.com", "meg@example.com"]
        desk.later(minutes=20)
        desk.staff(ticket, "#escalate the fuser unit needs a specialist\nHanding this on.", sender="bob@example.com",
                   re="Re: ")
        assert desk.ticket(ticket.number).assignee == "dan@example.com"
        mails = [row for row in desk.outbox() if row.kind in ("mobilise", "assignment", "relay")]
        assert any("escalated this ticket from tier 1 to tier 2" in _texts(row) for row in mails)
        for row in mails:
            assert not CJK.search(_texts(row)), (row.kind, _texts(row))
    finally:
        desk.app.close()


URGENT = """
[[rule]]
name = "outage"
conditions = [{ field = "subject", op = "contains", value = "down" }]
actions = { type = "hardware", team = "hardware", priority = "P1" }
"""


def test_an_english_desk_reviews_closes_and_shows_the_form_in_english(tmp_path: Path, db_url: str) -> None:
    """Intake form, the review (复核) request and #ok, a priority change, #close and #close force: all in English."""
    with english_desk(tmp_path, db_url, rules=RULES + URGENT) as desk:
        down = desk.open_ticket("Production ERP down",
                                "ERP is down for everyone.\nSystem: ERP\nImpact: all of Finance\nStarted: today 9:30",
                                sender="ann@example.com")
        assert (down.system, down.impact, down.occurred) == ("ERP", "all of Finance", "today 9:30")
        desk.staff(down, "#ok", sender="meg@example.com", re="Re: ")
        desk.staff(down, "#priority P2", sender="dan@example.com", re="Re: ")
        desk.staff(down, "#close\nRestarted the ERP service.", sender="bob@example.com", re="Re: ")
        jam = desk.open_ticket("Printer paper jam", "The printer jams.", sender="ann@example.com")
        desk.staff(jam, "#close force duplicate of the first one", sender="bob@example.com", re="Re: ")
        desk.staff(jam, "#close", sender="bob@example.com", re="Re: ")  # refused: already closed
        assert [e.actor for e in desk.events(down.number, "reviewed")] == ["meg@example.com", "dan@example.com"]
        kinds = {row.kind for row in desk.outbox()}
        assert {"mobilise", "priority_changed", "confirm", "closed", "survey", "command_error"} <= kinds, kinds
        assert "System:      ERP" in desk.outbox("assignment")[0].text
        for row in desk.outbox():
            found = CJK.findall(_texts(row))
            assert not found, (row.kind, "".join(found)[:40])
