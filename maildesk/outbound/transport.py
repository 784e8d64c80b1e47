"""How composed bytes leave the machine: SMTP, or the console / a folder for trying things out.

A transport answers every send in one of three ways, and the outbox acts on it:

* it returns a ``SendResult``: the server took the mail for ``accepted``; any
  ``refused`` recipients (partial refusal) will not get it, and retrying the whole
  mail would send it twice to the others, so the outbox records them instead
  (``SendResult.temporary_refusals`` lists those worth a new mail to them alone);
  a partial refusal is also logged as a warning;
* it raises ``TemporaryFailure``: try again later (4xx replies, refused or broken
  connections, timeouts, and anything failing before the mail transaction starts:
  greeting, EHLO, STARTTLS, AUTH, whatever the code, since those are the server's
  or the configuration's fault, not the mail's, and once the operator fixes them
  the mail must still go out);
* it raises ``PermanentFailure``: the server refused this mail with a 5xx reply in
  the transaction (MAIL FROM, DATA, or RCPT TO for every recipient); retrying
  cannot help.

Error messages name the server, the SMTP code and its text, never the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import logging
import re
import socket
import ssl
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, Self, TextIO, cast

import aiosmtplib
from aiosmtplib.protocol import normalize_message_line_endings

from maildesk.errors import ConfigError, MaildeskError

__all__ = [
    "ConsoleTransport",
    "FileTransport",
    "PermanentFailure",
    "SendResult",
    "SmtpTransport",
    "TemporaryFailure",
    "Transport",
    "make_transport",
]

log = logging.getLogger(__name__)

Security = Literal["plain", "starttls", "ssl"]


class TemporaryFailure(MaildeskError):
    """The mail was not sent but may be later; ``code`` is the SMTP reply code when there was one."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        self.reason, self.code = reason, code
        super().__init__(reason)


class PermanentFailure(MaildeskError):
    """The server refused the mail for good; ``refused`` maps each refused address to its reply."""

    def __init__(self, reason: str, code: int | None = None, refused: Mapping[str, str] | None = None) -> None:
        self.reason, self.code = reason, code
        self.refused: Mapping[str, str] = dict(refused or {})
        super().__init__(reason)


@dataclass(frozen=True)
class SendResult:
    """What the server took: ``accepted`` addresses and ``refused`` ones with their reply ("550 ...")."""

    accepted: tuple[str, ...]
    refused: Mapping[str, str] = field(default_factory=dict)

    @property
    def temporary_refusals(self) -> tuple[str, ...]:
        """Refused addresses whose reply was 4xx: a new mail to them alone may get through later."""
        return tuple(addr for addr, reply in self.refused.items() if reply.startswith("4"))


class Transport(Protocol):
    """Sends raw message bytes to the envelope recipients."""

    async def send(self, raw: bytes, sender: str, recipients: Sequence[str]) -> SendResult:
        """Deliver ``raw`` as is; raise TemporaryFailure or PermanentFailure when it was not taken."""
        ...

    async def close(self) -> None:
        """Release whatever the transport keeps open between sends (a no-op for most)."""
        ...


def _reply(code: int, message: str) -> str:
    return f"{code} {' '.join(message.split())}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _reply(exc.code, exc.message)
    return f"{type(exc).__name__}: {exc}"


def _code(exc: BaseException) -> int | None:
    return exc.code if isinstance(exc, aiosmtplib.SMTPResponseException) else None


class SmtpTransport:
    """Sends through one SMTP server, reusing one connection for consecutive sends.

    The connection opens on the first ``send`` and stays open: a batch of sends pays
    one handshake. Servers drop idle clients: one whose closing was seen is replaced
    before use, and one that turns out gone (or answers 421) at MAIL FROM, the first
    command of a mail, is replaced and the mail sent over the new one, so
    no mail fails for it. (A NOOP before each mail found such connections too, at a
    round trip a mail.) Call ``close()`` (or use ``async with transport:``) when the
    batch is done.
    """

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        local_hostname: str | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in ("plain", "starttls", "ssl"):
            raise ConfigError("security", f"expected plain, starttls or ssl, got {security!r}")
        if not host:
            raise ConfigError("host", "the SMTP server's host name is empty")
        if password is not None and username is None:
            raise ConfigError("username", "a password is set but no username")
        if timeout <= 0:
            raise ConfigError("timeout", f"must be positive, got {timeout}")
        self.host, self.port, self.security = host, port, security
        self.username, self.timeout = username, timeout
        self._password = password
        # The EHLO name: strict servers refuse "localhost". Looked up once here, not by
        # aiosmtplib on every connect, where a slow resolver would stall the event loop.
        self._local_hostname = local_hostname or socket.getfqdn()
        self._tls_context = tls_context
        self._client: aiosmtplib.SMTP | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        user = f", username={self.username!r}" if self.username else ""
        return f"SmtpTransport({self.host!r}, {self.port}, {self.security!r}{user})"

    @property
    def _where(self) -> str:
        return f"SMTP {self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _drop(self) -> None:
        """Forget the connection without a QUIT: its state is unknown or its loop is gone."""
        if self._client is not None:
            with contextlib.suppress(RuntimeError, OSError):  # RuntimeError: the event loop is closed
                self._client.close()
        self._client = self._client_loop = None

    async def _connection(self) -> tuple[aiosmtplib.SMTP, bool]:
        """The kept connection unless its closing was seen (True: kept), else a new one; TemporaryFailure when
        no connection can be made."""
        loop = asyncio.get_running_loop()
        if self._client is not None:
            # A connection made under another event loop (an earlier asyncio.run) is unusable.
            if self._client_loop is loop and self._client.is_connected:
                return self._client, True
            self._drop()
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self._password,
            timeout=self.timeout,
            use_tls=self.security == "ssl",
            # False, not None: "plain" must not upgrade on its own, "ssl" is TLS already.
            start_tls=self.security == "starttls",
            local_hostname=self._local_hostname,
            tls_context=self._tls_context,
        )
        try:
            await client.connect()
            if client.is_ehlo_or_helo_needed:  # (no STARTTLS or AUTH made it say EHLO) before SIZE is looked up
                try:
                    await client.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await client.helo()
        except (aiosmtplib.SMTPException, OSError) as exc:
            # aiosmtplib leaves the socket open when the greeting, STARTTLS or AUTH fails.
            client.close()
            # Greeting, EHLO, STARTTLS or AUTH failed: the server's or the configuration's
            # fault, never the mail's, so even a 5xx here must not fail the mail for good.
            reason = f"{self._where}: {_describe(exc)}{self._certificate_hint(exc)}"
            raise TemporaryFailure(reason, _code(exc)) from None
        except BaseException:
            client.close()
            raise
        self._client, self._client_loop = client, loop
        return client, False

    async def send(self, raw: bytes, sender: str, recipients: Sequence[str]) -> SendResult:
        """Deliver ``raw`` unchanged; see the module docstring for what each outcome means."""
        if not recipients:
            raise PermanentFailure("no recipients to send to")
        async with self._lock:
            client, kept = await self._connection()
            try:
                try:
                    errors = await _transaction(client, raw, sender, recipients)
                except _Unanswered as gone:
                    if not kept:
                        raise
                    # the kept connection was gone: a new one takes the mail, of which nothing was sent
                    log.debug("%s: the kept connection was gone at MAIL FROM (%s); sending over a new one",
                              self._where, _describe(gone.cause))
                    self._drop()
                    client, _ = await self._connection()
                    errors = await _transaction(client, raw, sender, recipients)
            except _Unanswered as exc:
                self._drop()
                raise TemporaryFailure(f"{self._where}: {_describe(exc.cause)}", _code(exc.cause)) from None
            except aiosmtplib.SMTPRecipientsRefused as exc:
                raise self._all_refused(exc) from None
            except aiosmtplib.SMTPResponseException as exc:
                # The server answered inside the transaction, which is reset (a refused MAIL FROM
                # began none), so the connection stays usable (the next MAIL FROM tells if it is not).
                if 500 <= exc.code < 600:
                    raise PermanentFailure(f"{self._where}: {_describe(exc)}", exc.code) from None
                self._drop()
                raise TemporaryFailure(f"{self._where}: {_describe(exc)}", exc.code) from None
            except (aiosmtplib.SMTPException, OSError) as exc:  # reset, timeout mid-transaction
                self._drop()
                raise TemporaryFailure(f"{self._where}: {_describe(exc)}") from None
            except ValueError as exc:  # an address aiosmtplib cannot put in the envelope
                raise PermanentFailure(f"{self._where}: bad envelope address: {exc}") from None
            except asyncio.CancelledError:
                self._drop()  # cancelled mid-dialogue: the connection's state is unknown
                raise
        refused = {addr: _reply(resp.code, resp.message) for addr, resp in errors.items()}
        accepted = tuple(r for r in recipients if r not in refused)
        if refused:
            log.warning(
                "%s took the mail for %s but refused %s",
                self._where,
                ", ".join(accepted),
                "; ".join(f"{addr}: {reply}" for addr, reply in refused.items()),
            )
        return SendResult(accepted=accepted, refused=refused)

    def _certificate_hint(self, exc: BaseException) -> str:
        """What to check when the server's certificate was refused (aiosmtplib wraps it for implicit TLS)."""
        if not (isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc)):
            return ""
        if self._tls_context is not None:
            return "; is smtp.ca_file the CA that signed the server's certificate?"
        return "; if a private CA signed the server's certificate, name that CA's PEM file in smtp.ca_file"

    def _all_refused(self, exc: aiosmtplib.SMTPRecipientsRefused) -> MaildeskError:
        refused = {r.recipient: _reply(r.code, r.message) for r in exc.recipients}
        listing = "; ".join(f"{addr}: {reply}" for addr, reply in refused.items())
        if all(500 <= r.code < 600 for r in exc.recipients):
            return PermanentFailure(f"{self._where}: every recipient refused: {listing}", refused=refused)
        return TemporaryFailure(f"{self._where}: every recipient refused: {listing}")

    async def close(self) -> None:
        """Say QUIT and close the kept connection, if any."""
        async with self._lock:
            client, loop = self._client, asyncio.get_running_loop()
            if client is None or self._client_loop is not loop:
                self._drop()
                return
            protocol = client.protocol
            if client.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await client.quit()
            self._drop()
            # A TLS connection finishes closing a few loop turns later; wait for it (briefly),
            # or a caller's asyncio.run may end first and leave the socket open.
            deadline = loop.time() + 1.0
            while protocol is not None and protocol.transport is not None and loop.time() < deadline:
                await asyncio.sleep(0.01)


class _Unanswered(Exception):
    """MAIL FROM got no reply, or 421: the connection was gone before anything of the mail was sent."""

    def __init__(self, cause: BaseException) -> None:
        self.cause = cause
        super().__init__(str(cause))


async def _transaction(
    client: aiosmtplib.SMTP, raw: bytes, sender: str, recipients: Sequence[str]
) -> dict[str, aiosmtplib.SMTPRecipientRefused]:
    """One mail: MAIL FROM, RCPT TO each recipient, DATA; the refused recipients. On a reply that ends the
    mail after MAIL FROM, RSET and raise aiosmtplib's error (``SMTPRecipientsRefused`` when every recipient
    was refused).

    aiosmtplib's ``sendmail`` does the same, but rewrites the whole message's line endings once more to
    announce its size, and parses every address twice (with the NOOP this replaced, a tenth of the sender's
    CPU for 4,000 short mails). Its ``mail`` and ``rcpt`` parse each address once (``_mail``, ``_rcpt``)."""
    options = [f"SIZE={_size_on_the_wire(raw)}"] if client.supports_extension("size") else []
    try:
        await _mail(client, sender, options)
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, ConnectionError) as exc:
        raise _Unanswered(exc) from exc
    except aiosmtplib.SMTPSenderRefused as exc:
        if exc.code == 421:  # closing the connection (an idle timer, a restart): as gone
            raise _Unanswered(exc) from exc
        raise
    try:
        refused: dict[str, aiosmtplib.SMTPRecipientRefused] = {}
        for address in recipients:
            try:
                await _rcpt(client, address)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused[address] = exc
        if len(refused) == len(recipients):
            raise aiosmtplib.SMTPRecipientsRefused(list(refused.values()))
        await client.data(raw)
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused, ValueError):
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):  # leave the connection ready for the next
            await client.rset()
        raise
    return refused


# An address as the outbox holds them: a dot-atom local part and a domain of ASCII letters, digits and hyphens.
# aiosmtplib's ``mail`` and ``rcpt`` quote such an address as ``<address>`` after parsing it with the standard
# library's ``parseaddr``, a tenth of the sender's CPU; any other address goes that way.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


async def _mail(client: aiosmtplib.SMTP, sender: str, options: Sequence[str]) -> None:
    """MAIL FROM, raising as ``client.mail`` does."""
    if not _PLAIN_ADDRESS.fullmatch(sender):
        await client.mail(sender, options=options)
        return
    response = await client.execute_command(b"MAIL", b"FROM:<%s>" % sender.encode(), *(o.encode() for o in options))
    if response.code != 250:
        raise aiosmtplib.SMTPSenderRefused(response.code, response.message, sender)


async def _rcpt(client: aiosmtplib.SMTP, recipient: str) -> None:
    """RCPT TO, raising as ``client.rcpt`` does."""
    if not _PLAIN_ADDRESS.fullmatch(recipient):
        await client.rcpt(recipient)
        return
    response = await client.execute_command(b"RCPT", b"TO:<%s>" % recipient.encode())
    if response.code not in (250, 251):
        raise aiosmtplib.SMTPRecipientRefused(response.code, response.message, recipient)


def _size_on_the_wire(raw: bytes) -> int:
    """The SIZE of ``raw`` as DATA sends it (RFC 1870: line ends as CRLF, the last line ended). Composed mail
    has CRLF ends already, which three counts show without rewriting it."""
    crlf = raw.count(b"\r\n")
    if raw.count(b"\n") == crlf == raw.count(b"\r"):
        return len(raw) + (0 if raw.endswith(b"\r\n") else 2)
    return len(normalize_message_line_endings(raw))


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


class ConsoleTransport:
    """Prints each mail readably (headers, the text part, attachment names) instead of sending it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, raw: bytes, sender: str, recipients: Sequence[str]) -> SendResult:
        msg = _parse(raw)
        out = self._stream if self._stream is not None else sys.stdout
        lines = [f"===== mail from {sender} to {', '.join(recipients)} ====="]
        for name in ("From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To"):
            if msg[name] is not None:
                lines.append(f"{name}: {msg[name]}")
        body = msg.get_body(preferencelist=("plain", "html"))
        lines.append("")
        lines.append(cast(str, body.get_content()).rstrip("\n") if body is not None else "(no text part)")
        for part in msg.iter_attachments():
            size = len(cast(bytes, part.get_payload(decode=True) or b""))
            lines.append(f"[attachment: {part.get_filename() or '(unnamed)'}, {part.get_content_type()}, {size} bytes]")
        lines.append("=" * 20)
        out.write("\n".join(lines) + "\n")
        out.flush()
        return SendResult(accepted=tuple(recipients))

    async def close(self) -> None:
        """Nothing to release."""


class FileTransport:
    """Writes each mail unchanged to ``<directory>/<UTC timestamp>-<n>.eml`` instead of sending it."""

    def __init__(self, directory: str | Path, clock: Callable[[], datetime] | None = None) -> None:
        self.directory = Path(directory)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._count = 0

    async def send(self, raw: bytes, sender: str, recipients: Sequence[str]) -> SendResult:
        stamp = self._clock().astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            while True:
                self._count += 1
                path = self.directory / f"{stamp}-{self._count}.eml"
                try:
                    with path.open("xb") as fh:  # "x": never overwrite an earlier run's mail
                        fh.write(raw)
                    break
                except FileExistsError:
                    continue
        except OSError as exc:  # disk full, no permission: the outbox keeps the mail for later
            raise TemporaryFailure(f"file transport {self.directory}: {exc}") from None
        log.debug("wrote mail from %s to %s as %s", sender, ", ".join(recipients), path)
        return SendResult(accepted=tuple(recipients))

    async def close(self) -> None:
        """Nothing to release."""


def make_transport(kind: str, **settings: Any) -> Transport:
    """Build a transport by name: ``smtp``, ``console`` or ``file``, with that class's keyword settings."""
    kinds: dict[str, Callable[..., Transport]] = {
        "smtp": SmtpTransport,
        "console": ConsoleTransport,
        "file": FileTransport,
    }
    factory = kinds.get(kind)
    if factory is None:
        raise ConfigError("transport", f"unknown transport {kind!r}; choose one of {', '.join(sorted(kinds))}")
    try:
        return factory(**settings)
    except TypeError as exc:  # a missing or misspelt setting; the message names it
        raise ConfigError(f"transport.{kind}", str(exc)) from None
