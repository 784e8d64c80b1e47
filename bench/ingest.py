"""Intake throughput: realistic mails in a real Dovecot → tickets in SQLite, against the raw ceiling.

    python bench/ingest.py [--sizes 2000,10000] [--database sqlite|postgresql]

For each mailbox size, in fresh processes (so peak RSS is each one's own):
  raw      imapclient fetch in batches + parse_mail of every message: the ceiling
  maildesk the whole pipeline: fetch, parse, loop check, threading, rules, ticket,
           ack and assignment mails composed into the outbox, move to Processed
Prints mails/s, CPU seconds per 1,000 mails, peak RSS, and maildesk/raw.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUBJECTS = [
    "财务部打印机卡纸，无法打印", "ERP 系统登录报错 Error 500", "申请开通 OA 审批权限", "笔记本电脑无法开机",
    "VPN keeps disconnecting", "How to export the monthly report?", "邮箱容量已满无法收信", "建议：OA 增加移动端审批",
    "CRM 客户列表加载很慢", "会议室投影仪没有信号", "共享盘权限申请", "Outlook crashes when opening attachments",
]
BODIES = [
    "您好，\n\n{s}。从今天早上开始出现，已经重启过电脑，问题依旧。\n"
    "报错信息：{code}\n影响范围：本部门约 {n} 人。\n\n谢谢！\n{name}",
    "Hello,\n\n{s}. It started this morning; restarting did not help.\nError: {code}\n{n} people are affected.\n\n"
    "Thanks,\n{name}",
]


def make_mails(n: int, seed: int = 7) -> list[bytes]:
    from tests.desk import mail

    rng = random.Random(seed)
    out = []
    for i in range(n):
        subject = rng.choice(SUBJECTS)
        body = rng.choice(BODIES).format(s=subject, code=f"0x{rng.randrange(1 << 24):06X}", n=rng.randrange(1, 40),
                                         name=f"用户{i}")
        body += "\n" + "日志片段：" + "ABCDEF0123456789" * rng.randrange(20, 200)  # 0.3–3 KB of log
        attachments: tuple[tuple[str, str, bytes], ...] = ()
        if i % 10 == 0:
            attachments = (("报错截图.png", "image/png", rng.randbytes(20_000)),)
        out.append(mail(f"user{i % 997}@example.com", f"{subject} #{i}", body, name=f"用户{i % 997}",
                        message_id=f"<bench{i}@client.example.com>", attachments=attachments))
    return out


def _peak_rss_kb() -> int:
    """This process's own peak RSS in KB.

    ru_maxrss is not: Linux carries the parent's high-water mark across fork and exec,
    so a child of a parent holding 10,000 mails would report the parent's size.
    VmHWM belongs to the process image itself.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def fetch_and_parse_all(port: int, user: str, password: str) -> int:
    """The raw ceiling's work: every mail of the inbox fetched with imapclient in batches of 100 and parsed,
    read-only; returns how many."""
    from imapclient import IMAPClient

    from maildesk.ingest.parse import parse_mail

    with IMAPClient("127.0.0.1", port=port, ssl=False) as client:
        client.login(user, password)
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search(["NOT", "DELETED"]))
        count = 0
        for i in range(0, len(uids), 100):
            for item in client.fetch(uids[i:i + 100], [b"BODY.PEEK[]"]).values():
                parse_mail(item[b"BODY[]"])
                count += 1
    return count


def _child_raw(port: int, user: str, password: str, queue: Any) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    count = fetch_and_parse_all(port, user, password)
    queue.put((count, time.perf_counter() - start, time.process_time() - cpu,
               _peak_rss_kb()))


def _child_maildesk(port: int, user: str, password: str, db_url: str, workdir: str, queue: Any) -> None:
    import os

    from maildesk.app import App
    from maildesk.config import parse_settings
    from maildesk.daemon import intake_pipeline, open_source
    from tests.desk import IMAP_PASSWORD_ENV, desk_settings, write_config
    os.environ[IMAP_PASSWORD_ENV] = password
    settings = desk_settings(db_url, imap=("127.0.0.1", port, user))
    write_config(Path(workdir), settings)
    app = App(parse_settings(settings, Path(workdir)))
    app.upgrade()
    _ = app.desk.rules, app.desk.directory, app.desk.templates  # loaded once at start-up, as the daemon does
    from datetime import UTC, datetime

    source = open_source(app)
    start, cpu = time.perf_counter(), time.process_time()
    outcomes = intake_pipeline(app, lambda: datetime.now(UTC)).drain(source)
    elapsed, cpu_used = time.perf_counter() - start, time.process_time() - cpu
    source.close()
    created = sum(1 for o in outcomes if o.result == "created")
    queue.put((created, elapsed, cpu_used, _peak_rss_kb()))


def _run(target: Any, *args: Any) -> tuple[int, float, float, int]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get(timeout=3600)
    proc.join()
    return result  # type: ignore[no-any-return]


def _database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    import psycopg

    name = f"maildesk_bench_{int(time.time())}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,10000")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    from tests.dovecot import DovecotServer

    root = Path(tempfile.mkdtemp(prefix="maildesk-bench-"))
    server = DovecotServer(root)
    server.start()
    print(f"{'mails':>6} {'what':<9} {'mails/s':>8} {'CPU s/1k':>9} {'peak RSS':>9}  ratio")
    try:
        for n in (int(x) for x in args.sizes.split(",")):
            raws = make_mails(n)
            user, password = server.new_user()
            server.append_many("INBOX", raws, user, password)
            count, wall, cpu, rss = _run(_child_raw, server.port, user, password)
            raw_rate = count / wall
            print(f"{n:>6} {'raw':<9} {raw_rate:>8.0f} {cpu / count * 1000:>9.2f} {rss / 1024:>7.0f}MB")
            workdir = Path(tempfile.mkdtemp(prefix="maildesk-bench-desk-"))
            db_url = _database(args.database, workdir)
            count, wall, cpu, rss = _run(_child_maildesk, server.port, user, password, db_url, str(workdir))
            rate = count / wall
            print(f"{n:>6} {'maildesk':<9} {rate:>8.0f} {cpu / count * 1000:>9.2f} {rss / 1024:>7.0f}MB"
                  f"  {rate / raw_rate:.0%} of raw")
            shutil.rmtree(workdir, ignore_errors=True)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
