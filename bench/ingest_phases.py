"""Where intake spends its time: the pipeline on SQLite, no IMAP, each phase timed by a wrapper.

    python bench/ingest_phases.py [--mails 1000]

Feeds generated mails (bench/ingest.py's) straight to the intake pipeline in batches of 50 and
prints milliseconds per mail in total and by phase. The wrappers cost a little themselves,
and phases nest (rendering and composing happen inside the ack and assignment mails).
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

spent: Counter[str] = Counter()


def _time(module: Any, name: str, label: str) -> None:
    original = getattr(module, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - start

    setattr(module, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mails", type=int, default=1000)
    args = parser.parse_args()

    from ingest import make_mails

    from maildesk.app import App
    from maildesk.config import parse_settings
    from maildesk.daemon import intake_pipeline
    from maildesk.desk import steps
    from maildesk.desk.steps import acknowledge, assign, classify, open_ticket, tell_assignee
    from maildesk.ingest import parsing_alongside, pipeline
    from maildesk.ingest.source import SourceMessage
    from maildesk.outbound import outbox
    from maildesk.outbound.templates import Templates
    from tests.desk import desk_settings, write_config

    for module, name, label in [
        (parsing_alongside, "parse_or_error", "parse"), (pipeline, "classify", "loop check"),
        (pipeline, "strip_quoted", "quotes"),
        (pipeline, "named_ticket", "threading"), (classify, "evaluate", "rules"),
        (assign, "choose_assignee", "assignee"), (open_ticket, "create_ticket", "create ticket"),
        (open_ticket, "keep_inbound", "store mail"), (acknowledge, "acks_in_last_hour", "hourly ack limit"),
        (acknowledge, "suggest_articles", "KB suggestions"), (acknowledge, "queue_ack", "ack mail"),
        (tell_assignee, "queue_assignment", "assignment mail"),
        (Templates, "render", "  rendering (in the mails)"), (outbox, "compose", "  composing (in the mails)"),
    ]:
        _time(module, name, label)
    assert steps.STEPS  # the steps call the timed names above

    work = Path(tempfile.mkdtemp(prefix="maildesk-phases-"))
    settings = desk_settings(f"sqlite:///{work / 'bench.db'}")
    write_config(work, settings)
    app = App(parse_settings(settings, work))
    app.upgrade()
    _ = app.desk.rules, app.desk.directory, app.desk.templates
    messages = [SourceMessage(f"bench:{i}", raw) for i, raw in enumerate(make_mails(args.mails))]
    runner = intake_pipeline(app, lambda: datetime(2026, 11, 24, 3, 0, tzinfo=UTC))
    warm = min(20, len(messages))
    runner.process(messages[:warm])
    spent.clear()
    start = time.perf_counter()
    for i in range(warm, len(messages), 50):
        runner.process(messages[i:i + 50])
    count = len(messages) - warm
    total = time.perf_counter() - start
    print(f"{'total':<28} {total / count * 1000:6.2f} ms a mail ({count / total:.0f} mails/s)")
    for label, seconds in spent.most_common():
        print(f"{label:<28} {seconds / count * 1000:6.2f}")
    app.close()


if __name__ == "__main__":
    main()
