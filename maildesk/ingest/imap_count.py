"""How many mails wait in the intake folder: a read-only look for ``maildesk status``."""

from __future__ import annotations

from imapclient.exceptions import IMAPClientError

from maildesk.ingest import imap_server as server
from maildesk.ingest.imap_server import CONNECTION_ERRORS, ImapConnectionError, ImapSettings


def count_waiting(settings: ImapSettings) -> int:
    """How many mails wait in the intake folder now: a read-only look (EXAMINE), nothing created or moved."""
    context = server.tls_context(settings)
    where = f"{settings.host}:{settings.port}"
    try:
        client = server.open_client(settings, context)
    except CONNECTION_ERRORS as exc:
        raise ImapConnectionError(f"cannot connect to IMAP server {where}: "
                                  f"{server.connection_problem(exc, settings.timeout)}") from None
    try:
        server.start_session(client, settings, context)
        client.select_folder(settings.folder, readonly=True)
        return len(client.search(["NOT", "DELETED"]))
    except CONNECTION_ERRORS as exc:
        raise ImapConnectionError(f"IMAP server {where}: {server.connection_problem(exc, settings.timeout)}") from None
    except IMAPClientError as exc:
        raise server.ImapError(f"IMAP server {where}: {exc}") from None
    finally:
        server.logout_quietly(client)
