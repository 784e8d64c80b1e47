"""A real SMTP server on 127.0.0.1 that keeps every mail it accepts: the test double for outbound mail.

Use the ``smtp_sink`` fixture (tests/conftest.py imports it; a module may also import
``smtp_sink as smtp_sink_fixture``),
or build ``SmtpSink(...)`` yourself as a context manager for a server with AUTH.
The failures it can produce are the server's real replies, not mocks:

    sink.fail_next(2, "451 4.3.0 try later")      # the next two DATA commands get 451
    sink.refuse("nobody@example.cn", "550 5.1.1 no such user")   # at RCPT TO
    sink.stop(); ...; sink.start()                # SMTP down, then up on the same port
    sink.drop_at_mail(1)                          # the next MAIL FROM finds the connection cut
    sink.drop_at_mail(1, "421 4.4.1 timed out")   # or is answered so

``noops`` counts the NOOP commands it was sent.

``SmtpSink(delay=0.2)`` answers each DATA after 0.2 s, as a busy server does, serving other
sessions meanwhile; ``peak_data`` is the most DATA commands it was ever answering at once.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Received:
    """One accepted mail: envelope sender, envelope recipients, the bytes after DATA, the client's address."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    peer: tuple[str, int]
    mail_options: tuple[str, ...] = ()


class _Handler:
    """The server's behaviour: keep every accepted envelope, fail or refuse when told to."""

    def __init__(self, delay: float = 0.0) -> None:
        self.messages: list[Received] = []
        self.lock = threading.Lock()  # the server runs in the controller's thread
        self.failures: list[str] = []
        self.refusals: dict[str, str] = {}
        self.delay = delay
        self.in_data = self.peak_data = 0
        self.drops = self.noops = 0
        self.drop_reply: str | None = None

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]) -> str:
        with self.lock:
            drop, self.drops, reply = self.drops > 0, max(self.drops - 1, 0), self.drop_reply
        if drop:
            if reply is not None:
                return reply
            # cut, as a server whose idle timer fired as the command came in: the client never gets this reply
            server.transport.abort()
            return "421 4.4.2 closing connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_NOOP(self, server: Any, session: Any, envelope: Any, arg: str) -> str:
        with self.lock:
            self.noops += 1
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        with self.lock:
            reply = self.refusals.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            with self.lock:
                self.in_data += 1
                self.peak_data = max(self.peak_data, self.in_data)
            await asyncio.sleep(self.delay)  # other sessions go on meanwhile
            with self.lock:
                self.in_data -= 1
        with self.lock:
            if self.failures:
                return self.failures.pop(0)
            self.messages.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content), session.peer,
                         tuple(envelope.mail_options))
            )
        return "250 OK: queued"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 and a free port; ``messages`` lists what it accepted."""

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        delay: float = 0.0,
    ) -> None:
        """``credentials`` offers AUTH; ``tls_context`` offers STARTTLS, or TLS from the first byte;
        ``delay`` is how long each DATA takes to be answered."""
        self.host = "127.0.0.1"
        self.port = _free_port()
        self._handler = _Handler(delay)
        self._credentials = credentials
        self._tls_context = tls_context
        self._implicit_tls = implicit_tls
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.messages)

    @property
    def peak_data(self) -> int:
        """The most DATA commands the server was answering at one time (counted when ``delay`` is set)."""
        with self._handler.lock:
            return self._handler.peak_data

    def fail_next(self, count: int, reply: str) -> None:
        """Answer the next ``count`` DATA commands with ``reply`` (e.g. "451 4.3.0 try later")."""
        with self._handler.lock:
            self._handler.failures.extend([reply] * count)

    def drop_at_mail(self, count: int, reply: str | None = None) -> None:
        """Cut the connection, without a reply, at each of the next ``count`` MAIL FROM commands; or answer them
        with ``reply`` (e.g. "421 4.4.1 connection timed out")."""
        with self._handler.lock:
            self._handler.drops += count
            self._handler.drop_reply = reply

    @property
    def noops(self) -> int:
        """How many NOOP commands the server was sent."""
        with self._handler.lock:
            return self._handler.noops

    def refuse(self, address: str, reply: str) -> None:
        """Refuse ``address`` at RCPT TO with ``reply`` (e.g. "550 5.1.1 no such user") from now on."""
        with self._handler.lock:
            self._handler.refusals[address.lower()] = reply

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and self._credentials is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self._credentials
        )
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself

    def start(self) -> None:
        """Listen (again) on the same port; the old controller's loop is closed, so a new one is made."""
        if self._controller is not None:
            return
        options: dict[str, Any] = {}
        if self._credentials is not None:
            # AUTH over plain text is fine on loopback and spares most tests a certificate.
            options |= {"authenticator": self._authenticate, "auth_require_tls": False}
        if self._tls_context is not None:
            key = "ssl_context" if self._implicit_tls else "tls_context"
            options[key] = self._tls_context
        controller = Controller(
            self._handler, hostname=self.host, port=self.port, server_hostname="sink.test", **options
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening and cut every open connection, as a crashed or restarted server does."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# named in the decorator too, so a test module may import it as ``smtp_sink_fixture``
# and keep ruff's F811 quiet about the test argument of the same name
@pytest.fixture(name="smtp_sink")
def smtp_sink() -> Iterator[SmtpSink]:
    """A running SMTP sink, stopped after the test."""
    with SmtpSink() as sink:
        yield sink
