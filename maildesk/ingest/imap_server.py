"""An IMAP server as maildesk talks to it, whoever connects (the intake source, ``maildesk status``):
its settings, the errors it can end in, connecting and logging in, what a failed connection means,
logging out.

The password only goes to LOGIN (or AUTHENTICATE PLAIN); it is never logged nor part of a message.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any, Literal

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from maildesk.config import client_tls_context
from maildesk.errors import ConfigError, MaildeskError

Security = Literal["ssl", "starttls", "plain"]

# a dropped or refused connection: worth reconnecting; any other IMAP error is not
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError, IMAPClientAbortError)


class ImapError(MaildeskError):
    """The IMAP server cannot be used as configured."""


class ImapLoginError(ImapError):
    """The server refused the user name or password; retrying will not help."""


class ImapConnectionError(ImapError):
    """The server could not be reached, even after reconnecting with backoff."""


@dataclass(frozen=True)
class ImapSettings:
    """Where the intake mailbox is and how to treat it; the fields are the config keys."""

    host: str
    port: int
    security: Security
    username: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    batch_size: int = 100
    idle: bool = True
    poll_seconds: float = 60.0
    timeout: float = 30.0
    # PEM file of the CA certificates that verify the server (ssl, starttls); empty: the system's trust store
    ca_file: str = ""
    # connection attempts after a drop (1 s, 2 s, 4 s … 60 s apart) before ImapConnectionError
    reconnect_attempts: int = 10

    def __post_init__(self) -> None:
        if self.security not in ("ssl", "starttls", "plain"):
            raise ConfigError("imap.security", f"must be ssl, starttls or plain, not {self.security!r}")
        if self.batch_size < 1:
            raise ConfigError("imap.batch_size", "must be at least 1")
        if self.reconnect_attempts < 1:
            raise ConfigError("imap.reconnect_attempts", "must be at least 1")
        if len({self.folder, self.processed_folder, self.quarantine_folder}) < 3:
            raise ConfigError("imap.processed_folder", "folder, processed and quarantine folders must differ")


def tls_context(s: ImapSettings) -> ssl.SSLContext | None:
    """The TLS context that verifies the server (None for plain); an unreadable imap.ca_file is a ConfigError."""
    return None if s.security == "plain" else client_tls_context(s.ca_file, "imap.ca_file")


def open_client(s: ImapSettings, context: ssl.SSLContext | None) -> Any:
    """A connection to the server of ``s``, in TLS from the start for ``ssl``; not logged in yet."""
    client = IMAPClient(s.host, port=s.port, ssl=s.security == "ssl", ssl_context=context, timeout=s.timeout)
    # imapclient turns imaplib's protocol trace on (debug 5), and imaplib formats the repr of
    # every response before the logger can drop it: for a fetched mail, twice its size in
    # text and CPU seconds for a big one. maildesk never logs the protocol: turn it off.
    client._imap.debug = 0
    return client


def start_session(client: Any, s: ImapSettings, context: ssl.SSLContext | None) -> None:
    """STARTTLS where ``s`` asks for it, then ``login``."""
    if s.security == "starttls":
        client.starttls(context)
    login(client, s)


def login(client: Any, s: ImapSettings) -> None:
    """LOGIN, or AUTHENTICATE PLAIN for a non-ASCII name or password; ImapLoginError when refused."""
    try:
        if (s.username + s.password).isascii():
            client.login(s.username, s.password)
        elif client.has_capability("AUTH=PLAIN"):
            # LOGIN is ASCII only; AUTHENTICATE PLAIN carries UTF-8 (a Chinese password, say)
            client.plain_login(s.username, s.password)
        else:
            raise ImapLoginError(
                f"IMAP server {s.host}:{s.port} cannot take a user name or password with non-ASCII "
                "characters (it offers no AUTH=PLAIN)"
            )
    except LoginError as exc:
        reply = str(exc)
        # imapclient passes the server's bytes through str(): b'[AUTHENTICATIONFAILED] ...'
        if reply.startswith(("b'", 'b"')):
            reply = reply[2:-1]
        if s.password:
            reply = reply.replace(s.password, "***")
        raise ImapLoginError(
            f"IMAP login as {s.username!r} on {s.host}:{s.port} was refused ({reply}); "
            "check the user name and password in the configuration"
        ) from None


def connection_problem(exc: BaseException, timeout: float) -> str:
    """What a failed connection means, in words an operator can act on."""
    words: tuple[tuple[type[BaseException], str], ...] = (
        (ConnectionRefusedError, "connection refused (is the server running and listening on this port?)"),
        (socket.gaierror, f"host name not found ({getattr(exc, 'strerror', None) or exc})"),
        (TimeoutError, f"no answer within {timeout:g} s (imap.timeout)"),
        (ConnectionResetError, "the server reset the connection"),
        (ssl.SSLError, f"TLS failed: {getattr(exc, 'reason', None) or exc} (is imap.security right for this port?)"),
        (IMAPClientAbortError, "the server closed the connection" + (f" ({exc})" if str(exc) else "")),
    )
    found = next((text for kind, text in words if isinstance(exc, kind)), None)
    if found is None:
        found = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
    return found


def logout_quietly(client: Any) -> None:
    try:
        client.logout()
    except (*CONNECTION_ERRORS, IMAPClientError):
        with contextlib.suppress(OSError):
            client.shutdown()
