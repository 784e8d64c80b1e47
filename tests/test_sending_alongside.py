"""The sender alongside intake is a process of its own: it flushes on each kick, says what it sent, and ends
when told, when its parent dies, or on SIGTERM, cutting a running flush short in the last three cases.

The flushes here are stand-ins that write what they saw to a file (the real flush, over a real SMTP server,
is in tests/test_sending_alongside_e2e.py): what is tested is the process around it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from maildesk.outbound.alongside import Flush, MakeFlush, SendingAlongside
from maildesk.outbound.sender import FlushResult


def _recording(log: Path, *, hold: float = 0.0) -> MakeFlush:
    """A ``make_flush`` whose flush notes the process it ran in, and waits up to ``hold`` s for its stop event
    (a long flush), noting whether it was cut short."""

    def make() -> tuple[Flush, threading.Event]:
        stop = threading.Event()
        with log.open("a") as out:
            out.write(f"made {os.getpid()}\n")

        def flush() -> FlushResult:
            with log.open("a") as out:
                out.write(f"begin {os.getpid()}\n")
            cut = stop.wait(hold) if hold else False
            with log.open("a") as out:
                out.write(f"flush {os.getpid()} {'cut' if cut else 'whole'}\n")
            return FlushResult(sent=2, retrying=1)

        return flush, stop

    return make


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def _wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_each_kick_flushes_in_another_process_and_stop_returns_what_all_the_flushes_sent(tmp_path: Path) -> None:
    log = tmp_path / "log"
    sending = SendingAlongside(_recording(log)).start()
    sending.kick()
    assert _wait_for(lambda: sum(line.startswith("flush") for line in _lines(log)) == 1)
    sending.kick()
    assert _wait_for(lambda: sum(line.startswith("flush") for line in _lines(log)) == 2)
    total = sending.stop()
    assert (total.sent, total.retrying, total.failed) == (4, 2, 0)
    pids = {line.split()[1] for line in _lines(log)}
    assert len(pids) == 1 and str(os.getpid()) not in pids


def test_the_parents_stop_request_cuts_the_running_flush_short(tmp_path: Path) -> None:
    log, stopping = tmp_path / "log", threading.Event()
    sending = SendingAlongside(_recording(log, hold=30.0), stopping=stopping).start()
    sending.kick()
    assert _wait_for(lambda: any(line.startswith("begin") for line in _lines(log)))  # inside the flush
    stopping.set()  # SIGTERM in the daemon
    begun = time.monotonic()
    total = sending.stop()
    assert time.monotonic() - begun < 5
    assert [line.split()[2] for line in _lines(log) if line.startswith("flush")] == ["cut"]
    assert total.sent == 2


def test_a_stop_without_a_stop_request_lets_the_running_flush_finish(tmp_path: Path) -> None:
    log = tmp_path / "log"
    sending = SendingAlongside(_recording(log, hold=1.0)).start()
    sending.kick()
    assert _wait_for(lambda: any(line.startswith("begin") for line in _lines(log)))
    sending.stop()
    assert [line.split()[2] for line in _lines(log) if line.startswith("flush")] == ["whole"]


def _parent(log: str) -> None:
    """A parent that starts a sender, kicks it, and is then killed while the sender's flush runs."""
    sending = SendingAlongside(_recording(Path(log), hold=60.0)).start()
    sending.kick()
    time.sleep(60)


def test_the_sender_ends_and_cuts_its_flush_short_when_its_parent_dies(tmp_path: Path) -> None:
    import multiprocessing

    log = tmp_path / "log"
    parent = multiprocessing.get_context("fork").Process(target=_parent, args=(str(log),))
    parent.start()
    assert _wait_for(lambda: any(line.startswith("begin") for line in _lines(log)))  # inside the flush
    child = int(next(line for line in _lines(log) if line.startswith("made")).split()[1])
    os.kill(parent.pid or 0, signal.SIGKILL)  # no goodbye: the pipe to the sender just closes
    parent.join()
    assert _wait_for(lambda: any(line.startswith("flush") for line in _lines(log)), 5)
    assert [line.split()[2] for line in _lines(log) if line.startswith("flush")] == ["cut"]
    assert _wait_for(lambda: not _alive(child))


def test_sigterm_to_the_sender_cuts_its_flush_short_and_the_parent_still_hears_the_total(tmp_path: Path) -> None:
    log = tmp_path / "log"
    sending = SendingAlongside(_recording(log, hold=60.0)).start()
    sending.kick()
    assert _wait_for(lambda: any(line.startswith("begin") for line in _lines(log)))  # inside the flush
    child = int(next(line for line in _lines(log) if line.startswith("made")).split()[1])
    os.kill(child, signal.SIGTERM)  # systemd sends it to every process of the service
    assert _wait_for(lambda: any(line.startswith("flush") for line in _lines(log)), 5)
    total = sending.stop()
    assert [line.split()[2] for line in _lines(log) if line.startswith("flush")] == ["cut"]
    assert total.sent == 2


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (ended, not yet reaped by its dead parent's reaper) counts as ended
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False
