"""Reports: exact figures of a seeded week in every format, the HTML mail with inline charts, and the schedule.

The seeded week is 2026-11-16 (Monday) to 2026-11-22, Shanghai time, business
hours 09:00–18:00 on working days; the expected figures are worked out by hand
in the comments of SEED.
"""

from __future__ import annotations

import csv
import email
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message as MimeMessage
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from maildesk.app import App
from maildesk.cli import main
from maildesk.desk.deadlines import keep_deadlines
from maildesk.reports.mailing import monthly_report_job, recurring_alert_job, weekly_report_job
from maildesk.store.models import Event, Message, OutboxMail, Ticket
from maildesk.store.models_conversation import SurveyAnswer
from tests.desk import desk_settings, make_app
from tests.smtp_sink import SmtpSink

TZ = ZoneInfo("Asia/Shanghai")
LIU, SUN, ZHOU = "liu.yang@example.com", "sun.hao@example.com", "zhou.min@example.com"
NOW = "2026-11-23T10:00:00+08:00"  # the Monday after the week


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


@dataclass(frozen=True)
class Seed:
    number: str
    type: str
    priority: str
    team: str | None
    assignee: str | None
    status: str
    created: datetime
    subject: str
    body: str
    first_response: datetime | None = None
    resolved: datetime | None = None
    paused_hours: float = 0.0
    reopens: int = 0
    channel: str = "email"


SEED = [
    # first response 1 h, resolved in 4 h, P1 targets: respond by 11:00+1 h, resolve by 18:00: both met
    Seed("TS-20261116-0001", "hardware", "P1", "hardware", LIU, "closed", at(16, 10), "打印机卡纸", "三楼打印机卡纸",
         at(16, 11), at(16, 14)),
    # Monday 17:00: response Tue 09:30 = 1.5 h; resolved Wed 11:00 = 12 h minus 2 h waiting on the reporter = 10 h
    Seed("TS-20261116-0002", "hardware", "P2", "hardware", LIU, "resolved", at(16, 17), "显示器不亮",
         "开机后显示器黑屏", at(17, 9, 30), at(18, 11), paused_hours=2),
    # reopened once, resolved again Thu 09:00 = 18 h; response 4 h (P3 due 17:00: met)
    Seed("TS-20261117-0001", "software", "P3", "software", SUN, "closed", at(17, 9), "OA账号被锁了 回电13812341188",
         "早上输错密码，OA账号被锁定，无法登录", at(17, 13), at(19, 9), reopens=1),
    # never answered: response due Wed 18:00 missed; resolution due next Tuesday: not known yet
    Seed("TS-20261118-0001", "software", "P3", "software", SUN, "assigned", at(18, 10), "OA账号锁定",
         "OA提示账号已锁定，请帮忙解锁"),
    # P1 answered after 3 h (due after 2 h: missed), unresolved past its 17:00 resolution target: missed
    Seed("TS-20261119-0001", "software", "P1", "software", SUN, "in_progress", at(19, 9), "OA登录不了",
         "全部门都登录不了OA，提示账号被锁", at(19, 12)),
    # P4 with no team and no one: nothing due within the week
    Seed("TS-20261120-0001", "permission", "P4", None, None, "new", at(20, 15), "申请共享盘权限", "需要访问财务共享盘",
         channel="phone"),
    # a Saturday ticket answered Monday 09:30 = 0.5 working hours (response met); resolution not due yet
    Seed("TS-20261121-0001", "software", "P2", "software", ZHOU, "in_progress", at(21, 10), "ERP报表导出失败",
         "导出报表时提示内存不足", at(23, 9, 30)),
    # outside the week: counted only in Sun Hao's load (before the end) or not at all (after it)
    Seed("TS-20261115-0001", "software", "P3", "software", SUN, "in_progress", at(15, 23), "旧问题", "上周的问题"),
    Seed("TS-20261123-0001", "software", "P3", "software", SUN, "assigned", at(23, 8), "新问题", "本周的问题"),
]

EXPECTED = {
    "from": "2026-11-16", "to": "2026-11-22", "tickets": 7,
    "by_type": {"software": 4, "hardware": 2, "permission": 1},
    "by_priority": {"P1": 2, "P2": 2, "P3": 2, "P4": 1},
    "by_team": {"software": 4, "hardware": 2, "none": 1},
    "by_status": {"new": 1, "assigned": 1, "in_progress": 2, "resolved": 1, "closed": 2},
    "by_day": {"2026-11-16": 2, "2026-11-17": 1, "2026-11-18": 1, "2026-11-19": 1, "2026-11-20": 1,
               "2026-11-21": 1, "2026-11-22": 0},
    "first_response_hours": {"avg": 2.0, "median": 1.5, "count": 5},  # 1, 1.5, 4, 3, 0.5
    "resolution_hours": {"avg": 10.67, "median": 10.0, "count": 3},  # 4, 10, 18
    "sla_compliance": {"P1": 0.5, "P2": 1.0, "P3": 1.0, "P4": None},
    "response_compliance": {"P1": 0.5, "P2": 1.0, "P3": 0.5, "P4": None},
    "resolution_rate": 0.4286,  # 3 of 7
    "reopen_rate": 0.3333,  # 1 of the 3 ever resolved
    # answers in the week: 5 5 4 (overall 4.67) and 3 4 2 (overall 3); Monday's answer is next week's
    "satisfaction": {"speed": 4.0, "solving": 4.5, "attitude": 3.0, "overall": 3.83, "answers": 2},
    "recurring": [{"title": "OA账号被锁了 回电138****1188", "type": "software", "count": 3,
                   "tickets": ["TS-20261117-0001", "TS-20261118-0001", "TS-20261119-0001"]}],
    "dominant_types": [{"type": "software", "share": 0.5714}],
    "by_channel": {"email": 6, "phone": 1},
    # still open when the report runs, created before the week's end (the Sunday-night ticket too), oldest first;
    # age at the end of the week; the last note masked
    "unsolved": [
        {"number": "TS-20261115-0001", "subject": "旧问题", "priority": "P3", "status": "in_progress",
         "waiting_on": "assignee", "assignee": SUN, "last_word": "", "last_word_at": None, "age_hours": 169.0},
        {"number": "TS-20261118-0001", "subject": "OA账号锁定", "priority": "P3", "status": "assigned",
         "waiting_on": "assignee", "assignee": SUN, "last_word": "", "last_word_at": None, "age_hours": 110.0},
        {"number": "TS-20261119-0001", "subject": "OA登录不了", "priority": "P1", "status": "in_progress",
         "waiting_on": "assignee", "assignee": SUN, "last_word": "等厂商补丁，联系人手机 138****1188",
         "last_word_at": "2026-11-20T16:00:00+08:00", "age_hours": 87.0},
        {"number": "TS-20261120-0001", "subject": "申请共享盘权限", "priority": "P4", "status": "new",
         "waiting_on": "nobody", "assignee": None, "last_word": "", "last_word_at": None, "age_hours": 57.0},
        {"number": "TS-20261121-0001", "subject": "ERP报表导出失败", "priority": "P2", "status": "in_progress",
         "waiting_on": "assignee", "assignee": ZHOU, "last_word": "", "last_word_at": None, "age_hours": 38.0},
    ],
    "unsolved_total": 5,
    "by_system": {"": 7},  # no intake form names a system in the seed (tests/test_intake_form.py has some)
    "requirements": {"feasible": 0, "not_now": 0, "needs_change": 0, "pending": 0},
    "engineers": [
        {"address": SUN, "name": "孙浩", "assigned": 3, "resolved": 1, "open": 2, "reopened": 1, "open_now": 3,
         "first_response_hours": 3.5, "resolution_hours": 18.0, "sla_compliance": 0.5, "satisfaction": 3.0},
        {"address": LIU, "name": "刘洋", "assigned": 2, "resolved": 2, "open": 0, "reopened": 0, "open_now": 0,
         "first_response_hours": 1.25, "resolution_hours": 7.0, "sla_compliance": 1.0, "satisfaction": 4.67},
        {"address": ZHOU, "name": "周敏", "assigned": 1, "resolved": 0, "open": 1, "reopened": 0, "open_now": 1,
         "first_response_hours": 0.5, "resolution_hours": None, "sla_compliance": None, "satisfaction": None},
    ],
}


def seed(app: App) -> None:
    with app.store.session() as s:
        for d in SEED:
            t = Ticket(number=d.number, subject=d.subject, status=d.status, priority=d.priority, type=d.type,
                       team=d.team, assignee=d.assignee, reporter="li.na@example.com", created_at=d.created,
                       updated_at=d.created, first_response_at=d.first_response, resolved_at=d.resolved,
                       closed_at=d.resolved if d.status == "closed" else None, paused_seconds=d.paused_hours * 3600,
                       reopen_count=d.reopens, escalation_level=0, message_count=1, channel=d.channel)
            keep_deadlines(t, app.desk.targets, app.desk.calendar_on(d.created.date()), d.created)
            s.add(t)
            s.flush()
            s.add(Message(ticket_id=t.id, direction="in", message_id=f"<{d.number}@client>", from_addr=t.reporter,
                          subject=d.subject, text=d.body, created_at=d.created))
        ids = {number: id_ for number, id_ in s.execute(select(Ticket.number, Ticket.id))}
        s.add_all([
            Event(ticket_id=ids["TS-20261119-0001"], at=at(19, 12), actor=SUN, action="progress",
                  note="已重启认证服务"),
            Event(ticket_id=ids["TS-20261119-0001"], at=at(20, 16), actor=SUN, action="note",
                  note="等厂商补丁，联系人手机 13812341188"),
        ])
        for number, scores, when in (("TS-20261116-0001", (5, 5, 4), at(17, 10)),
                                     ("TS-20261117-0001", (3, 4, 2), at(20, 10)),
                                     ("TS-20261116-0002", (1, 1, 1), at(23, 9))):
            s.add(SurveyAnswer(ticket_id=ids[number], respondent="li.na@example.com", speed=scores[0],
                               solving=scores[1], attitude=scores[2], overall=sum(scores) / 3, comment="", at=when))


@pytest.fixture
def desk(tmp_path: Path, db_url: str) -> Iterator[tuple[App, str]]:
    app = make_app(tmp_path, desk_settings(db_url))
    app.upgrade()
    seed(app)
    yield app, str(tmp_path / "maildesk.toml")
    app.close()


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(args)
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_json_report_has_the_exact_figures(desk: tuple[App, str], capsys: pytest.CaptureFixture[str]) -> None:
    """Every figure of the seeded week is what the hand calculation says, whether the week is named or implied."""
    _app, config = desk
    by_dates = json.loads(_run(["-c", config, "report", "--from", "2026-11-16", "--to", "2026-11-22", "--format",
                                "json", "--now", NOW], capsys))
    assert by_dates == EXPECTED
    implied = json.loads(_run(["-c", config, "report", "--period", "week", "--json", "--now", NOW], capsys))
    assert implied == EXPECTED


def test_csv_report_has_one_exact_figure_a_row(desk: tuple[App, str], capsys: pytest.CaptureFixture[str]) -> None:
    """The CSV carries the same figures as JSON, one (section, item, metric, value) a row."""
    _app, config = desk
    text = _run(["-c", config, "report", "--period", "week", "--format", "csv", "--now", NOW], capsys)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "item", "metric", "value"]
    cells = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    assert cells[("summary", "", "tickets")] == "7"
    assert cells[("by_type", "software", "count")] == "4"
    assert cells[("by_team", "none", "count")] == "1"
    assert cells[("first_response_hours", "", "median")] == "1.5"
    assert cells[("resolution_hours", "", "avg")] == "10.67"
    assert cells[("sla_compliance", "P1", "share")] == "0.5"
    assert cells[("sla_compliance", "P4", "share")] == ""
    assert cells[("summary", "", "reopen_rate")] == "0.3333"
    assert cells[("satisfaction", "", "overall")] == "3.83"
    assert cells[("recurring", "OA账号被锁了 回电138****1188", "tickets")] == \
        "TS-20261117-0001 TS-20261118-0001 TS-20261119-0001"
    assert cells[("engineers", SUN, "open_now")] == "3"
    assert cells[("engineers", LIU, "satisfaction")] == "4.67"
    assert cells[("engineers", LIU, "name")] == "刘洋"
    assert cells[("dominant_types", "software", "share")] == "0.5714"


def test_table_report_reads_in_chinese(desk: tuple[App, str], capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The terminal report names types, statuses and engineers in Chinese and calls out the dominant type; on an
    80-column terminal no ticket number is cut."""
    _app, config = desk
    narrow = _run(["-c", config, "report", "--now", NOW], capsys)
    assert "TS-20261119-0001" in narrow and max(len(line) for line in narrow.splitlines()) <= 80
    monkeypatch.setenv("COLUMNS", "160")
    text = _run(["-c", config, "report", "--now", NOW], capsys)
    for expected in ("技术支持周报 2026 年第 47 周", "工单总数", "42.9%", "33.3%", "2.00 / 1.50", "10.67 / 10.00",
                     "软件异常 占 57.1%，超过 30%", "3.83（2 份答卷）", "孙浩", "待处理", "P1 紧急", "未分组",
                     "OA账号被锁了 回电138****1188", "按渠道", "电话", "未解决的工单及原因", "仍未解决的工单",
                     "11-20 16:00 等厂商补丁，联系人手机", "无人处理（待分配）", "7 天 1 小时"):
        assert expected in text, expected
    assert "13812341188" not in text and "li.na@example.com" not in text


class _Html(HTMLParser):
    """Collects img sources and checks that every opened element is closed."""

    VOID = frozenset({"img", "br", "meta", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")
        elif tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse_html(html: str) -> _Html:
    parser = _Html()
    parser.feed(html)
    parser.close()
    assert parser.stack == [], f"unclosed {parser.stack}"
    return parser


def _parts(msg: MimeMessage) -> list[MimeMessage]:
    return [p for p in msg.walk() if not p.is_multipart()]


def test_send_mails_html_with_inline_charts_to_supervisors(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str],
) -> None:
    """``report --send``: the manager and the director each get an HTML mail whose every cid: image is in it."""
    with SmtpSink() as sink:
        app = make_app(tmp_path, desk_settings(db_url, smtp=(sink.host, sink.port)))
        app.upgrade()
        seed(app)
        main(["-c", str(tmp_path / "maildesk.toml"), "report", "--send", "--now", NOW])
        err = capsys.readouterr().err
        app.close()
        received = sink.messages
    assert "zheng.li@example.com" in err and "huang.gang@example.com" in err
    assert sorted(r.rcpt_tos for r in received) == [("huang.gang@example.com",), ("zheng.li@example.com",)]
    # sent over several connections at once: take the manager's mail, whichever came first
    msg = email.message_from_bytes(next(r for r in received if r.rcpt_tos == ("zheng.li@example.com",)).content)
    assert "技术支持周报" in str(email.header.make_header(email.header.decode_header(msg["Subject"])))
    parts = _parts(msg)
    html_part = next(p for p in parts if p.get_content_type() == "text/html")
    html = html_part.get_payload(decode=True).decode(html_part.get_content_charset() or "utf-8")
    page = _parse_html(html)
    cids = [src.removeprefix("cid:") for src in page.images]
    assert len(cids) == 3 and all(src.startswith("cid:") for src in page.images)
    images = {p["Content-ID"].strip("<>"): p for p in parts if p.get_content_maintype() == "image"}
    assert set(cids) == set(images)
    for image in images.values():
        assert image.get_payload(decode=True).startswith(b"\x89PNG\r\n\x1a\n")
        assert image.get_content_disposition() == "inline"
    text = "".join(page.text)
    assert "郑丽" in text and "孙浩" in text and "138****1188" in text and "13812341188" not in text
    plain = next(p for p in parts if p.get_content_type() == "text/plain").get_payload(decode=True).decode("utf-8")
    assert "工单总数：7" in plain


def test_html_file_embeds_the_charts(desk: tuple[App, str], capsys: pytest.CaptureFixture[str]) -> None:
    """``--format html`` is a page that opens on its own: well-formed, charts as data: URIs."""
    _app, config = desk
    page = _parse_html(_run(["-c", config, "report", "--format", "html", "--now", NOW], capsys))
    assert len(page.images) == 3 and all(src.startswith("data:image/png;base64,") for src in page.images)


def _outbox(app: App) -> list[tuple[str, str, str | None]]:
    with app.store.session() as s:
        return [(m.kind, m.to_addrs[0], m.dedup_key) for m in s.scalars(select(OutboxMail).order_by(OutboxMail.id))]


def test_scheduled_reports_go_once_per_period(desk: tuple[App, str]) -> None:
    """The weekly report waits for Monday 09:00, goes once to each supervisor, and a rerun or restart adds nothing."""
    app, _ = desk
    assert weekly_report_job(app.desk, app.store, at(23, 8, 59)) == "not due"
    assert weekly_report_job(app.desk, app.store, at(23, 9)) == "week:2026-W47: queued 2"
    assert weekly_report_job(app.desk, app.store, at(23, 9, 10)) == "week:2026-W47: sent before"
    assert weekly_report_job(app.desk, app.store, at(25, 15)) == "week:2026-W47: sent before"
    assert weekly_report_job(app.desk, app.store, at(26, 9)) == "not due"  # three days late is too late to catch up
    keys = [key for kind, _to, key in _outbox(app) if kind == "report"]
    assert keys == ["report:week:2026-W47:zheng.li@example.com", "report:week:2026-W47:huang.gang@example.com"]
    assert monthly_report_job(app.desk, app.store, at(30, 23)) == "not due"  # October's report was due on 1 November
    december = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
    assert monthly_report_job(app.desk, app.store, december - timedelta(minutes=1)) == "not due"
    assert monthly_report_job(app.desk, app.store, december) == "month:2026-11: queued 2"
    assert monthly_report_job(app.desk, app.store, december + timedelta(days=2)) == "month:2026-11: sent before"
    assert len(_outbox(app)) == 4


def test_recurring_problem_alert_goes_once(desk: tuple[App, str]) -> None:
    """Three locked-OA tickets in one week alert the supervisors once, on Monday with the weekly report."""
    app, _ = desk
    assert recurring_alert_job(app.desk, app.store, at(23, 8)) == "not due"
    assert recurring_alert_job(app.desk, app.store, at(23, 9, 5)) == "week:2026-W47: 1 recurring, queued 2"
    assert recurring_alert_job(app.desk, app.store, at(23, 12)) == "week:2026-W47: sent before"
    with app.store.session() as s:
        mails = list(s.scalars(select(OutboxMail).where(OutboxMail.kind == "recurring")))
    assert len(mails) == 2 and all("TS-20261117-0001" in m.text and "重复问题提醒" in m.subject for m in mails)
