"""Mail from an IMAP folder: batched UID FETCH, MOVE to a processed folder, IDLE, reconnects.

Nothing is ever deleted from the server: processed mail is moved to
`processed_folder`, mail a human must see to `quarantine_folder`. The server's settings, errors
and login are in ``maildesk.ingest.imap_server``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from imapclient import DELETED
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from maildesk.ingest.imap_server import (
    CONNECTION_ERRORS,
    ImapConnectionError,
    ImapError,
    ImapSettings,
    connection_problem,
    logout_quietly,
    open_client,
    start_session,
    tls_context,
)
from maildesk.ingest.source import SourceMessage

log = logging.getLogger(__name__)

T = TypeVar("T")
# servers keep an IDLE up to 30 minutes (RFC 2177); stay under it
MAX_IDLE_SECONDS = 25 * 60
# Untagged responses that say the folder grew. A server syncs a session's view of the folder at the
# end of each command: a mail that arrives between two commands is not in the next SEARCH's result
# but is told of at that SEARCH's end, and imapclient leaves such news in imaplib's store. IDLE
# would not tell of it again, so the wait would last until the next mail or the poll interval.
_NEWS = ("EXISTS", "RECENT")
# UIDs per MOVE/COPY command, so a huge mark_done stays a sane command line
UIDS_PER_COMMAND = 500


class ImapSource:
    """A MailSource over one IMAP folder; connects on first use."""

    def __init__(
        self,
        settings: ImapSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        use_move: bool | None = None,
    ) -> None:
        """`use_move`: None asks the server (MOVE capability); False forces COPY + EXPUNGE."""
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._use_move_wanted = use_move
        self._client: Any = None
        self._use_move = False
        self._uidplus = False
        self._uidvalidity: int | None = None
        self._handed_out: set[int] = set()
        self._reselect = False
        self._id_prefix = f"imap:{settings.username}@{settings.host}/{settings.folder};"
        # built now: an unreadable CA file is a config error at start-up, not a connection failure later
        self._ssl_context = tls_context(settings)

    # --- MailSource ------------------------------------------------------------------------

    def fetch_batch(self, limit: int, max_bytes: int | None = None) -> list[SourceMessage]:
        if limit < 1:
            return []
        return self._call("fetch", lambda client: self._fetch(client, limit, max_bytes))

    def mark_done(self, source_ids: Sequence[str]) -> None:
        if not source_ids:
            return
        folder = self.settings.processed_folder
        moved = self._call("mark_done", lambda client: self._move(client, self._uids_of(source_ids), folder))
        log.debug("moved %d message(s) to %s", moved, folder)

    def quarantine(self, source_id: str, reason: str) -> None:
        folder = self.settings.quarantine_folder
        moved = self._call("quarantine", lambda client: self._move(client, self._uids_of([source_id]), folder))
        if moved:
            log.warning("quarantined %s in %s: %s", source_id, folder, reason)

    def wait_for_mail(self, timeout: float) -> None:
        self._handed_out.clear()
        self._reselect = True
        if timeout <= 0:
            return
        # after a reconnect, return at once: mail may have come while the connection was down
        idled = self._call("IDLE", lambda client: self._idle(client, timeout), after_reconnect=lambda _: True)
        if not idled:
            self._sleep(min(timeout, self.settings.poll_seconds))

    def close(self) -> None:
        self._drop()

    def abort(self) -> None:
        """Close the connection without a LOGOUT, which a server that stopped answering would never answer."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError):
                client.shutdown()

    def __enter__(self) -> ImapSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- connection ------------------------------------------------------------------------

    def connect(self) -> None:
        """Log in, create the processed and quarantine folders if missing, select the intake folder."""
        if self._client is not None:
            return
        s = self.settings
        try:
            client = open_client(s, self._ssl_context)
        except ssl.SSLCertVerificationError as exc:
            raise self._certificate_error(exc) from exc
        try:
            start_session(client, s, self._ssl_context)
            for folder in (s.processed_folder, s.quarantine_folder):
                _ensure_folder(client, folder)
            selected = client.select_folder(s.folder)
        except BaseException as exc:
            logout_quietly(client)
            if isinstance(exc, ssl.SSLCertVerificationError):
                raise self._certificate_error(exc) from exc
            if isinstance(exc, IMAPClientError) and not isinstance(exc, IMAPClientAbortError):
                raise ImapError(f"IMAP server {s.host}:{s.port} refused the set-up of {s.folder!r}: {exc}") from exc
            raise
        self._client = client
        _forget_news(client)  # the SELECT's own count: the next SEARCH looks at the whole folder
        wanted = self._use_move_wanted
        self._use_move = client.has_capability("MOVE") if wanted is None else wanted
        self._uidplus = bool(client.has_capability("UIDPLUS"))
        self._note_uidvalidity(int(selected[b"UIDVALIDITY"]))
        self._reselect = False
        log.info("IMAP connected to %s@%s:%s, folder %s", s.username, s.host, s.port, s.folder)

    def _certificate_error(self, exc: ssl.SSLCertVerificationError) -> ImapError:
        # an OSError, yet no reconnect will fix it: say so at once instead of retrying
        s = self.settings
        hint = (f"is imap.ca_file ({s.ca_file}) the CA that signed it?" if s.ca_file
                else "if a private CA signed it, name that CA's PEM file in imap.ca_file")
        return ImapError(f"TLS certificate of IMAP server {s.host}:{s.port} refused: {exc}; {hint}")

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            logout_quietly(client)

    def _call(self, what: str, operation: Callable[[Any], T], after_reconnect: Callable[[Any], T] | None = None) -> T:
        """Run `operation` on a live connection; on a dropped one, reconnect and run it once more."""
        where = f"{self.settings.host}:{self.settings.port}"
        connected = self._client is not None
        try:
            self.connect()
            return operation(self._client)
        except CONNECTION_ERRORS as exc:
            if connected:
                log.warning("IMAP connection to %s lost during %s (%s); reconnecting", where, what,
                            connection_problem(exc, self.settings.timeout))
            else:
                log.warning("cannot connect to IMAP server %s: %s; trying again", where,
                            connection_problem(exc, self.settings.timeout))
            self._drop()
        except IMAPClientError as exc:
            raise ImapError(f"IMAP {what} on {where} failed: {exc}") from exc
        self._reconnect()
        try:
            return (after_reconnect or operation)(self._client)
        except CONNECTION_ERRORS as exc:
            self._drop()
            raise ImapConnectionError(f"IMAP {what} on {where} failed twice: "
                                      f"{connection_problem(exc, self.settings.timeout)}") from exc
        except IMAPClientError as exc:
            raise ImapError(f"IMAP {what} on {where} failed: {exc}") from exc

    def _reconnect(self) -> None:
        """Connect again: at once, then after 1 s, 2 s, 4 s … up to 60 s between attempts."""
        delay = 1.0
        last: BaseException | None = None
        for attempt in range(self.settings.reconnect_attempts):
            if attempt:
                self._sleep(delay)
                delay = min(delay * 2, 60.0)
            try:
                self.connect()
                return
            except CONNECTION_ERRORS as exc:
                last = exc
                log.warning("IMAP connection attempt %d to %s:%s failed: %s", attempt + 1, self.settings.host,
                            self.settings.port, connection_problem(exc, self.settings.timeout))
        reason = connection_problem(last, self.settings.timeout) if last is not None else "no attempt made"
        raise ImapConnectionError(
            f"cannot reach IMAP server {self.settings.host}:{self.settings.port} after "
            f"{self.settings.reconnect_attempts} attempts: {reason}"
        )

    def _note_uidvalidity(self, value: int) -> None:
        if self._uidvalidity is not None and value != self._uidvalidity:
            # the UIDs we knew now name other messages; offer everything again, Message-IDs deduplicate
            log.warning(
                "UIDVALIDITY of %s changed from %d to %d; messages will be offered again",
                self.settings.folder,
                self._uidvalidity,
                value,
            )
            self._handed_out.clear()
        self._uidvalidity = value

    # --- operations on a live connection ---------------------------------------------------

    def _fetch(self, client: Any, limit: int, max_bytes: int | None) -> list[SourceMessage]:
        if self._reselect:
            # a new pass: SELECT again, as some servers (Dovecot) keep showing a folder that was
            # deleted and recreated under a session; the fresh UIDVALIDITY reveals it
            self._note_uidvalidity(int(client.select_folder(self.settings.folder)[b"UIDVALIDITY"]))
            self._reselect = False
        _forget_news(client)  # what came before is in this SEARCH's result; what comes after, in the store
        uids = sorted(client.search(["NOT", "DELETED"]))
        wanted = [uid for uid in uids if uid not in self._handed_out][:limit]
        if max_bytes is not None and len(wanted) > 1:
            # sizes first (a few bytes a message), so that only what fits is downloaded
            sizes: dict[int, dict[bytes, Any]] = client.fetch(wanted, [b"RFC822.SIZE"])
            wanted = _fitting(wanted, [int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0)) for uid in wanted], max_bytes)
        messages: list[SourceMessage] = []
        size = self.settings.batch_size
        for start in range(0, len(wanted), size):
            chunk = wanted[start : start + size]
            data: dict[int, dict[bytes, Any]] = client.fetch(chunk, [b"BODY.PEEK[]"])
            for uid in chunk:
                body = data.get(uid, {}).get(b"BODY[]")
                if body is None:  # moved or expunged by someone else since the SEARCH
                    continue
                messages.append(SourceMessage(self._source_id(uid), bytes(body)))
        # only now: a fetch cut short by a dropped connection is retried whole
        self._handed_out.update(wanted)
        return messages

    def _move(self, client: Any, uids: list[int], folder: str) -> int:
        for start in range(0, len(uids), UIDS_PER_COMMAND):
            chunk = uids[start : start + UIDS_PER_COMMAND]
            try:
                self._move_chunk(client, chunk, folder)
            except IMAPClientAbortError:
                raise
            except IMAPClientError as exc:
                if "EXPUNGEISSUED" not in str(exc):
                    raise
                # another client removed some of them: a NOOP lets the server tell us, after which
                # MOVE/COPY skip the missing UIDs (a gone UID is no error: the pipeline is done with it)
                client.noop()
                self._move_chunk(client, chunk, folder)
        return len(uids)

    def _move_chunk(self, client: Any, uids: list[int], folder: str) -> None:
        if self._use_move:
            client.move(uids, folder)
            return
        client.copy(uids, folder)
        client.add_flags(uids, [DELETED], silent=True)
        if self._uidplus:
            client.uid_expunge(uids)
        else:
            # without UIDPLUS this also expunges mail others flagged \Deleted: the best IMAP4rev1 allows
            client.expunge()

    def _idle(self, client: Any, timeout: float) -> bool:
        """Wait in IDLE until the folder grows or `timeout` passes; False when IDLE is not to be used."""
        if any(client._imap.untagged_responses.get(news) for news in _NEWS):
            return True  # mail came after the last SEARCH: no wait (see _NEWS)
        if not (self.settings.idle and client.has_capability("IDLE")):
            return False
        deadline = self._clock() + min(timeout, MAX_IDLE_SECONDS)
        while (remaining := deadline - self._clock()) > 0:
            client.idle()
            told = False
            try:
                told = _news_in_buffer(client) or _tells_of_mail(client.idle_check(timeout=remaining))
            finally:
                # imapclient's idle_check reports a closed connection as "nothing yet"; ending the
                # IDLE raises on a dead connection instead of spinning until the deadline
                told = _tells_of_mail(client.idle_done()[1]) or told
            if told:
                break
            # woken by something else (a keep-alive, a flag change): idle again for the rest
        return True

    # --- source ids ------------------------------------------------------------------------

    def _source_id(self, uid: int) -> str:
        return f"{self._id_prefix}UIDVALIDITY={self._uidvalidity};UID={uid}"

    def _uids_of(self, source_ids: Sequence[str]) -> list[int]:
        """The UIDs these ids name in the folder as it is now; ids of other folders or epochs are skipped."""
        uids: list[int] = []
        for source_id in source_ids:
            rest = source_id.removeprefix(self._id_prefix)
            validity, _, uid = rest.partition(";UID=")
            if rest == source_id or not validity.startswith("UIDVALIDITY=") or not uid.isdigit():
                log.warning("not a message of %s, left alone: %s", self._id_prefix, source_id)
            elif validity != f"UIDVALIDITY={self._uidvalidity}":
                log.warning("UIDVALIDITY changed since %s was fetched; left in %s", source_id, self.settings.folder)
            else:
                uids.append(int(uid))
        return sorted(set(uids))


def _tells_of_mail(responses: Sequence[tuple[Any, ...]]) -> bool:
    return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)


_NEWS_LINE = re.compile(rb"\* \d+ (EXISTS|RECENT)\b")


def _news_in_buffer(client: Any) -> bool:
    """Whether the server told of new mail in the same read as IDLE's continuation ("+ idling"). A mail that
    came after the last command is told of as IDLE begins (Dovecot sends it with the continuation); imaplib
    reads both into its buffer at once, and ``idle_check``, which waits on the socket, never looks there: the
    wait lasted until the next mail or the timeout. The complete lines found there are read (up to a literal,
    which is left to imaplib); nothing waits on the socket."""
    imap = client._imap
    sock = client.socket()
    timeout = sock.gettimeout()
    sock.setblocking(False)  # a peek at an empty buffer tries the socket once: it must not wait
    news = False
    try:
        while True:
            try:
                buffered = imap.file.peek(1)
            except (BlockingIOError, ssl.SSLWantReadError):
                break
            end = buffered.find(b"\n")
            if end < 0 or buffered[:end].rstrip(b"\r").endswith(b"}"):  # no whole line, or a literal follows
                break
            news = _NEWS_LINE.match(imap._get_line()) is not None or news
    finally:
        sock.settimeout(timeout)
    return news


def _forget_news(client: Any) -> None:
    """Drop the folder-grew news the server has sent so far (``_NEWS``)."""
    for news in _NEWS:
        client._imap.untagged_responses.pop(news, None)


def _fitting(uids: list[int], sizes: list[int], max_bytes: int) -> list[int]:
    """The leading UIDs whose sizes add up to at most `max_bytes`, and always the first one."""
    total = 0
    for count, size in enumerate(sizes):
        total += size
        if count and total > max_bytes:
            return uids[:count]
    return uids


def _ensure_folder(client: Any, folder: str) -> None:
    if client.folder_exists(folder):
        return
    try:
        client.create_folder(folder)
    except IMAPClientError:
        # another client (or another maildesk) may have created it a moment ago
        if not client.folder_exists(folder):
            raise
    log.info("created IMAP folder %s", folder)
