"""Transports against a real aiosmtpd server on loopback, a real folder and a real stream."""

from __future__ import annotations

import asyncio
import email
import gc
import io
import logging
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest

from maildesk.errors import ConfigError
from maildesk.outbound.compose import compose
from maildesk.outbound.transport import (
    ConsoleTransport,
    FileTransport,
    PermanentFailure,
    SendResult,
    SmtpTransport,
    TemporaryFailure,
    make_transport,
)
from tests.smtp_sink import SmtpSink
from tests.smtp_sink import smtp_sink as smtp_sink_fixture  # noqa: F401  (pytest finds fixtures by name)

SENDER = "helpdesk@example.cn"
REPORTER = "zhangsan@example.cn"


def _raw(subject: str = "Re: [TS-20261122-0007] 打印机卡纸") -> bytes:
    return compose(
        from_addr=("技术支持中心", SENDER),
        to=[f"张三 <{REPORTER}>"],
        subject=subject,
        text="您好：\n请先重启打印机。\n",
        html="<p>您好：</p><p>请先重启打印机。</p>",
        message_id="maildesk.out-1@example.cn",
        attachments=[("故障报告.txt", "text/plain", b"E-05\n")],
        date=datetime(2026, 11, 22, 1, 30, tzinfo=UTC),
    )


def _smtp(sink: SmtpSink, **settings: object) -> SmtpTransport:
    options: dict[str, object] = {"security": "plain", "timeout": 5.0} | settings
    return SmtpTransport(sink.host, sink.port, **options)  # type: ignore[arg-type]


def test_smtp_delivers_the_exact_bytes(smtp_sink: SmtpSink) -> None:
    """The server receives byte for byte what compose produced, for the envelope given."""
    raw = _raw()

    async def run() -> SendResult:
        async with _smtp(smtp_sink) as transport:
            return await transport.send(raw, SENDER, [REPORTER, "lisi@example.cn"])

    result = asyncio.run(run())
    assert result == SendResult(accepted=(REPORTER, "lisi@example.cn"))
    [received] = smtp_sink.messages
    assert received.content == raw
    assert received.mail_from == SENDER
    assert received.rcpt_tos == (REPORTER, "lisi@example.cn")


def test_smtp_reuses_one_connection_for_a_batch(smtp_sink: SmtpSink) -> None:
    """Consecutive sends travel over one SMTP connection, with no NOOP round trip before each, and each
    announces the size the server then receives."""

    async def run() -> None:
        async with _smtp(smtp_sink) as transport:
            for _ in range(3):
                await transport.send(_raw(), SENDER, [REPORTER])

    asyncio.run(run())
    assert len(smtp_sink.messages) == 3
    assert len({m.peer for m in smtp_sink.messages}) == 1
    assert smtp_sink.noops == 0
    assert [m.mail_options for m in smtp_sink.messages] == [(f"SIZE={len(_raw())}",)] * 3


@pytest.mark.parametrize("ends", [b"\n", b"\r"])
def test_announced_size_counts_line_ends_as_sent(smtp_sink: SmtpSink, ends: bytes) -> None:
    """Bytes with bare LF or CR line ends travel with CRLF, and the size announced is that of what the
    server receives (RFC 1870), not of the bytes given."""
    raw = _raw().replace(b"\r\n", ends)

    async def run() -> None:
        async with _smtp(smtp_sink) as transport:
            await transport.send(raw, SENDER, [REPORTER])

    asyncio.run(run())
    [received] = smtp_sink.messages
    assert received.content == _raw()
    assert received.mail_options == (f"SIZE={len(_raw())}",)


@pytest.mark.parametrize("reply", [None, "421 4.4.1 connection timed out"])
def test_connection_gone_at_mail_from_is_replaced_and_the_mail_sent_once(smtp_sink: SmtpSink, reply: str | None,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    """A kept connection the server cuts as the next mail begins, or answers with 421 (its idle timer, unseen by
    the client): nothing of the mail was sent, so it goes out once over a new connection instead of failing; the
    debug log says so."""
    caplog.set_level(logging.DEBUG, logger="maildesk.outbound.transport")

    async def run() -> None:
        async with _smtp(smtp_sink) as transport:
            await transport.send(_raw("第一封"), SENDER, [REPORTER])
            smtp_sink.drop_at_mail(1, reply)
            await transport.send(_raw("第二封"), SENDER, [REPORTER])
            await transport.send(_raw("第三封"), SENDER, [REPORTER])

    asyncio.run(run())
    subjects = [email.message_from_bytes(m.content, policy=policy.default)["Subject"] for m in smtp_sink.messages]
    assert [s.split()[-1] for s in subjects] == ["第一封", "第二封", "第三封"]
    first, second, third = (m.peer for m in smtp_sink.messages)
    assert first != second == third
    [said] = [r.getMessage() for r in caplog.records if "kept connection was gone" in r.getMessage()]
    assert said.startswith(f"SMTP {smtp_sink.host}:{smtp_sink.port}: the kept connection was gone at MAIL FROM (")
    assert (reply or "SMTPServerDisconnected") in said


@pytest.mark.parametrize(("reply", "said", "code"),
                         [(None, "SMTPServerDisconnected", None), ("421 4.3.2 shutting down", "421", 421)])
def test_a_new_connection_gone_at_mail_from_is_a_temporary_failure(smtp_sink: SmtpSink, reply: str | None,
                                                                   said: str, code: int | None) -> None:
    """Cut again (or 421) on the new connection, the mail fails for now (to be tried later), and is not tried
    a third time; the next send goes through."""

    async def run() -> None:
        async with _smtp(smtp_sink) as transport:
            await transport.send(_raw("第一封"), SENDER, [REPORTER])
            smtp_sink.drop_at_mail(2, reply)
            with pytest.raises(TemporaryFailure, match=rf"{smtp_sink.host}:{smtp_sink.port}: .*{said}") as failure:
                await transport.send(_raw("第二封"), SENDER, [REPORTER])
            assert failure.value.code == code
            await transport.send(_raw("第三封"), SENDER, [REPORTER])

    asyncio.run(run())
    assert len(smtp_sink.messages) == 2


def test_4xx_is_temporary_and_the_next_try_delivers(smtp_sink: SmtpSink) -> None:
    """A 451 reply raises TemporaryFailure naming code and text; the retry goes through."""
    smtp_sink.fail_next(1, "451 4.3.0 try later")

    async def run() -> None:
        async with _smtp(smtp_sink) as transport:
            with pytest.raises(TemporaryFailure, match=r"451 4\.3\.0 try later") as failure:
                await transport.send(_raw(), SENDER, [REPORTER])
            assert failure.value.code == 451
            await transport.send(_raw(), SENDER, [REPORTER])

    asyncio.run(run())
    assert len(smtp_sink.messages) == 1


@pytest.mark.parametrize("at_mail_from", [False, True], ids=["to the message", "to MAIL FROM"])
def test_5xx_is_permanent(smtp_sink: SmtpSink, at_mail_from: bool) -> None:
    """A 550 reply, to the message or to MAIL FROM, raises PermanentFailure with the code and text; the connection
    serves the next mail."""
    if at_mail_from:
        smtp_sink.drop_at_mail(1, "550 5.7.1 message content rejected")
    else:
        smtp_sink.fail_next(1, "550 5.7.1 message content rejected")

    async def run() -> None:
        async with _smtp(smtp_sink) as transport:
            with pytest.raises(PermanentFailure, match=r"550 5\.7\.1 message content rejected") as failure:
                await transport.send(_raw("第一封"), SENDER, [REPORTER])
            assert failure.value.code == 550
            await transport.send(_raw("第二封"), SENDER, [REPORTER])

    asyncio.run(run())
    assert [email.message_from_bytes(m.content, policy=policy.default)["Subject"] for m in smtp_sink.messages] == \
        ["第二封"]


def test_server_down_is_temporary_and_up_again_delivers(smtp_sink: SmtpSink) -> None:
    """With SMTP stopped a send fails temporarily; once it is back the same transport delivers."""

    async def run() -> None:
        async with _smtp(smtp_sink) as transport:
            await transport.send(_raw("第一封"), SENDER, [REPORTER])
            smtp_sink.stop()
            with pytest.raises(TemporaryFailure, match=rf"{smtp_sink.host}:{smtp_sink.port}"):
                await transport.send(_raw("第二封"), SENDER, [REPORTER])
            smtp_sink.start()
            await transport.send(_raw("第三封"), SENDER, [REPORTER])

    asyncio.run(run())
    assert len(smtp_sink.messages) == 2


def test_server_restart_between_sends_is_invisible(smtp_sink: SmtpSink) -> None:
    """A kept connection the server dropped is replaced before use, so no mail fails for it."""

    async def run() -> None:
        async with _smtp(smtp_sink) as transport:
            await transport.send(_raw(), SENDER, [REPORTER])
            smtp_sink.stop()
            smtp_sink.start()
            await transport.send(_raw(), SENDER, [REPORTER])

    asyncio.run(run())
    assert len(smtp_sink.messages) == 2


# The first loop closes with the connection still open; its socket can only be reclaimed
# by the garbage collector, which reports it. That leak is the point of the test.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_transport_survives_a_new_event_loop(smtp_sink: SmtpSink) -> None:
    """A transport left open by one asyncio.run still sends in the next one instead of hanging."""
    transport = _smtp(smtp_sink)
    asyncio.run(transport.send(_raw(), SENDER, [REPORTER]))
    asyncio.run(transport.send(_raw(), SENDER, [REPORTER]))
    asyncio.run(transport.close())
    gc.collect()  # report the abandoned socket here, under this test's filter
    assert len(smtp_sink.messages) == 2


def test_partial_refusal_delivers_to_the_others(smtp_sink: SmtpSink, caplog: pytest.LogCaptureFixture) -> None:
    """One refused recipient does not stop delivery to the rest; it is returned and logged."""
    smtp_sink.refuse("nobody@example.cn", "550 5.1.1 no such user")
    smtp_sink.refuse("full@example.cn", "452 4.2.2 mailbox full")

    async def run() -> SendResult:
        async with _smtp(smtp_sink) as transport:
            return await transport.send(_raw(), SENDER, [REPORTER, "nobody@example.cn", "full@example.cn"])

    with caplog.at_level(logging.WARNING, logger="maildesk.outbound.transport"):
        result = asyncio.run(run())
    assert result.accepted == (REPORTER,)
    assert result.refused == {
        "nobody@example.cn": "550 5.1.1 no such user",
        "full@example.cn": "452 4.2.2 mailbox full",
    }
    assert result.temporary_refusals == ("full@example.cn",)
    assert smtp_sink.messages[0].rcpt_tos == (REPORTER,)
    assert "nobody@example.cn: 550 5.1.1 no such user" in caplog.text


def test_all_recipients_refused(smtp_sink: SmtpSink) -> None:
    """Every recipient refused with 5xx is permanent; if one refusal was 4xx it is worth a retry."""
    smtp_sink.refuse("nobody@example.cn", "550 5.1.1 no such user")
    smtp_sink.refuse("full@example.cn", "452 4.2.2 mailbox full")

    async def run() -> None:
        async with _smtp(smtp_sink) as transport:
            with pytest.raises(PermanentFailure, match=r"nobody@example\.cn: 550") as failure:
                await transport.send(_raw(), SENDER, ["nobody@example.cn"])
            assert failure.value.refused == {"nobody@example.cn": "550 5.1.1 no such user"}
            with pytest.raises(TemporaryFailure, match=r"full@example\.cn: 452"):
                await transport.send(_raw(), SENDER, ["nobody@example.cn", "full@example.cn"])
            await transport.send(_raw(), SENDER, [REPORTER])  # the connection is still fine

    asyncio.run(run())
    assert len(smtp_sink.messages) == 1


def test_the_envelope_carries_each_address_as_given(smtp_sink: SmtpSink) -> None:
    """Plain addresses, with characters a local part may hold, go into MAIL FROM and RCPT TO as they are; an address
    with a display name goes in as its address alone."""
    unusual = "O'Brien+helpdesk/2026@Mail-1.example.cn"

    async def run() -> None:
        async with _smtp(smtp_sink) as transport:
            await transport.send(_raw(), SENDER, [REPORTER, unusual])
            await transport.send(_raw(), f"技术支持中心 <{SENDER}>", [f"Zhang San <{REPORTER}>"])

    asyncio.run(run())
    assert [(m.mail_from, m.rcpt_tos) for m in smtp_sink.messages] == [
        (SENDER, (REPORTER, unusual)), (SENDER, (REPORTER,))]


@pytest.mark.parametrize("bad", ["王五@例子.中国", "li si@example.cn"])
def test_an_address_that_cannot_go_in_the_envelope_is_permanent(smtp_sink: SmtpSink, bad: str) -> None:
    """A recipient the SMTP envelope cannot carry (not ASCII, or with a space) fails the mail for good,
    the other recipient gets nothing of it, and the next mail goes through (it was refused "503 nested MAIL
    command" when the first left its transaction open)."""

    async def run() -> None:
        async with _smtp(smtp_sink) as transport:
            with pytest.raises(PermanentFailure, match="bad envelope address"):
                await transport.send(_raw(), SENDER, [REPORTER, bad])
            await transport.send(_raw(), SENDER, [REPORTER])

    asyncio.run(run())
    assert [m.rcpt_tos for m in smtp_sink.messages] == [(REPORTER,)]


def test_login_and_a_wrong_password_that_is_never_shown() -> None:
    """AUTH with the right password delivers; a wrong one fails temporarily without echoing it."""
    with SmtpSink(credentials=("helpdesk", "s3cret-密码")) as sink:

        async def run() -> None:
            async with _smtp(sink, username="helpdesk", password="s3cret-密码") as good:
                await good.send(_raw(), SENDER, [REPORTER])
            bad = _smtp(sink, username="helpdesk", password="wrong-pass-123")
            with pytest.raises(TemporaryFailure, match="535") as failure:
                await bad.send(_raw(), SENDER, [REPORTER])
            assert "wrong-pass-123" not in str(failure.value)
            assert "wrong-pass-123" not in repr(bad)

        asyncio.run(run())
        assert len(sink.messages) == 1


def test_silent_server_times_out_as_temporary() -> None:
    """A server that accepts the connection but never greets fails temporarily after the timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # the kernel completes the handshake; nobody ever answers
        host, port = listener.getsockname()
        transport = SmtpTransport(host, port, security="plain", timeout=0.3)
        with pytest.raises(TemporaryFailure, match="imed out"):
            asyncio.run(transport.send(_raw(), SENDER, [REPORTER]))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (EC keys: made in milliseconds)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_contexts(certificate: tuple[Path, Path]) -> Iterator[tuple[ssl.SSLContext, ssl.SSLContext]]:
    """A server context with the certificate and a client context that trusts only it."""
    cert, key = certificate
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    yield server, ssl.create_default_context(cafile=str(cert))


@pytest.mark.parametrize(("security", "implicit"), [("starttls", False), ("ssl", True)])
def test_tls_modes_deliver(security: str, implicit: bool, tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    """STARTTLS on a plain port and TLS from the first byte both deliver, with the certificate checked."""
    server_ctx, client_ctx = tls_contexts
    with SmtpSink(tls_context=server_ctx, implicit_tls=implicit) as sink:
        raw = _raw()

        async def run() -> None:
            async with _smtp(sink, security=security, tls_context=client_ctx) as transport:
                await transport.send(raw, SENDER, [REPORTER])

        asyncio.run(run())
        assert sink.messages[0].content == raw


def test_untrusted_certificate_is_temporary(tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    """A certificate the client does not trust stops the send, as a temporary failure."""
    server_ctx, _ = tls_contexts
    with SmtpSink(tls_context=server_ctx) as sink:
        transport = _smtp(sink, security="starttls")  # the system's CAs do not know the test certificate
        with pytest.raises(TemporaryFailure, match=r"(?i)certificate"):
            asyncio.run(transport.send(_raw(), SENDER, [REPORTER]))
        assert sink.messages == []


def test_file_transport_writes_each_mail_unchanged(tmp_path: Path) -> None:
    """Each mail becomes its own .eml file with the exact bytes, even within one timestamp."""
    moment = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
    transport = FileTransport(tmp_path / "out", clock=lambda: moment)
    first, second = _raw("第一封"), _raw("第二封")
    asyncio.run(transport.send(first, SENDER, [REPORTER]))
    asyncio.run(transport.send(second, SENDER, [REPORTER]))
    again = FileTransport(tmp_path / "out", clock=lambda: moment)  # a restart must not overwrite
    asyncio.run(again.send(first, SENDER, [REPORTER]))
    files = sorted((tmp_path / "out").glob("*.eml"))
    assert [f.name for f in files] == [
        "20261122T013000.000000Z-1.eml",
        "20261122T013000.000000Z-2.eml",
        "20261122T013000.000000Z-3.eml",
    ]
    assert [f.read_bytes() for f in files] == [first, second, first]


def test_file_transport_unwritable_folder_is_temporary(tmp_path: Path) -> None:
    """A folder that cannot be created fails temporarily, so the outbox keeps the mail."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    with pytest.raises(TemporaryFailure, match="blocker"):
        asyncio.run(FileTransport(blocker / "out").send(_raw(), SENDER, [REPORTER]))


def test_console_transport_prints_a_readable_mail() -> None:
    """The console shows decoded headers, the text part and attachment names, not MIME."""
    stream = io.StringIO()
    result = asyncio.run(ConsoleTransport(stream).send(_raw(), SENDER, [REPORTER]))
    out = stream.getvalue()
    assert result.accepted == (REPORTER,)
    assert f"From: 技术支持中心 <{SENDER}>" in out
    assert f"To: 张三 <{REPORTER}>" in out
    assert "Subject: Re: [TS-20261122-0007] 打印机卡纸" in out
    assert "请先重启打印机。" in out and "<p>" not in out
    assert "故障报告.txt" in out
    assert "base64" not in out


def test_make_transport_by_name(tmp_path: Path) -> None:
    """Transports are built from their config name; unknown names and settings are config errors."""
    assert isinstance(make_transport("smtp", host="mail.example.cn", port=587), SmtpTransport)
    assert isinstance(make_transport("console"), ConsoleTransport)
    assert isinstance(make_transport("file", directory=tmp_path), FileTransport)
    with pytest.raises(ConfigError, match=r"'carrier-pigeon'.*console, file, smtp"):
        make_transport("carrier-pigeon")
    with pytest.raises(ConfigError, match=r"transport\.smtp.*hots"):
        make_transport("smtp", hots="mail.example.cn")
    with pytest.raises(ConfigError, match="security"):
        make_transport("smtp", host="mail.example.cn", security="tls")
