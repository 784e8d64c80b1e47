"""What SQLite's page size costs a desk whose mail carries attachments: mail-sized values written as intake
writes them, at 4 KB pages (SQLite's default, and desks made before 16 KB), 16 KB (maildesk's own,
``SQLITE_PAGE_BYTES``) and 64 KB.

    python bench/sqlite_pages.py [--runs 5] [--transactions 80]

Each transaction writes five attachments of 50 KB to 1.2 MB, each three times (as a mail's bytes, the decoded
file and a mail that carries it), about 9 MB; the database is SQLite in WAL mode with synchronous=FULL, as
maildesk opens it (``maildesk.store.db``). The sizes are run in turn, each on a fresh file in a temporary
folder on the same disk, so that the machine's changes of speed fall on all of them; the figures are the
medians of the wall time, of the time in COMMIT (where the WAL is written, synced and checkpointed) and of the
CPU, each with its ratio to 4 KB.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

SIZES = (4096, 16384, 65536)


def one_run(folder: Path, page_size: int, transactions: int, values: list[bytes]) -> tuple[float, float, float]:
    """Wall seconds, seconds in COMMIT, CPU seconds."""
    path = folder / f"pages-{page_size}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA page_size={page_size}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE mail (id INTEGER PRIMARY KEY, data BLOB)")
    start, cpu, committing = time.perf_counter(), time.process_time(), 0.0
    for t in range(transactions):
        conn.execute("BEGIN IMMEDIATE")
        for i in range(5):
            value = values[(t * 5 + i) % len(values)]
            for _ in range(3):
                conn.execute("INSERT INTO mail (data) VALUES (?)", (value,))
        begun = time.perf_counter()
        conn.execute("COMMIT")
        committing += time.perf_counter() - begun
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    conn.close()
    return wall, committing, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--transactions", type=int, default=80)
    args = parser.parse_args()
    rng = random.Random(11)
    values = [rng.randbytes(rng.randrange(50_000, 1_200_000)) for _ in range(40)]
    written = sum(len(values[(t * 5 + i) % len(values)]) * 3 for t in range(args.transactions) for i in range(5))
    print(f"{args.transactions} transactions, {written / 1e6:.0f} MB written, {args.runs} runs of each page size")
    figures: dict[int, list[tuple[float, float, float]]] = {size: [] for size in SIZES}
    with tempfile.TemporaryDirectory(prefix="maildesk-pages-", dir=Path.cwd()) as folder:
        for _ in range(args.runs):
            for size in SIZES:
                figures[size].append(one_run(Path(folder), size, args.transactions, values))
    medians = {size: [statistics.median(run[k] for run in runs) for k in range(3)] for size, runs in figures.items()}
    base = medians[SIZES[0]]
    print(f"{'page':>6} {'wall s':>8} {'commit s':>9} {'CPU s':>7}   ratios to 4 KB (wall, commit, CPU)")
    for size, (wall, commit, cpu) in medians.items():
        print(f"{size:>6} {wall:>8.2f} {commit:>9.2f} {cpu:>7.2f}   "
              f"{wall / base[0]:.2f}, {commit / base[1]:.2f}, {cpu / base[2]:.2f}")


if __name__ == "__main__":
    main()
