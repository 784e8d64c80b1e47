"""Logging for the daemon and the intake commands: the desk's time zone, text or JSON lines.

Every line carries its time in the configured zone with the offset (the data says +08:00, so
must the log, whatever zone the machine is in). ``--log-format json`` writes one JSON object a
line for log shippers: ``at``, ``level``, ``logger``, ``message`` and, for a failure, ``error``.
Libraries' routine chatter (APScheduler adding and running jobs, Alembic) is kept at DEBUG.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, tzinfo
from typing import Literal, TextIO

LogFormat = Literal["text", "json"]

# loggers whose INFO lines are routine: "Adding job tentatively", "Running job ...", "Context impl ...",
# "Connection closed"
QUIET_LOGGERS = ("apscheduler", "alembic", "imapclient")
HANDLER_NAME = "maildesk"


def stamp(created: float, tz: tzinfo) -> str:
    """A log record's time in ``tz``, ISO-8601 with milliseconds and the offset."""
    return datetime.fromtimestamp(created, tz).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """``2026-11-23T10:00:00.123+08:00 INFO maildesk.daemon: message``; a failure's traceback follows."""

    def __init__(self, tz: tzinfo) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return stamp(record.created, self.tz)


class JsonFormatter(logging.Formatter):
    """One JSON object a line; a traceback goes into ``error`` so the line stays one line."""

    def __init__(self, tz: tzinfo) -> None:
        super().__init__()
        self.tz = tz

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": stamp(record.created, self.tz),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(tz: tzinfo, *, verbose: bool = False, fmt: LogFormat = "text", stream: TextIO | None = None) -> None:
    """Send maildesk's log to ``stream`` (standard error) in ``fmt``; ``verbose`` shows DEBUG lines,
    the libraries' included."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter(tz) if fmt == "json" else TextFormatter(tz))
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:  # set up twice in one process
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
    # "run of job … skipped: maximum number of running instances reached" is a late job coalescing, as
    # configured; APScheduler's own failures are still logged (a job's are logged by maildesk)
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if verbose else logging.ERROR)
