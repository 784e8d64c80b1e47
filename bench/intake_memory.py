"""Peak memory of intake with huge mails: a real Dovecot holding N mails of ~57 MB each.

    python bench/intake_memory.py [--mails 5,20] [--mb 57] [--database sqlite|postgresql]

Each mail is a short Chinese text and one big base64 attachment of random bytes (every mail a
different file, so nothing is deduplicated). For each mailbox size, in fresh processes (so peak
RSS is each one's own, read from VmHWM):
  floor     the app loaded and the mailbox opened, nothing taken in: what the libraries cost
  run once  Daemon.run_once, the `run --once` path: every mail to a ticket with its ack
Prints the peak RSS of each, the run's excess over the floor, and that excess per MB of the
largest mail (how many copies of one mail are alive at the worst moment).
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

MB = 1024 * 1024


def big_mail(index: int, size_mb: float) -> bytes:
    """A mail of about ``size_mb`` MB: a text part and a base64 attachment of random bytes."""
    # base64 with CRLF every 76 characters: 78 bytes of mail for every 57 bytes of file
    data = os.urandom(int(size_mb * MB * 57 / 78))
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    head = (
        f"From: =?utf-8?b?{base64.b64encode('张伟'.encode()).decode()}?= <zhang{index}@example.com>\r\n"
        "To: support@example.com\r\n"
        f"Subject: =?utf-8?b?{base64.b64encode(f'数据库备份文件 {index}'.encode()).decode()}?=\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0800\r\n"
        f"Message-ID: <big{index}.{os.urandom(4).hex()}@client.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="=_big_boundary"\r\n\r\n'
        "--=_big_boundary\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + "备份文件恢复失败，附上导出的数据库文件，请帮忙看一下。\r\n".encode() + (
        b"--=_big_boundary\r\n"
        b"Content-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="backup.bin"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
    )
    return head + encoded + b"--=_big_boundary--\r\n"


def _peak_rss_kb() -> int:
    """This process's own peak RSS in KB (VmHWM; ru_maxrss would carry the parent's over fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child(port: int, user: str, password: str, db_url: str, workdir: str, drain: bool, queue: Any) -> None:
    from datetime import UTC, datetime

    from maildesk.app import App
    from maildesk.config import parse_settings
    from maildesk.daemon import Daemon, open_source
    from tests.desk import IMAP_PASSWORD_ENV, desk_settings, write_config

    os.environ[IMAP_PASSWORD_ENV] = password
    settings = desk_settings(db_url, imap=("127.0.0.1", port, user))
    write_config(Path(workdir), settings)
    app = App(parse_settings(settings, Path(workdir)))
    app.upgrade()
    _ = app.desk.rules, app.desk.directory, app.desk.templates  # loaded at start-up, as the daemon does
    source = open_source(app, once=True)
    daemon = Daemon(app, source, lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    start = time.perf_counter()
    created = 0
    if drain:
        summary = daemon.run_once()
        created = sum(1 for o in summary.outcomes if o.result == "created")
    else:
        source.fetch_batch(0)  # connect and log in, take nothing
    elapsed = time.perf_counter() - start
    source.close()
    app.close()
    queue.put((created, elapsed, _peak_rss_kb()))


def _run(*args: Any) -> tuple[int, float, int]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(*args, queue))
    proc.start()
    result = queue.get(timeout=3600)
    proc.join()
    return result  # type: ignore[no-any-return]


PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def _database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    import psycopg

    name = f"maildesk_bench_mem_{time.time_ns()}_{os.getpid()}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_SERVER.rsplit("/", 1)[0] + "/" + name


def _drop(db_url: str) -> None:
    if db_url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_url.rsplit("/", 1)[1]}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mails", default="5,20", help="mailbox sizes, comma-separated")
    parser.add_argument("--mb", type=float, default=57.0, help="size of each mail in MB")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    from tests.dovecot import DovecotServer

    root = Path(tempfile.mkdtemp(prefix="maildesk-bench-mem-"))
    server = DovecotServer(root)
    server.start()
    print(f"{'mails':>5} {'MB each':>7} {'what':<9} {'tickets':>7} {'seconds':>7} {'peak RSS':>9} "
          f"{'over floor':>10} {'per MB of mail':>14}")
    try:
        for n in (int(x) for x in args.mails.split(",")):
            user, password = server.new_user()
            with server.client(user, password) as client:
                for i in range(n):
                    client.append("INBOX", big_mail(i, args.mb))
            for drain in (False, True):
                workdir = Path(tempfile.mkdtemp(prefix="maildesk-bench-mem-desk-"))
                db_url = _database(args.database, workdir)
                created, elapsed, rss = _run(server.port, user, password, db_url, str(workdir), drain)
                if not drain:
                    floor = rss
                    print(f"{n:>5} {args.mb:>7.0f} {'floor':<9} {'':>7} {'':>7} {rss / 1024:>7.0f}MB")
                else:
                    over = (rss - floor) / 1024
                    print(f"{n:>5} {args.mb:>7.0f} {'run once':<9} {created:>7} {elapsed:>7.1f} "
                          f"{rss / 1024:>7.0f}MB {over:>8.0f}MB {over / args.mb:>13.1f}x")
                _drop(db_url)
                shutil.rmtree(workdir, ignore_errors=True)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
