"""A batch is stored a few mails to a transaction, so that the outbox's sender, which needs SQLite's one write lock
to claim the acknowledgements just queued, gets it while the rest of the batch is still being stored."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from maildesk.daemon import intake_pipeline
from maildesk.ingest.outcome import Result
from maildesk.ingest.pipeline import TRANSACTION_MAILS
from maildesk.ingest.source import SourceMessage
from tests.desk import desk_settings, mail, make_app

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
MAILS = 6 * TRANSACTION_MAILS


# another process's sender, as SQLite sees it: once the batch's first mails are committed, it takes the write lock
# (trying every 2 ms, as the store does) and counts the acknowledgements queued by then
_OTHER_WRITER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        if conn.execute("SELECT count(*) FROM outbox WHERE kind = 'ack'").fetchone()[0]:
            conn.execute("BEGIN IMMEDIATE")
            print(conn.execute("SELECT count(*) FROM outbox WHERE kind = 'ack'").fetchone()[0])
            conn.execute("COMMIT")
            break
    except sqlite3.OperationalError:  # locked: the batch is storing mails
        pass
    time.sleep(0.002)
"""


def test_another_writer_gets_the_lock_while_a_batch_is_being_stored(tmp_path: Path) -> None:
    app = make_app(tmp_path, desk_settings(f"sqlite:///{tmp_path / 'desk.db'}"))
    app.upgrade()
    raws = [mail(f"user{i}@example.com", f"打印机卡纸 #{i}", "三楼的打印机又卡纸了。") for i in range(MAILS)]
    other = subprocess.Popen([sys.executable, "-c", _OTHER_WRITER, str(tmp_path / "desk.db")], stdout=subprocess.PIPE,
                             text=True)
    time.sleep(0.3)  # started, and reading
    outcomes = intake_pipeline(app, lambda: NOW).process([SourceMessage(f"t:{i}", r) for i, r in enumerate(raws)])
    seen = [int(line) for line in other.communicate(timeout=60)[0].split()]
    app.close()
    assert [o.result for o in outcomes] == [Result.CREATED] * MAILS
    # it got in between two of the batch's transactions: some acknowledgements were there to claim, not all
    assert len(seen) == 1 and 0 < seen[0] < MAILS, seen
