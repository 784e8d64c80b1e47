"""IMAP over TLS against a real Dovecot whose certificate a private CA signed: imap.ca_file."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.cli import main
from maildesk.config import load_settings, parse_settings
from maildesk.daemon import Daemon, open_source
from maildesk.errors import ConfigError
from maildesk.ingest.imap_server import ImapConnectionError, ImapError, ImapSettings
from maildesk.ingest.imap_source import ImapSource
from maildesk.store.models import Ticket
from tests.desk import IMAP_PASSWORD_ENV, desk_settings, mail, make_app, write_config
from tests.dovecot import DovecotServer, Mailbox
from tests.tls_certs import TlsCerts
from tests.tls_certs import tls_certs as tls_certs_fixture  # noqa: F401  (pytest finds fixtures by their name)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


@pytest.fixture(scope="module")
def tls_dovecot(tls_certs: TlsCerts) -> Iterator[DovecotServer]:
    """A Dovecot of its own with the CA-signed certificate: STARTTLS on `port`, imaps on `tls_port`."""
    if shutil.which("dovecot") is None:
        pytest.skip("Dovecot is not installed (apt-get install -y dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="maildesk-dovecot-tls-"))
    server = DovecotServer(root, tls=(tls_certs.cert, tls_certs.key))
    server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def tls_mailbox(tls_dovecot: DovecotServer) -> Mailbox:
    """A fresh user on the TLS Dovecot (its helpers append and look over the plain port)."""
    tls_dovecot.start()
    user, password = tls_dovecot.new_user()
    return Mailbox(tls_dovecot, user, password)


def tls_settings(box: Mailbox, security: str, **overrides: object) -> ImapSettings:
    """Settings for the TLS mailbox: imaps port for "ssl", the plain port (upgraded) for "starttls"."""
    port = box.server.tls_port if security == "ssl" else box.port
    values: dict[str, object] = {"port": port, "security": security, "idle": False, "reconnect_attempts": 2}
    return box.settings(**(values | overrides))


def tls_logins(server: DovecotServer, user: str) -> list[str]:
    """Dovecot's log lines of `user`'s logins that went over TLS."""
    lines = server.log_path.read_text(errors="replace").splitlines()
    return [line for line in lines if "Login: " in line and f"user=<{user}>" in line and ", TLS" in line]


class NoSleep:
    """Counts the reconnect pauses asked for; a certificate error must ask for none."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.mark.parametrize("security", ["ssl", "starttls"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_with_the_ca_file_a_tls_login_fetches_and_moves_mail(
    tls_mailbox: Mailbox, tls_certs: TlsCerts, security: str, host: str,
) -> None:
    """With imap.ca_file naming the private CA, TLS from the first byte and STARTTLS both log in
    (the certificate checked, for the address and the name), fetch the mail and move it."""
    # with CRLF line ends, as IMAP stores and returns them
    raw = mail("zhang.wei@example.com", "VPN 无法连接", "从昨天开始 VPN 一直连不上。").replace(b"\n", b"\r\n")
    tls_mailbox.append("INBOX", raw)
    with ImapSource(tls_settings(tls_mailbox, security, host=host, ca_file=str(tls_certs.ca))) as source:
        [fetched] = source.fetch_batch(10)
        assert fetched.raw == raw
        source.mark_done([fetched.source_id])
    assert tls_mailbox.uids("INBOX") == []
    assert list(tls_mailbox.fetch("Processed").values()) == [raw]
    assert tls_logins(tls_mailbox.server, tls_mailbox.user), "Dovecot saw no login over TLS"


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_without_the_ca_file_the_certificate_is_refused_at_once(tls_mailbox: Mailbox, security: str) -> None:
    """The system's trust store does not know the private CA: a clear ImapError naming the server
    and imap.ca_file, at once, without reconnect attempts and without logging in."""
    sleep = NoSleep()
    started = time.monotonic()
    with ImapSource(tls_settings(tls_mailbox, security), sleep=sleep) as source, \
            pytest.raises(ImapError) as raised:
        source.fetch_batch(10)
    assert time.monotonic() - started < 5
    assert type(raised.value) is ImapError  # not ImapConnectionError: retrying cannot help
    message = str(raised.value)
    port = tls_mailbox.server.tls_port if security == "ssl" else tls_mailbox.port
    assert message.startswith(f"TLS certificate of IMAP server {tls_mailbox.host}:{port} refused: ")
    assert "certificate verify failed" in message and "imap.ca_file" in message
    assert sleep.calls == []
    assert not tls_logins(tls_mailbox.server, tls_mailbox.user)


def test_a_ca_that_did_not_sign_the_certificate_is_refused(tls_mailbox: Mailbox, tls_certs: TlsCerts) -> None:
    """A ca_file naming some other CA (here: a certificate that is no CA) does not open the door."""
    with ImapSource(tls_settings(tls_mailbox, "ssl", ca_file=str(tls_certs.cert))) as source, \
            pytest.raises(ImapError, match=r"certificate verify failed.*imap\.ca_file") as raised:
        source.fetch_batch(10)
    assert not isinstance(raised.value, ImapConnectionError)


def test_daemon_ingests_over_tls_with_a_ca_file_beside_the_config(
    tls_mailbox: Mailbox, tls_certs: TlsCerts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The config's imap.ca_file, relative to the config file's folder, reaches the daemon's source:
    a mail over imaps becomes a ticket and moves to Processed."""
    monkeypatch.setenv(IMAP_PASSWORD_ENV, tls_mailbox.password)
    shutil.copyfile(tls_certs.ca, tmp_path / "private-ca.pem")
    settings = desk_settings(
        f"sqlite:///{tmp_path / 'desk.db'}", imap=(tls_mailbox.host, tls_mailbox.port, tls_mailbox.user),
    )
    settings["imap"] |= {"security": "ssl", "port": tls_mailbox.server.tls_port, "ca_file": "private-ca.pem"}
    app = make_app(tmp_path, settings)
    app.upgrade()
    try:
        tls_mailbox.append("INBOX", mail("li.na@example.com", "打印机卡纸", "三楼打印机卡纸了。", name="李娜"))
        daemon = Daemon(app, open_source(app), lambda: NOW)
        try:
            summary = daemon.run_once()
        finally:
            daemon.source.close()
        assert summary.counts() == {"created": 1}, summary.outcomes
        with app.store.session() as s:
            [ticket] = s.scalars(select(Ticket)).all()
            assert ticket.subject == "打印机卡纸"
    finally:
        app.close()
    assert tls_mailbox.uids("INBOX") == [] and len(tls_mailbox.uids("Processed")) == 1
    assert tls_logins(tls_mailbox.server, tls_mailbox.user)


@pytest.mark.parametrize("content", [None, "not a certificate\n", "key"])
def test_a_missing_or_broken_ca_file_is_a_config_error_naming_the_key(
    tmp_path: Path, tls_certs: TlsCerts, content: str | None,
) -> None:
    """imap.ca_file that does not exist, holds no PEM, or holds a key instead is refused when the
    config loads, with the dotted key and the file; ImapSource refuses it too when built."""
    ca = tmp_path / "ca.pem"
    if content == "key":
        shutil.copyfile(tls_certs.key, ca)
    elif content is not None:
        ca.write_text(content)
    with pytest.raises(ConfigError) as raised:
        parse_settings({"imap": {"ca_file": "ca.pem"}}, tmp_path)
    assert raised.value.key == "imap.ca_file"
    assert str(raised.value).startswith("imap.ca_file: ") and str(ca) in str(raised.value)
    with pytest.raises(ConfigError, match=r"^imap\.ca_file: "):
        ImapSource(ImapSettings("127.0.0.1", 993, "ssl", "support", "pw", ca_file=str(ca)))


def test_plain_imap_does_not_read_the_ca_file(tmp_path: Path) -> None:
    """Without TLS no context is built, so a CA file left in the settings is not read."""
    ImapSource(ImapSettings("127.0.0.1", 143, "plain", "support", "pw", ca_file=str(tmp_path / "none.pem")))


def test_cli_exits_2_naming_imap_ca_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config whose imap.ca_file is missing: one line naming the key, exit code 2."""
    config = write_config(tmp_path, {"database": f"sqlite:///{tmp_path / 'desk.db'}",
                                     "imap": {"ca_file": "no-such-ca.pem"}})
    with pytest.raises(ConfigError, match=r"^imap\.ca_file: cannot read CA file .*no-such-ca\.pem"):
        load_settings(config)
    assert main(["--config", str(config), "tickets", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("maildesk: config error: imap.ca_file: cannot read CA file ")
    assert "no-such-ca.pem" in err and "Traceback" not in err


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_over_tls_idle_wakes_for_mail_that_came_before_it_began(
    tls_mailbox: Mailbox, tls_certs: TlsCerts, security: str,
) -> None:
    """Over TLS too, a mail delivered after the last command (told of with IDLE's continuation, in one read)
    ends the wait at once, and with nothing new the wait lasts its time."""
    settings = tls_settings(tls_mailbox, security, ca_file=str(tls_certs.ca), idle=True)
    with ImapSource(settings) as source:
        assert source.fetch_batch(10) == []
        tls_mailbox.append("INBOX", mail("zhang.wei@example.com", "打印机卡纸", "三楼打印机卡纸。"))
        started = time.monotonic()
        source.wait_for_mail(5)
        assert time.monotonic() - started < 1
        [fetched] = source.fetch_batch(10)
        source.mark_done([fetched.source_id])
        assert source.fetch_batch(10) == []
        started = time.monotonic()
        source.wait_for_mail(0.5)
        assert time.monotonic() - started >= 0.45
