"""Supervisor digests: hourly while P1/P2 are in breach, daily on working days, masked, once per period."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from maildesk.app import App
from tests.desk import (
    DIRECTOR,
    LEAD,
    MANAGER,
    at,
    desks,
    new_ticket,
    outbox,
    staff_reply,
    sweep,
    sweep_through,
)

HOURLY = timedelta(hours=1)
MON = "2026-09-14"


@pytest.fixture
def open_desk(tmp_path: Path, db_url: str) -> Iterator[Callable[..., App]]:
    """Open one or more desks on the test's database."""
    yield from desks(tmp_path, db_url)


@pytest.fixture
def desk(open_desk: Callable[..., App]) -> App:
    """A desk with the default settings (hourly digests for P1 and P2, the daily one at 09:00)."""
    return open_desk()


def _digests(app: App) -> list[tuple[str, str]]:
    return [(f"{s.at:%m-%d %H:%M}", s.to[0]) for s in outbox(app, "digest")]


def test_hourly_digest_while_p1_is_in_breach_masked_and_once_per_hour(open_desk: Callable[..., App]) -> None:
    """P1 unanswered past 11:00: leads and managers get one digest an hour; phone and mail addresses are masked."""
    desk = open_desk()
    number = new_ticket(desk, at(MON, 9), "P1", subject="服务器宕机，请回电 13812341188 或 wang.xiaoming@qq.com")
    new_ticket(desk, at(MON, 9), "P3", subject="打印机卡纸")
    sweep_through(desk, at(MON, 9), at(MON, 11, 30), step=timedelta(minutes=30))
    assert _digests(desk) == [("09-14 09:00", LEAD), ("09-14 09:00", MANAGER), ("09-14 09:00", DIRECTOR),
                              ("09-14 11:00", LEAD), ("09-14 11:00", MANAGER)]
    restarted = open_desk()
    assert [q for q in sweep(restarted, at(MON, 11, 45)) if q.kind == "digest"] == []
    hourly = outbox(desk, "digest")[-1]
    assert hourly.key == f"digest:hourly:2026-09-14T11:{MANAGER}"
    assert hourly.subject == "工单摘要 2026-09-14 11:00–12:00：超时 1，临近超时 0"
    assert number in hourly.text and "138****1188" in hourly.text and "wang*@" in hourly.text
    assert "13812341188" not in hourly.text and "wang.xiaoming" not in hourly.text
    assert "打印机卡纸" not in hourly.text.split("【最久未结】")[0]  # P3 is not in the hourly breach list
    assert "刘洋：在办 2，超时 1" in hourly.text


def test_no_hourly_digest_once_breaches_are_answered(desk: App) -> None:
    """When the only P1 breach is answered and resolved in time, the hourly digests stop."""
    number = new_ticket(desk, at(MON, 9), "P1")
    sweep_through(desk, at(MON, 9), at(MON, 11), step=HOURLY)
    staff_reply(desk, number, at(MON, 11, 30))
    sweep_through(desk, at(MON, 12), at(MON, 16), step=HOURLY)
    assert [t for t, _ in _digests(desk) if t != "09-14 09:00"] == ["09-14 11:00", "09-14 11:00"]


def test_daily_digest_on_working_days_only(desk: App) -> None:
    """The daily digest goes at 09:00 on working days (late on the day the daemon starts late), not on 中秋."""
    new_ticket(desk, at("2026-09-24", 10), "P4", subject="建议：报表导出增加 PDF 格式")
    sweep_through(desk, at("2026-09-24", 10), at("2026-09-28", 10), step=HOURLY)
    assert sorted({t for t, _ in _digests(desk)}) == ["09-24 10:00", "09-28 09:00"]
    daily = outbox(desk, "digest")[-1]
    assert daily.key == f"digest:daily:2026-09-28:{DIRECTOR}" and "最久未结" in daily.text


def test_long_lists_are_capped_but_totals_are_complete(desk: App) -> None:
    """Sixty P2 breaches: the digest lists fifty and says sixty."""
    for i in range(60):
        new_ticket(desk, at(MON, 9), "P2", subject=f"VPN 无法连接 {i}")
    sweep(desk, at(MON, 13))
    hourly = next(s for s in outbox(desk, "digest") if s.key and ":hourly:" in s.key)
    assert "超时 60" in hourly.subject and "（列出前 50 张）" in hourly.text
    assert hourly.text.count("VPN 无法连接") == 50 + 5  # fifty breaches, five oldest


def test_nothing_open_no_digest(desk: App) -> None:
    """An empty desk sends no digest."""
    assert sweep(desk, at(MON, 9)) == []
