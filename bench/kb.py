"""Knowledge-base search and report figures at size, on SQLite and (when one answers) PostgreSQL.

    python bench/kb.py [--articles 5000] [--tickets 2000] [--database sqlite|postgresql|both]

Prints: seconds to write and index the articles, milliseconds per search (median
and worst of a set of Chinese and English queries, the common single characters
included), milliseconds per acknowledgement's suggestions (the same queries as
subjects, each with a mail's opening of greeting, name and error text), index rows
per article, and seconds to compute a month's report figures (recurring-problem
grouping included) over --tickets tickets.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from maildesk.config import parse_settings  # noqa: E402
from maildesk.desk.setup import make_calendar  # noqa: E402
from maildesk.kb import create_article, search, suggest_articles  # noqa: E402
from maildesk.reports.figures import compute_figures  # noqa: E402
from maildesk.store.db import Store  # noqa: E402
from maildesk.store.models import Message, Ticket  # noqa: E402
from maildesk.store.models_kb import KbTerm  # noqa: E402
from tests.databases import empty_store, pg_server_url  # noqa: E402

SYSTEMS = ["OA", "ERP", "CRM", "VPN", "邮箱", "打印机", "共享盘", "报销系统", "考勤系统", "笔记本", "显示器", "Outlook"]
SYMPTOMS = ["无法登录", "账号被锁定", "报错", "很慢", "无法打开", "卡纸", "黑屏", "权限不足", "导出失败", "连不上",
            "cannot connect", "crashes on start", "error 500", "password expired"]
FIXES = ["重启服务后恢复", "在管理后台解锁账号", "清理缓存并重新登录", "更新客户端到最新版本", "联系管理员开通权限",
         "更换硬件", "reset the password in the self-service portal", "reinstall the client"]
QUERIES = ["账号被锁", "OA登录不了", "打印机卡纸了", "vpn cannot connect", "报表导出失败", "的", "系统", "Outlook 报错",
           "考勤系统很慢怎么办", "共享盘没有权限访问"]
OPENING = "您好，我是财务部的张伟，今天早上开始{query}，报错代码 E500，影响我们部门十几个人，麻烦尽快处理，谢谢！"


def seed_articles(store: Store, count: int, rng: random.Random) -> float:
    now = datetime.now(UTC)
    started = time.perf_counter()
    with store.session() as s:
        for i in range(count):
            system, symptom = rng.choice(SYSTEMS), rng.choice(SYMPTOMS)
            create_article(
                s, title=f"{system}{symptom}", problem=f"用户反馈{system}{symptom}，影响{rng.randint(1, 50)}人。"
                f"报错代码 E{rng.randint(100, 999)}。" * rng.randint(1, 4),
                solution="；".join(rng.sample(FIXES, 3)), tags=[system], author="bench@example.com",
                now=now + timedelta(seconds=i),
            )
    return time.perf_counter() - started


def seed_tickets(store: Store, count: int, start: datetime, rng: random.Random) -> None:
    with store.session() as s:
        for i in range(count):
            created = start + timedelta(minutes=rng.randint(0, 30 * 24 * 60))
            system, symptom = rng.choice(SYSTEMS), rng.choice(SYMPTOMS)
            t = Ticket(number=f"TS-B-{i:06d}", subject=f"{system}{symptom}", status=rng.choice(["new", "closed"]),
                       priority=rng.choice(["P1", "P2", "P3", "P4"]), type=rng.choice(["software", "hardware"]),
                       team="software", assignee=f"e{rng.randint(1, 12)}@example.com", reporter="r@example.com",
                       created_at=created, updated_at=created, first_response_at=created + timedelta(hours=2),
                       resolved_at=created + timedelta(hours=20), paused_seconds=0.0, reopen_count=0,
                       escalation_level=0, message_count=1,
                       resolve_due=created + timedelta(hours=24), response_due=created + timedelta(hours=4))
            s.add(t)
            s.flush()
            s.add(Message(ticket_id=t.id, direction="in", message_id=f"<b{i}@bench>", subject=t.subject,
                          text=f"您好，{system}{symptom}，麻烦尽快处理。", created_at=created))


def run(url: str, args: argparse.Namespace) -> None:
    store = empty_store(url)
    rng = random.Random(7)
    write = seed_articles(store, args.articles, rng)
    timings: list[float] = []
    with store.session() as s:
        rows = s.scalar(select(func.count()).select_from(KbTerm)) or 0
        for _ in range(3):
            for q in QUERIES:
                started = time.perf_counter()
                search(s, q, limit=10)
                timings.append((time.perf_counter() - started) * 1000)
        suggesting: list[float] = []
        for _ in range(3):
            for q in QUERIES:
                started = time.perf_counter()
                suggest_articles(s, q, OPENING.format(query=q))
                suggesting.append((time.perf_counter() - started) * 1000)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    seed_tickets(store, args.tickets, start, rng)
    settings = parse_settings({}, ROOT)
    calendar = make_calendar(settings, start.date())
    started = time.perf_counter()
    with store.session() as s:
        fig = compute_figures(s, start, start + timedelta(days=31), calendar, priorities=["P1", "P2", "P3", "P4"])
    report = time.perf_counter() - started
    print(f"{store.dialect:10s} {args.articles} articles written+indexed in {write:.1f} s "
          f"({rows / args.articles:.0f} index rows each); search median {statistics.median(timings):.1f} ms, "
          f"worst {max(timings):.1f} ms; suggestions median {statistics.median(suggesting):.1f} ms, worst "
          f"{max(suggesting):.1f} ms; month of {fig.tickets} tickets: figures in {report:.2f} s, "
          f"{len(fig.recurring)} recurring groups")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.database in ("postgresql", "both"):
        server = pg_server_url()
        if server is None:
            print("postgresql: no server answers (set MAILDESK_TEST_PG)")
            return
        import uuid

        import psycopg

        name = f"maildesk_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            run(server.rsplit("/", 1)[0] + "/" + name, args)
        finally:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
