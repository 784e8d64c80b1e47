"""`maildesk run` as a process of its own, its log in a file, and the servers that misbehave for real."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.desk import IMAP_PASSWORD_ENV


def children(pid: int) -> list[int]:
    """The process ids of ``pid``'s children (Linux)."""
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def named(pid: int) -> str:
    """The name `ps -e` and `top` show for process ``pid``."""
    return Path(f"/proc/{pid}/comm").read_text().strip()


def ended(pid: int) -> bool:
    """Whether process ``pid`` has ended; a zombie (ended, not yet reaped by its dead parent's reaper) has."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


class DaemonProcess:
    """``maildesk --config CONFIG run [ARGS]`` with its standard error written to ``log_path``."""

    def __init__(self, config: Path, *, imap_password: str = "", args: tuple[str, ...] = ()) -> None:
        self.config = config
        self.log_path = config.parent / "daemon.log"
        env = {k: v for k, v in os.environ.items() if k not in ("MAILDESK_CONFIG", "MAILDESK_DEBUG")}
        env[IMAP_PASSWORD_ENV] = imap_password
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "maildesk", "--config", str(config), "run", *args],
                                        stdout=subprocess.DEVNULL, stderr=self._log, env=env)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, what: Callable[[], bool], timeout: float = 30, label: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if what():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"the daemon ended ({self.process.returncode}) waiting for {label}:\n{self.log()}")
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {label}:\n{self.log()}")

    def wait_for_log(self, text: str, timeout: float = 30) -> None:
        self.wait_for(lambda: text in self.log(), timeout, repr(text))

    def terminate(self, timeout: float = 30) -> tuple[int, float]:
        """SIGTERM; the exit code and how many seconds it took to end."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._log.close()
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


@contextmanager
def tcp_server(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server on 127.0.0.1 that gives every connection it accepts to ``handle``, one after another, on a
    thread of its own until the block ends. Yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            handle(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        listener.close()


@contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts every connection and never says a word: a hung IMAP or
    SMTP server, for real (the client waits on a real socket). Yields its port."""
    held: list[socket.socket] = []
    try:
        with tcp_server(held.append) as port:
            yield port
    finally:
        for conn in held:
            conn.close()
