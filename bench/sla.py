"""SLA sweep cost over 100,000 open tickets, on SQLite and on PostgreSQL.

    python bench/sla.py [--tickets 100000] [--database sqlite|postgresql|both]

The desk is in steady state, as if the daemon had been sweeping every minute: tickets opened
over the last three weeks (P1 2 %, P2 10 %, P3 48 %, P4 40 %; a tenth waiting on the
reporter), escalation levels and next progress times as the sweep leaves them. A warm-up sweep
one minute before the measured moment sends what is already due (reminders in their window,
the hour's digests). Then, on Wednesday 16 Sept 2026 from 10:07 Shanghai time:

  busy   one sweep a minute for five minutes: what the policy calls for in a minute
         (P1 hourly and P2 four-hourly progress, rungs, reminders entering their window)
  idle   a second sweep at the last moment: nothing is due, so this is the selection cost
  hour   the sweep at 11:00, which also builds the hourly digest over all open tickets
  17:00  (--summary) the daily summary: one mail per open P3/P4 ticket whose reporter heard
         nothing that day, the sweep whose cost is its mail (issue #14: under 1 s per 1,000
         mails); also how long the longest chunk's transaction held the database

Prints seconds per sweep and mails queued. PostgreSQL: 127.0.0.1:5432, user postgres
(trust); the bench creates its own database and drops it afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PRIORITIES = (("P1", 2), ("P2", 10), ("P3", 48), ("P4", 40))
STATUSES = (("new", 5), ("assigned", 25), ("in_progress", 45), ("waiting_team", 8), ("waiting_user", 10),
            ("testing", 7))
ENGINEERS = ("liu.yang@example.com", "sun.hao@example.com", "zhou.min@example.com")


def _rows(app: Any, n: int, now: datetime, seed: int = 16) -> list[dict[str, Any]]:
    """Ticket rows as the intake and the sweep would have left them at ``now``."""
    from maildesk.sla import compute_deadlines, escalation_due

    rng = random.Random(seed)
    cal, targets, daily_at = app.desk.calendar_on(now.date()), app.desk.targets, app.settings.sla.daily_summary_at
    pris = [p for p, w in PRIORITIES for _ in range(w)]
    stats = [s for s, w in STATUSES for _ in range(w)]
    rows = []
    for i in range(n):
        created = now - timedelta(minutes=rng.randrange(10, 21 * 24 * 60))
        priority, status = rng.choice(pris), rng.choice(stats)
        target = targets[priority]
        due = compute_deadlines(created, target, cal)
        level, next_esc = 0, None
        for step in target.escalation:
            at = escalation_due(created, step, cal)
            if at > now:
                next_esc = at
                break
            level += 1
        if target.progress_hours is None:
            next_progress = cal.next_local_time(now, daily_at)
        else:  # somewhere in the coming cadence, as the last mail left it
            next_progress = cal.add_business_seconds(now, rng.uniform(1, target.progress_hours * 3600))
        waiting = status == "waiting_user"
        answered = status not in ("new", "assigned") or rng.random() < 0.5
        rows.append({
            "number": f"TS-20260901-{i:06d}", "subject": f"ERP 报错 {i}", "status": status, "priority": priority,
            "type": "software", "team": "software", "assignee": ENGINEERS[i % 3] if status != "new" else None,
            "reporter": f"user{i % 5000}@example.com", "reporter_name": f"用户{i % 5000}", "reply_token": f"{i:016x}",
            "created_at": created, "updated_at": created,
            "first_response_at": created + timedelta(minutes=30) if answered else None,
            "start_due": due.start_due, "response_due": due.response_due, "resolve_due": due.resolve_due,
            "escalation_level": level, "next_escalation_at": None if waiting else next_esc,
            "next_progress_at": None if waiting else next_progress,
            "paused_at": now - timedelta(hours=2) if waiting else None, "paused_seconds": 0.0,
            "tags": [], "flags": [], "watchers": [], "language": "zh", "channel": "email",
            "reopen_count": 0, "message_count": 1,
        })
    return rows


def _populate(app: Any, n: int, now: datetime) -> float:
    from sqlalchemy import insert

    from maildesk.store.models import Ticket

    started = time.perf_counter()
    rows = _rows(app, n, now)
    with app.store.session() as session:
        for i in range(0, len(rows), 5000):
            session.execute(insert(Ticket), rows[i:i + 5000])
    if app.store.dialect == "postgresql":
        with app.store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    else:
        with app.store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def _timed(app: Any, now: datetime) -> tuple[float, int]:
    from maildesk.sweep import run_sweep

    started = time.perf_counter()
    queued = run_sweep(app.desk, app.store, now).queued
    return time.perf_counter() - started, len(queued)


def _timed_chunks(app: Any, now: datetime) -> tuple[float, int, float]:
    """(seconds, mails, the longest transaction in seconds): a sweep chunk holds the database while it runs."""
    from maildesk.store.db import Store

    longest = [0.0]
    session = Store.session

    def timed(store: Any) -> Any:
        from contextlib import contextmanager

        @contextmanager
        def held() -> Any:
            begun = time.perf_counter()
            with session(store) as s:
                yield s
            longest[0] = max(longest[0], time.perf_counter() - begun)
        return held()

    Store.session = timed  # type: ignore[assignment,method-assign]
    try:
        seconds, mails = _timed(app, now)
    finally:
        Store.session = session  # type: ignore[method-assign]
    return seconds, mails, longest[0]


def bench(kind: str, n: int, with_summary: bool = False) -> dict[str, Any]:
    from maildesk.app import App
    from maildesk.config import parse_settings
    from tests.desk import desk_settings, write_config

    tmp = Path(tempfile.mkdtemp(prefix="bench-sla-"))
    pg_name = f"maildesk_bench_sla_{os.getpid()}"
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'desk.db'}"
    else:
        import psycopg

        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        url = PG_SERVER.rsplit("/", 1)[0] + "/" + pg_name
    settings = desk_settings(url)
    write_config(tmp, settings)
    app = App(parse_settings(settings, tmp))
    try:
        app.upgrade()
        tz = app.settings.tz
        now = datetime(2026, 9, 16, 10, 7, tzinfo=tz).astimezone(UTC)  # a Wednesday
        populate = _populate(app, n, now)
        warm = _timed(app, now - timedelta(minutes=1))
        busy = [_timed(app, now + timedelta(minutes=k)) for k in range(5)]
        idle = _timed(app, now + timedelta(minutes=4))
        for minute in range(12, 60):  # the daemon keeps sweeping up to the hour
            _timed(app, datetime(2026, 9, 16, 10, minute, tzinfo=tz))
        hour = _timed(app, datetime(2026, 9, 16, 11, 0, tzinfo=tz))
        summary = None
        if with_summary:
            _timed(app, datetime(2026, 9, 16, 16, 59, tzinfo=tz))
            summary = _timed_chunks(app, datetime(2026, 9, 16, 17, 0, tzinfo=tz))
        return {"database": kind, "tickets": n, "populate_s": populate, "warmup": warm, "busy": busy,
                "idle": idle, "hour": hour, "summary": summary}
    finally:
        app.close()
        if kind == "postgresql":
            import psycopg

            with psycopg.connect(PG_SERVER, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--summary", action="store_true", help="also the 17:00 daily summary sweep")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print(f"SLA sweep over {args.tickets:,} open tickets ({os.cpu_count()} cores)")
    for kind in kinds:
        r = bench(kind, args.tickets, args.summary)
        busy_s = [s for s, _ in r["busy"]]
        busy_n = [q for _, q in r["busy"]]
        print(f"\n{kind}: populated in {r['populate_s']:.1f} s")
        print(f"  warm-up sweep   {r['warmup'][0]:6.2f} s  {r['warmup'][1]:5d} mails (the backlog due before 10:07)")
        print(f"  busy sweep      {statistics.median(busy_s):6.3f} s median (min {min(busy_s):.3f}, "
              f"max {max(busy_s):.3f})  {statistics.mean(busy_n):5.0f} mails/sweep")
        print(f"  idle sweep      {r['idle'][0]:6.3f} s  {r['idle'][1]:5d} mails (selection cost)")
        print(f"  11:00 sweep     {r['hour'][0]:6.3f} s  {r['hour'][1]:5d} mails (with the hourly digest)")
        if r["summary"] is not None:
            seconds, mails, longest = r["summary"]
            print(f"  17:00 sweep     {seconds:6.2f} s  {mails:5d} mails (the daily summary): "
                  f"{seconds / max(mails, 1) * 1000:.2f} s per 1,000 mails (goal < 1); longest transaction "
                  f"{longest:.2f} s")


if __name__ == "__main__":
    main()
