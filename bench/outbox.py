"""The outbox sender: duplicates under slow SMTP with two senders, and throughput against a fast server.

    python bench/outbox.py [--quick] [--mails 600] [--delay 0.7] [--lease 120] [--throughput 2000]
                           [--latency 0.02] [--latency-mails 400] [--rtt 0.01]
                           [--database sqlite|postgresql|both]

duplicates  the security issue's scenario: MAILS queued mails, an SMTP server answering each DATA
            after DELAY seconds (serving other sessions meanwhile), two sender processes that
            flush again a second after each flush, as two daemons on one database do, until
            nothing is pending. Prints the Message-IDs the server got more than once (must be 0)
            and how long it took. --quick: 120 mails. --lease shortens the lease to see renewal work.
throughput  one flush of N mails against a server answering at once: the sender as it was (one
            connection, a commit per mail; kept below as ``old_flush``, the baseline), then
            smtp.connections = 1 and 4. Prints mails/s and each against the baseline. Then the
            same with a server taking LATENCY seconds per mail (20 ms), as a busy one does, and
            with a server RTT seconds away (10 ms), reached through a relay that holds every
            chunk half of it each way, as a distant one is: each SMTP command is a round trip.

The SMTP server (aiosmtpd, tests/smtp_sink.py) runs in a process of its own, so it does not
share the senders' interpreter lock. PostgreSQL: where a server answers on 127.0.0.1:5432 (or
MAILDESK_TEST_PG names one); the bench makes its own database and drops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import queue as queue_module
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, or_, select, update  # noqa: E402

from maildesk.config import SmtpConfig  # noqa: E402
from maildesk.outbound.sender import flush_outbox_sync  # noqa: E402
from maildesk.outbound.transport import (  # noqa: E402
    PermanentFailure,
    SmtpTransport,
    TemporaryFailure,
    Transport,
)
from maildesk.store.db import Store  # noqa: E402
from maildesk.store.models import OutboxMail  # noqa: E402
from tests.databases import empty_store, pg_server_url  # noqa: E402
from tests.outbox_rows import queue  # noqa: E402

CTX = multiprocessing.get_context("spawn")  # children build their own engines and event loops


def now() -> datetime:
    return datetime.now(UTC)


# ---- the SMTP server, in a process of its own ---------------------------------------------------------------------


def _serve(conn: Connection, delay: float, rtt: float) -> None:
    from tests.outbox_rows import received_ids
    from tests.smtp_sink import SmtpSink

    with SmtpSink(delay=delay) as sink:
        conn.send(_distant(sink.host, sink.port, rtt) if rtt else (sink.host, sink.port))
        while conn.recv() == "ids":
            conn.send(dict(received_ids(sink)))


def _distant(host: str, port: int, rtt: float) -> tuple[str, int]:
    """A relay to (host, port) that holds every chunk rtt/2 seconds each way, as a network between two sites does
    (each command and its reply cost one round trip); its address. It runs in a thread of its own until exit."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            loop = asyncio.get_running_loop()
            while True:
                due, data = await held.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not data:
                    writer.close()
                    return
                writer.write(data)

        sending = asyncio.create_task(deliver())
        while True:
            data = await reader.read(65536)
            held.put_nowait((asyncio.get_running_loop().time() + rtt / 2, data))
            if not data:
                break
        await sending

    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(host, port)
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w), return_exceptions=True)

    ready: queue_module.Queue[tuple[str, int]] = queue_module.Queue()

    async def run() -> None:
        server = await asyncio.start_server(relay, "127.0.0.1", 0)
        ready.put(server.sockets[0].getsockname()[:2])
        await server.serve_forever()

    threading.Thread(target=asyncio.run, args=(run(),), daemon=True).start()
    return ready.get()


@contextmanager
def smtp_server(delay: float, rtt: float = 0.0) -> Iterator[tuple[tuple[str, int], Callable[[], dict[str, int]]]]:
    """((host, port), a function returning how often the server took each Message-ID); ``rtt``: the server is
    reached through a relay adding that round trip time."""
    mine, theirs = CTX.Pipe()
    process = CTX.Process(target=_serve, args=(theirs, delay, rtt), daemon=True)
    process.start()
    address: tuple[str, int] = mine.recv()

    def ids() -> dict[str, int]:
        mine.send("ids")
        got: dict[str, int] = mine.recv()
        return got

    try:
        yield address, ids
    finally:
        mine.send("stop")
        process.join(10)


# ---- databases ----------------------------------------------------------------------------------------------------


@contextmanager
def database(kind: str) -> Iterator[str]:
    """An empty, migrated database of ``kind``, removed afterwards."""
    if kind == "sqlite":
        with TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            empty_store(url).close()
            yield url
        return
    import psycopg

    server = pg_server_url()
    assert server is not None
    name = f"maildesk_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.rsplit("/", 1)[0] + "/" + name
    try:
        empty_store(url).close()
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def smtp_config(address: tuple[str, int], **values: Any) -> SmtpConfig:
    return SmtpConfig.model_validate({"host": address[0], "port": address[1], "security": "plain",
                                      "timeout": 30.0, **values})


def transports(address: tuple[str, int]) -> Callable[[], Transport]:
    return lambda: SmtpTransport(address[0], address[1], security="plain", timeout=30.0)


def pending(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).where(OutboxMail.status == "pending")) or 0)


# ---- (1) duplicates: two senders, slow SMTP ----------------------------------------------------------------------


def _sender(url: str, address: tuple[str, int], lease: float, out: Any) -> None:
    store = Store(url)
    sent = 0
    try:
        while pending(store):
            sent += flush_outbox_sync(store, transports(address), smtp_config(address, lease_seconds=lease), now).sent
            time.sleep(1.0)  # the next flush of a daemon comes later (after intake, or the 30-second job)
    finally:
        store.close()
        out.put(sent)


def duplicates(kind: str, mails: int, delay: float, lease: float) -> None:
    with database(kind) as url, smtp_server(delay) as (address, received):
        store = Store(url)
        ids = queue(store, mails, now())
        out = CTX.Queue()
        start = time.perf_counter()
        senders = [CTX.Process(target=_sender, args=(url, address, lease, out)) for _ in range(2)]
        for p in senders:
            p.start()
        for p in senders:
            p.join()
        seconds = time.perf_counter() - start
        got = received()
        left = pending(store)
        store.close()
    twice = sum(1 for n in got.values() if n > 1)
    missing = sum(1 for i in ids if i not in got)
    counts = sorted(out.get() for _ in senders)
    print(f"{kind:10} duplicates: {mails} mails at {delay} s each, 2 senders x 4 connections, lease {lease:g} s: "
          f"{twice} sent twice, {missing} never sent, {left} pending; senders sent {counts[0]} + {counts[1]}; "
          f"{seconds:.1f} s")


# ---- (2) throughput -----------------------------------------------------------------------------------------------


def old_flush(store: Store, transport: Transport, smtp: SmtpConfig, clock: Callable[[], datetime]) -> int:
    """The sender before this change, as it was: 500 rows claimed for 5 minutes, one connection, and each
    result committed on its own. Returns how many were sent."""
    sent = 0

    async def run() -> None:
        nonlocal sent
        try:
            while True:
                with store.session() as session:
                    t = clock()
                    stmt = (select(OutboxMail).where(
                        OutboxMail.status == "pending", OutboxMail.next_attempt_at <= t,
                        or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < t))
                        .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(500))
                    if store.dialect == "postgresql":
                        stmt = stmt.with_for_update(skip_locked=True)
                    rows = list(session.scalars(stmt))
                    if rows:
                        session.execute(update(OutboxMail).where(OutboxMail.id.in_([r.id for r in rows]))
                                        .values(claimed_until=t + timedelta(minutes=5)))
                for row in rows:
                    try:
                        await transport.send(row.raw, row.sender, row.to_addrs)
                    except (TemporaryFailure, PermanentFailure):
                        continue
                    with store.session() as session:
                        session.execute(update(OutboxMail).where(OutboxMail.id == row.id).values(
                            claimed_until=None, status="sent", attempts=row.attempts + 1, sent_at=clock(),
                            last_error=""))
                    sent += 1
                if len(rows) < 500:
                    break
        finally:
            await transport.close()

    asyncio.run(run())
    return sent


def _timed(kind: str, mails: int, flush: Callable[[Store], int]) -> float:
    with database(kind) as url:
        store = Store(url)
        queue(store, mails, now())
        start = time.perf_counter()
        sent = flush(store)
        seconds = time.perf_counter() - start
        store.close()
    assert sent == mails, (sent, mails)
    return mails / seconds


def _new_flush(address: tuple[str, int], connections: int) -> Callable[[Store], int]:
    smtp = smtp_config(address, connections=connections)
    return lambda store: flush_outbox_sync(store, transports(address), smtp, now).sent


def throughput(kind: str, mails: int, latency: float = 0.0, rtt: float = 0.0) -> None:
    with smtp_server(latency, rtt) as (address, _received):
        cases: list[tuple[str, Callable[[Store], int]]] = [
            ("before: 1 connection, a commit per mail",
             lambda store: old_flush(store, transports(address)(), smtp_config(address), now)),
            ("smtp.connections = 1, results per group", _new_flush(address, 1)),
            ("smtp.connections = 4, results per group", _new_flush(address, 4)),
        ]
        rates = [(label, _timed(kind, mails, flush)) for label, flush in cases]
    base = rates[0][1]
    server = f"server answering after {latency * 1000:g} ms" if latency else "server answering at once"
    if rtt:
        server = f"server {rtt * 1000:g} ms away (round trip)"
    for label, rate in rates:
        print(f"{kind:10} throughput: {mails} mails, {server}, {label:42} {rate:7.0f} mails/s  x{rate / base:.2f}")


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return f"{os.cpu_count()} cores ({model}), Python {sys.version.split()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="120 mails in the duplicates run")
    parser.add_argument("--mails", type=int, default=600)
    parser.add_argument("--delay", type=float, default=0.7, help="seconds the slow server takes per mail")
    parser.add_argument("--lease", type=float, default=120.0, help="smtp.lease_seconds of the two senders")
    parser.add_argument("--throughput", type=int, default=2000, help="mails in each throughput flush (0: skip)")
    parser.add_argument("--latency", type=float, default=0.02,
                        help="seconds a second throughput run's server takes per mail, as a remote one does (0: skip)")
    parser.add_argument("--latency-mails", type=int, default=400)
    parser.add_argument("--rtt", type=float, default=0.01,
                        help="round trip seconds to a third run's server, reached through a relay (0: skip)")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    if "postgresql" in kinds and pg_server_url() is None:
        print("no PostgreSQL server answers: SQLite only")
        kinds.remove("postgresql")
    print(machine())
    for kind in kinds:
        duplicates(kind, 120 if args.quick else args.mails, args.delay, args.lease)
    if args.throughput:
        for kind in kinds:
            throughput(kind, args.throughput)
    if args.latency:
        for kind in kinds:
            throughput(kind, args.latency_mails, args.latency)
    if args.rtt:
        for kind in kinds:
            throughput(kind, args.latency_mails, rtt=args.rtt)


if __name__ == "__main__":
    main()
