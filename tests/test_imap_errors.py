"""IMAP connection errors say what happened: a refused first connection is not "lost during fetch"."""

from __future__ import annotations

import logging

import pytest

from maildesk.ingest.imap_server import ImapConnectionError, ImapSettings
from maildesk.ingest.imap_source import ImapSource
from tests.daemon_process import silent_server
from tests.dovecot import free_port


def test_a_refused_first_connection_says_refused(caplog: pytest.LogCaptureFixture) -> None:
    """Nobody listens on the port: the log and the error say "cannot connect" and "connection refused"."""
    port = free_port()
    source = ImapSource(ImapSettings(host="127.0.0.1", port=port, security="plain", username="desk", password="pw",
                                     reconnect_attempts=2), sleep=lambda _s: None)
    with caplog.at_level(logging.WARNING), pytest.raises(ImapConnectionError) as info:
        source.fetch_batch(10)
    assert "connection refused" in str(info.value) and f"127.0.0.1:{port}" in str(info.value)
    assert f"cannot connect to IMAP server 127.0.0.1:{port}: connection refused" in caplog.text
    assert "lost during" not in caplog.text


def test_a_server_that_never_greets_is_a_timeout_naming_the_key() -> None:
    """A server that accepts and says nothing: the error says no answer within imap.timeout seconds."""
    with silent_server() as port:
        source = ImapSource(ImapSettings(host="127.0.0.1", port=port, security="plain", username="desk",
                                         password="pw", timeout=0.5, reconnect_attempts=1), sleep=lambda _s: None)
        with pytest.raises(ImapConnectionError) as info:
            source.fetch_batch(10)
    assert "no answer within 0.5 s (imap.timeout)" in str(info.value)
