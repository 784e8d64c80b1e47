"""Log lines: the desk's time zone with its offset, one JSON object a line for shippers, no library chatter."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from maildesk.logs import setup_logging

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """maildesk's log handler writing into a string; the root logger restored afterwards."""
    root = logging.getLogger()
    level = root.level
    out = io.StringIO()
    yield out
    for handler in [h for h in root.handlers if h.get_name() == "maildesk"]:
        root.removeHandler(handler)
    root.setLevel(level)
    for name in ("apscheduler", "alembic"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_text_lines_carry_the_desk_zone_and_offset(stream: io.StringIO) -> None:
    """Whatever the machine's zone, a text line starts with the time in the desk's zone and its +08:00."""
    setup_logging(SHANGHAI, stream=stream)
    logging.getLogger("maildesk.daemon").info("started")
    line = stream.getvalue().strip()
    assert line.split(" ", 1)[0].endswith("+08:00") and line.endswith("INFO maildesk.daemon: started")


def test_json_lines_are_one_object_each_even_with_a_traceback(stream: io.StringIO) -> None:
    """--log-format json writes one JSON object a line; a failure's traceback is in "error", not on more lines."""
    setup_logging(SHANGHAI, fmt="json", stream=stream)
    log = logging.getLogger("maildesk.pipeline")
    log.warning("quarantined %s", "imap:x;UID=3")
    try:
        raise ValueError("bad\nmail")
    except ValueError:
        log.exception("mail failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "quarantined imap:x;UID=3" and first["level"] == "WARNING"
    assert first["at"].endswith("+08:00") and first["logger"] == "maildesk.pipeline"
    assert "ValueError: bad" in second["error"]


def test_scheduler_chatter_is_debug_only(stream: io.StringIO) -> None:
    """APScheduler's "Adding job" and "Running job" lines are not in the log unless -v."""
    setup_logging(SHANGHAI, stream=stream)
    logging.getLogger("apscheduler.scheduler").info("Adding job tentatively")
    logging.getLogger("apscheduler.executors.default").info('Running job "sla"')
    assert stream.getvalue() == ""
    setup_logging(SHANGHAI, verbose=True, stream=stream)
    logging.getLogger("apscheduler.executors.default").info('Running job "sla"')
    assert "Running job" in stream.getvalue()
