"""The outbox over SMTP with TLS to a real aiosmtpd server whose certificate a private CA signed: smtp.ca_file."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from maildesk.app import App
from maildesk.cli import main
from maildesk.config import parse_settings
from maildesk.daemon import Daemon
from maildesk.errors import ConfigError
from maildesk.outbound.outbox import Outgoing, queue_mail
from maildesk.store.models import OutboxMail
from tests.desk import desk_settings, make_app, write_config
from tests.smtp_sink import SmtpSink
from tests.tls_certs import TlsCerts
from tests.tls_certs import tls_certs as tls_certs_fixture  # noqa: F401  (pytest finds fixtures by their name)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
REPORTER = "zhang.wei@example.com"


@pytest.fixture(params=["starttls", "ssl"])
def tls_sink(request: pytest.FixtureRequest, tls_certs: TlsCerts) -> Iterator[tuple[SmtpSink, str]]:
    """An SMTP server presenting the CA-signed certificate: STARTTLS, or TLS from the first byte."""
    security: str = request.param
    with SmtpSink(tls_context=tls_certs.server_context(), implicit_tls=security == "ssl") as sink:
        yield sink, security


def desk(folder: Path, sink: SmtpSink, security: str, ca_file: str | None) -> App:
    """An installation in `folder` sending through `sink`, with `ca_file` (relative to the config) if given."""
    smtp: dict[str, object] = {"security": security}
    if ca_file is not None:
        smtp["ca_file"] = ca_file
    settings = desk_settings(f"sqlite:///{folder / 'desk.db'}", smtp=(sink.host, sink.port))
    settings["smtp"] |= smtp
    app = make_app(folder, settings)
    app.upgrade()
    return app


def queue_one(app: App) -> bytes:
    """Put one mail in the outbox; its bytes."""
    with app.store.session() as session:
        row = queue_mail(session, app.settings, Outgoing(kind="notice", to=[REPORTER], subject="服务器维护通知",
                                                         text="今晚 22:00 维护。"), now=NOW)
        assert row is not None
        return row.raw


def outbox(app: App) -> list[OutboxMail]:
    with app.store.session() as session:
        return list(session.scalars(select(OutboxMail)))


def test_outbox_mail_goes_out_over_tls_with_the_private_ca(
    tmp_path: Path, tls_certs: TlsCerts, tls_sink: tuple[SmtpSink, str],
) -> None:
    """smtp.ca_file (relative to the config file) names the CA: the mail is delivered over TLS."""
    sink, security = tls_sink
    shutil.copyfile(tls_certs.ca, tmp_path / "private-ca.pem")
    app = desk(tmp_path, sink, security, "private-ca.pem")
    try:
        raw = queue_one(app)
        result = Daemon.flush_only(app, lambda: NOW)
        assert (result.sent, result.retrying, result.failed) == (1, 0, 0)
        [row] = outbox(app)
        assert row.status == "sent" and row.last_error == ""
    finally:
        app.close()
    [received] = sink.messages
    assert received.content == raw and received.rcpt_tos == (REPORTER,)


def test_without_the_ca_file_the_mail_waits_with_a_certificate_error(
    tmp_path: Path, tls_sink: tuple[SmtpSink, str],
) -> None:
    """The system's trust store does not know the private CA: nothing is sent, the mail stays in
    the outbox for a retry, and its last error says the certificate was refused and names smtp.ca_file."""
    sink, security = tls_sink
    app = desk(tmp_path, sink, security, None)
    try:
        queue_one(app)
        result = Daemon.flush_only(app, lambda: NOW)
        assert (result.sent, result.retrying, result.failed) == (0, 1, 0)
        [row] = outbox(app)
    finally:
        app.close()
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error.startswith(f"SMTP {sink.host}:{sink.port}: ")
    assert "certificate verify failed" in row.last_error and "smtp.ca_file" in row.last_error
    assert sink.messages == []


def test_a_ca_that_did_not_sign_the_certificate_is_refused(
    tmp_path: Path, tls_certs: TlsCerts, tls_sink: tuple[SmtpSink, str],
) -> None:
    """smtp.ca_file naming something else than the signing CA does not let the mail through."""
    sink, security = tls_sink
    shutil.copyfile(tls_certs.cert, tmp_path / "other.pem")  # a certificate, but no CA
    app = desk(tmp_path, sink, security, "other.pem")
    try:
        queue_one(app)
        assert Daemon.flush_only(app, lambda: NOW).retrying == 1
        [row] = outbox(app)
    finally:
        app.close()
    assert "certificate verify failed" in row.last_error and "smtp.ca_file" in row.last_error
    assert sink.messages == []


@pytest.mark.parametrize("content", [None, "-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----\n"])
def test_a_missing_or_broken_ca_file_is_a_config_error_naming_the_key(tmp_path: Path, content: str | None) -> None:
    """smtp.ca_file that does not exist or holds no valid PEM is refused when the config loads."""
    if content is not None:
        (tmp_path / "ca.pem").write_text(content)
    with pytest.raises(ConfigError, match=r"^smtp\.ca_file: .*ca\.pem") as raised:
        parse_settings({"smtp": {"ca_file": "ca.pem"}}, tmp_path)
    assert raised.value.key == "smtp.ca_file"


def test_cli_exits_2_naming_smtp_ca_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`outbox flush` with a missing smtp.ca_file: one line naming the key, exit code 2, nothing sent."""
    config = write_config(tmp_path, {"database": f"sqlite:///{tmp_path / 'desk.db'}",
                                     "smtp": {"security": "starttls", "ca_file": "certs/ca.pem"}})
    assert main(["--config", str(config), "outbox", "flush"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("maildesk: config error: smtp.ca_file: cannot read CA file ")
    assert str(tmp_path / "certs" / "ca.pem") in err and "Traceback" not in err
