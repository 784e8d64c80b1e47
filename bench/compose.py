"""Composing one outgoing mail: the hand-written MIME of ``compose`` against the stdlib-policy version it replaced.

    python bench/compose.py [--number 1000] [--repeat 5]

Cases (the text and HTML are the packaged Chinese ack template, rendered once):
  ack         Chinese subject and names, ~1 KB text + ~3 KB HTML, threading and loop headers
  ack+file    the same with one 20 KB PDF attachment (Chinese file name)
  assignment  text + HTML, reply-to, a second recipient in Cc
Prints µs per compose (best of --repeat runs of --number composes) for the old
``email.policy``/``EmailMessage`` path (kept below as ``old_compose``, the baseline)
and for ``maildesk.outbound.compose.compose``, and old/new.
"""

from __future__ import annotations

import argparse
import random
import sys
import timeit
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from email import policy as email_policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maildesk.outbound.compose import (  # noqa: E402
    MAX_REFERENCES,
    AddressLike,
    ComposeError,
    Recipient,
    compose,
)
from maildesk.outbound.templates import Templates  # noqa: E402

_MANAGED_HEADERS = frozenset(
    name.lower()
    for name in (
        "From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To",
        "References", "Auto-Submitted", "X-Auto-Response-Suppress", "X-Maildesk-Loop",
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition",
    )
)  # fmt: skip

# ---- the baseline: compose() as it was, on EmailMessage and email.policy ---------------------------------------


class _MessageIdListHeader(UnstructuredHeader, BaseHeader):
    """References / In-Reply-To, folded between ids.

    The standard library folds these as unstructured text and turns a long id into
    an RFC 2047 encoded word, which no mail client can match against a Message-ID.
    """

    def fold(self, *, policy: Any) -> str:
        linesep = str(policy.linesep)
        lines: list[str] = []
        line = f"{self.name}:"
        for token in str(self).split():
            if len(line) + 1 + len(token) > 78 and line.endswith(">"):
                lines.append(line)
                line = ""
            line += f" {token}"
        lines.append(line)
        return linesep.join(lines) + linesep


def _policy() -> EmailPolicy:
    registry = HeaderRegistry()
    registry.map_to_type("references", _MessageIdListHeader)
    registry.map_to_type("in-reply-to", _MessageIdListHeader)
    # 7bit: Chinese bodies go out as base64/quoted-printable, so no relay on the
    # way has to support 8BITMIME and the bytes survive any SMTP hop unchanged.
    return cast(EmailPolicy, email_policy.SMTP.clone(cte_type="7bit", header_factory=registry))


def _bare_id(value: str, what: str) -> str:
    bare = value.strip().removeprefix("<").removesuffix(">").strip()
    if not bare or "@" not in bare or any(c.isspace() or c in "<>" for c in bare) or not bare.isascii():
        raise ComposeError(f"{what}: not a message id: {value!r}")
    return bare


def _address(name: str, addr: str, what: str) -> Address:
    addr = addr.strip()
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain:
        raise ComposeError(f"{what}: not a mail address: {addr!r}")
    if not local.isascii():
        raise ComposeError(f"{what}: a non-ASCII local part needs SMTPUTF8, which maildesk does not send")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ComposeError(f"{what}: bad domain in {addr!r}: {exc}") from exc
    try:
        return Address(display_name=name.strip(), username=local, domain=domain)
    except (ValueError, TypeError) as exc:  # the stdlib rejects e.g. CR/LF in a name
        raise ComposeError(f"{what}: bad address {addr!r}: {exc}") from exc


def _recipient(value: Recipient, what: str) -> Address:
    if isinstance(value, str):
        name, addr = parseaddr(value)
        if not addr:
            raise ComposeError(f"{what}: not a mail address: {value!r}")
        return _address(name, addr, what)
    if isinstance(value, tuple):
        return _address(value[0], value[1], what)
    return _address(value.name, value.addr, what)


def _mime_type(content_type: str, what: str) -> tuple[str, str]:
    maintype, slash, subtype = content_type.strip().lower().partition("/")
    if not slash or not maintype or not subtype or maintype == "multipart":
        raise ComposeError(f"{what}: not a content type: {content_type!r}")
    return maintype, subtype


def _references(references: Sequence[str], in_reply_to: str | None) -> list[str]:
    ids: list[str] = []
    for ref in references:
        bare = _bare_id(ref, "references")
        if bare not in ids:
            ids.append(bare)
    if in_reply_to is not None:
        # The parent belongs last in References (RFC 5322 §3.6.4) even if the caller forgot it.
        if in_reply_to in ids:
            ids.remove(in_reply_to)
        ids.append(in_reply_to)
    if len(ids) > MAX_REFERENCES:
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1) :]
    return ids


def _set_headers(
    msg: EmailMessage,
    *,
    from_addr: AddressLike,
    to: Sequence[Recipient],
    cc: Sequence[Recipient],
    reply_to: Recipient | None,
    subject: str,
    date: datetime,
    message_id: str,
    in_reply_to: str | None,
    references: Sequence[str],
    auto_submitted: str | None,
    loop_header_value: str | None,
    extra_headers: Mapping[str, str],
) -> None:
    try:
        if isinstance(from_addr, tuple):
            msg["From"] = _address(from_addr[0], from_addr[1], "from_addr")
        else:
            msg["From"] = _address(from_addr.name, from_addr.addr, "from_addr")
        if to:
            msg["To"] = [_recipient(r, "to") for r in to]
        if cc:
            msg["Cc"] = [_recipient(r, "cc") for r in cc]
        if reply_to is not None:
            msg["Reply-To"] = _recipient(reply_to, "reply_to")
        msg["Subject"] = subject
        msg["Date"] = format_datetime(date)
        msg["Message-ID"] = f"<{_bare_id(message_id, 'message_id')}>"
        parent = _bare_id(in_reply_to, "in_reply_to") if in_reply_to is not None else None
        if parent is not None:
            msg["In-Reply-To"] = f"<{parent}>"
        refs = _references(references, parent)
        if refs:
            msg["References"] = " ".join(f"<{ref}>" for ref in refs)
        if auto_submitted is not None:
            msg["Auto-Submitted"] = auto_submitted  # RFC 3834: no auto-reply to an auto-reply
            # Exchange/Outlook honour this instead; without it out-of-office replies come back.
            msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
        if loop_header_value is not None:
            msg["X-Maildesk-Loop"] = loop_header_value
        for name, value in extra_headers.items():
            if name.lower() in _MANAGED_HEADERS:
                raise ComposeError(f"extra_headers: {name} is set by compose itself")
            msg[name] = value
    except ValueError as exc:  # CR/LF in a header value: refuse instead of injecting headers
        raise ComposeError(f"header: {exc}") from exc


def _parts(msg: EmailMessage) -> list[EmailMessage]:
    return cast(list[EmailMessage], msg.get_payload())


def _set_body(
    msg: EmailMessage,
    *,
    text: str,
    html: str | None,
    attachments: Sequence[tuple[str, str, bytes]],
    inline_images: Sequence[tuple[str, str, bytes]],
) -> None:
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
        html_part = _parts(msg)[1]
        for content_id, content_type, data in inline_images:
            maintype, subtype = _mime_type(content_type, f"inline image {content_id}")
            cid = f"<{_bare_id(content_id, 'inline image content id')}>"
            html_part.add_related(data, maintype, subtype, cid=cid, disposition="inline")
    for filename, content_type, data in attachments:
        maintype, subtype = _mime_type(content_type, f"attachment {filename}")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        # Some clients (older Outlook, Foxmail) read the name from Content-Type only.
        _parts(msg)[-1].set_param("name", filename)
    for part in msg.walk():
        if part is not msg:
            del part["MIME-Version"]  # the stdlib repeats it on every part it builds


def old_compose(
    *,
    from_addr: AddressLike,
    to: Sequence[Recipient],
    cc: Sequence[Recipient] = (),
    subject: str,
    text: str,
    html: str | None = None,
    message_id: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    auto_submitted: str | None = "auto-replied",
    loop_header_value: str | None = None,
    reply_to: Recipient | None = None,
    extra_headers: Mapping[str, str] | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    inline_images: Sequence[tuple[str, str, bytes]] = (),
    date: datetime,
) -> bytes:
    """The compose() of before this benchmark: EmailMessage with an email.policy (the baseline)."""
    if not to and not cc:
        raise ComposeError("to: a mail needs at least one recipient")
    if date.tzinfo is None or date.utcoffset() is None:
        raise ComposeError("date: needs a timezone (a naive datetime would be sent as local time)")
    if inline_images and html is None:
        raise ComposeError("inline_images: inline images need an HTML part to show them")
    if auto_submitted is not None and auto_submitted not in ("auto-replied", "auto-generated"):
        raise ComposeError(f"auto_submitted: expected auto-replied or auto-generated, got {auto_submitted!r}")

    msg = EmailMessage(policy=_policy())
    _set_headers(
        msg,
        from_addr=from_addr,
        to=to,
        cc=cc,
        reply_to=reply_to,
        subject=subject,
        date=date,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=auto_submitted,
        loop_header_value=loop_header_value,
        extra_headers=extra_headers or {},
    )
    _set_body(msg, text=text, html=html, attachments=attachments, inline_images=inline_images)
    return msg.as_bytes()


# ---- the cases ---------------------------------------------------------------------------------------------------

CST = timezone(timedelta(hours=8))
NUMBER = "TS-20261122-0007"


def _ack_parts() -> tuple[str, str, str]:
    templates = Templates(defaults={"desk_name": "信息技术部服务台"})
    context = {
        "ticket": {
            "number": NUMBER, "subject": "财务系统登录后页面空白，清除缓存无效，影响整个部门月底结账",
            "priority": "P2", "priority_name": "高", "type_name": "故障", "response_due": "2026-11-22 11:30",
            "reporter_name": "张三",
        },
        "kb_articles": [
            {"id": i, "title": f"财务系统常见问题之{i}：浏览器缓存与登录页面空白的处理办法"} for i in range(1, 7)
        ],
    }  # fmt: skip
    mail = templates.render("ack", "zh", context)
    assert mail.html is not None
    return mail.subject, mail.text, mail.html


def cases() -> dict[str, dict[str, Any]]:
    subject, text, html = _ack_parts()
    ack: dict[str, Any] = {
        "from_addr": ("信息技术部服务台", "helpdesk@example.cn"),
        "to": ["张三 <zhangsan@example.cn>"],
        "subject": subject,
        "text": text,
        "html": html,
        "message_id": "maildesk.ack.5cee747eeb2f4ab1b571047117e41dcf@example.cn",
        "in_reply_to": "20261122093011.4f2a@mail.example.cn",
        "references": ["20261122093011.4f2a@mail.example.cn"],
        "auto_submitted": "auto-replied",
        "loop_header_value": "helpdesk@example.cn",
        "reply_to": "helpdesk+ts-20261122-0007-3f47e3ee@example.cn",
        "extra_headers": {"X-Maildesk-Ticket": NUMBER},
        "date": datetime(2026, 11, 22, 9, 30, 12, tzinfo=CST),
    }
    pdf = random.Random(7).randbytes(20_000)
    return {
        "ack": ack,
        "ack+file": {**ack, "attachments": [("故障报告 2026年11月.pdf", "application/pdf", pdf)]},
        "assignment": {
            **ack,
            "to": ["李工 <li.gong@example.cn>"],
            "cc": [("王经理（信息技术部）", "wang@example.cn")],
            "subject": f"[{NUMBER}] 新工单分派给您：财务系统登录后页面空白",
            "auto_submitted": "auto-generated",
        },
    }


def per_call_us(fn: Callable[..., bytes], args: Mapping[str, Any], number: int, repeat: int) -> float:
    best = min(timeit.repeat(lambda: fn(**args), number=number, repeat=repeat))
    return best / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--number", type=int, default=1000, help="composes per timed run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best counts")
    options = parser.parse_args()
    print(f"{'case':<12} {'bytes':>7} {'old µs':>9} {'new µs':>9} {'old/new':>8}")
    for name, args in cases().items():
        size = len(compose(**args))
        old = per_call_us(old_compose, args, options.number, options.repeat)
        new = per_call_us(compose, args, options.number, options.repeat)
        print(f"{name:<12} {size:>7} {old:>9.0f} {new:>9.1f} {old / new:>7.1f}x")


if __name__ == "__main__":
    main()
