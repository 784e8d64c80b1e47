"""Composing outgoing mail: what a reporter's mail client and the threading code will see."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest

from maildesk.ingest.parse import parse_mail
from maildesk.mail import Address
from maildesk.outbound.compose import (
    MAX_REFERENCES,
    ComposeError,
    compose,
    find_ticket_number,
    make_message_id,
    strip_subject,
    tag_subject,
    ticket_tag_pattern,
    writable_id,
)

CST = timezone(timedelta(hours=8))
NUMBER = "TS-20261122-0007"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _mail(**overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "from_addr": ("技术支持中心", "helpdesk@example.cn"),
        "to": ["张三 <zhangsan@example.cn>"],
        "subject": f"Re: [{NUMBER}] 打印机卡纸",
        "text": "您好：\n请先重启打印机。\n",
        "message_id": "maildesk.out-17@example.cn",
        "date": datetime(2026, 11, 22, 9, 30, tzinfo=CST),
    }
    args.update(overrides)
    return compose(**args)


def test_chinese_headers_and_attachment_names_round_trip() -> None:
    """Chinese subject, display names and attachment names decode back exactly."""
    long_subject = f"Re: [{NUMBER}] " + "财务系统登录后页面空白，清除缓存无效，影响整个部门月底结账！" * 3
    raw = _mail(
        subject=long_subject,
        cc=[("李四（财务部，华东区）", "lisi@example.cn")],
        reply_to="王五 <wangwu@example.cn>",
        attachments=[("故障报告 2026年11月.pdf", "application/pdf", b"%PDF-1.4 data")],
    )
    msg = _parse(raw)
    assert msg["Subject"] == long_subject  # folded over several encoded words, whole characters each
    assert msg["From"].addresses[0].display_name == "技术支持中心"
    assert msg["From"].addresses[0].addr_spec == "helpdesk@example.cn"
    assert msg["To"].addresses[0].display_name == "张三"
    assert msg["Cc"].addresses[0].display_name == "李四（财务部，华东区）"
    assert msg["Reply-To"].addresses[0].addr_spec == "wangwu@example.cn"
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "故障报告 2026年11月.pdf"
    assert attachment.get_content() == b"%PDF-1.4 data"
    body = msg.get_body(preferencelist=("plain",))
    # Text travels in canonical CRLF form (RFC 2045 §6.8); the words come back unchanged.
    assert body is not None and body.get_content().replace("\r\n", "\n") == "您好：\n请先重启打印机。\n"


def test_raw_bytes_are_seven_bit_with_encoded_words() -> None:
    """The bytes are ASCII with CRLF line ends, RFC 2047 headers and RFC 2231 file names, for any relay."""
    raw = _mail(attachments=[("报告.pdf", "application/pdf", b"x")])
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"Subject: Re: [TS-20261122-0007] =?utf-8?" in raw
    assert b"filename*=utf-8''%E6%8A%A5%E5%91%8A.pdf" in raw


def test_text_and_html_make_an_alternative_with_related_images() -> None:
    """Text plus HTML with an inline image and an attachment nest as mixed(alternative(text, related))."""
    raw = _mail(
        html='<p>您好</p><img src="cid:chart-1@maildesk">',
        inline_images=[("chart-1@maildesk", "image/png", PNG)],
        attachments=[("日志.txt", "text/plain", "错误 E-05\n".encode())],
    )
    msg = _parse(raw)
    shape = [part.get_content_type() for part in msg.walk()]
    assert shape == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "text/plain",
    ]
    html = msg.get_body(preferencelist=("html",))
    assert html is not None and "您好" in html.get_content()
    image = next(part for part in msg.walk() if part.get_content_type() == "image/png")
    assert image["Content-ID"] == "<chart-1@maildesk>"
    assert image.get_content() == PNG
    assert [p.get_filename() for p in msg.iter_attachments()] == ["日志.txt"]


def test_threading_headers() -> None:
    """Message-ID, In-Reply-To and References carry bare ids in brackets, the parent last."""
    raw = _mail(in_reply_to="<abc@mail.example.cn>", references=["root@example.cn", "abc@mail.example.cn"])
    msg = _parse(raw)
    assert msg["Message-ID"] == "<maildesk.out-17@example.cn>"
    assert msg["In-Reply-To"] == "<abc@mail.example.cn>"
    assert msg["References"].split() == ["<root@example.cn>", "<abc@mail.example.cn>"]


@pytest.mark.parametrize(
    "odd",
    [
        "abc123",  # no "@"
        "工单7@例子.中国",  # non-ASCII
        "x" * 64 + "\u2026" + "0f" * 20,  # the stored form of a 100 kB id
        "a" * 990 + "@x.cn",  # longer than a header line
        "a b@x.cn",  # a space
        "a@b@x.cn",  # two "@"
        "a@x.cn\r\nBcc: evil@example.com",  # a header of its own
    ],
)
def test_ids_that_may_not_be_written_are_left_out_of_the_thread_headers(odd: str) -> None:
    """An answer to a mail with an odd id is still composed: that id is left out, the valid ones kept."""
    raw = _mail(in_reply_to=odd, references=["root@example.cn", odd])
    msg = _parse(raw)
    assert msg["In-Reply-To"] is None
    assert msg["References"] == "<root@example.cn>"
    assert b"Bcc" not in raw and b"evil" not in raw
    assert writable_id(odd) is None


def test_valid_ids_are_written_as_they_are() -> None:
    """Ids of common clients (Gmail's "+" and "=", a [literal] domain) pass unchanged."""
    ids = ["CAH+x=Yq_1@mail.gmail.com", "20261122.4f2a@[192.0.2.7]", "<abc@mail.example.cn>"]
    assert [writable_id(i) for i in ids] == [ids[0], ids[1], "abc@mail.example.cn"]
    msg = _parse(_mail(in_reply_to=ids[0], references=ids[1:]))
    assert msg["In-Reply-To"] == f"<{ids[0]}>"
    assert msg["References"].split() == [f"<{ids[1]}>", "<abc@mail.example.cn>", f"<{ids[0]}>"]


def test_long_references_stay_matchable() -> None:
    """A long thread folds References between ids, never into encoded words, and keeps the root."""
    refs = [f"{'x' * 60}.{i}@mail.example.cn" for i in range(30)]
    raw = _mail(in_reply_to=refs[-1], references=refs)
    header = re.search(rb"\r\nReferences:(.*?)\r\n(?! )", raw, re.S)
    assert header is not None and b"=?" not in header.group(1)
    ids = _parse(raw)["References"].split()
    assert len(ids) == MAX_REFERENCES
    assert ids[0] == f"<{refs[0]}>" and ids[-1] == f"<{refs[-1]}>"


def test_loop_prevention_headers() -> None:
    """Auto-Submitted and the loop header are set so no auto-responder answers and our own mail is known."""
    msg = _parse(_mail(auto_submitted="auto-generated", loop_header_value="helpdesk@example.cn"))
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Maildesk-Loop"] == "helpdesk@example.cn"
    assert "OOF" in msg["X-Auto-Response-Suppress"]
    assert _parse(_mail())["Auto-Submitted"] == "auto-replied"


def test_relayed_human_reply_can_omit_auto_submitted() -> None:
    """A relayed engineer's answer is not automatic and carries no Auto-Submitted header."""
    msg = _parse(_mail(auto_submitted=None))
    assert msg["Auto-Submitted"] is None and msg["X-Auto-Response-Suppress"] is None


def test_address_objects_and_extra_headers() -> None:
    """The ingest Address type works as sender and recipient, and extra headers are kept."""
    msg = _parse(
        _mail(
            from_addr=Address("技术支持中心", "helpdesk@example.cn"),
            to=[Address("张三", "zhangsan@example.cn")],
            extra_headers={"X-Maildesk-Ticket": NUMBER},
        )
    )
    assert str(msg["From"]) == "技术支持中心 <helpdesk@example.cn>"
    assert str(msg["To"]) == "张三 <zhangsan@example.cn>"
    assert msg["X-Maildesk-Ticket"] == NUMBER


def test_date_keeps_its_offset() -> None:
    """The Date header shows the local time and offset of the datetime given."""
    assert _parse(_mail())["Date"] == "Sun, 22 Nov 2026 09:30:00 +0800"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"date": datetime(2026, 11, 22, 9, 30)}, "date"),
        ({"to": [], "cc": []}, "recipient"),
        ({"to": ["not an address"]}, "to"),
        ({"extra_headers": {"X-Note": "a\r\nBcc: evil@example.com"}}, "header"),
        ({"extra_headers": {"Subject": "other"}}, "Subject"),
        ({"message_id": "no-at-sign"}, "message_id"),
        ({"inline_images": [("c@x", "image/png", PNG)]}, "HTML"),
        ({"attachments": [("a.bin", "binary", b"x")]}, "content type"),
    ],
)
def test_bad_parts_are_refused(overrides: dict[str, Any], message: str) -> None:
    """Parts that would make a broken or dangerous mail raise ComposeError naming the part."""
    with pytest.raises(ComposeError, match=message):
        _mail(**overrides)


def test_message_id_is_stable_per_outbox_row() -> None:
    """The same outbox key always gives the same Message-ID, so a retry is the same mail."""
    assert make_message_id("example.cn", "out-17") == "maildesk.out-17@example.cn"
    assert make_message_id("example.cn", "out-17") == make_message_id("example.cn", "out-17")
    assert make_message_id("example.cn", "out-17") != make_message_id("example.cn", "out-18")
    odd = make_message_id("example.cn", "工单 7 <x>")
    assert re.fullmatch(r"maildesk\.[0-9a-f]{32}@example\.cn", odd)
    assert make_message_id("example.cn", "") != make_message_id("example.cn", "")
    assert make_message_id("例子.中国", "a").endswith("@xn--fsqu00a.xn--fiqs8s")


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("打印机卡纸", f"[{NUMBER}] 打印机卡纸"),
        ("Re: 打印机卡纸", f"Re: [{NUMBER}] 打印机卡纸"),
        (f"Re: [{NUMBER}] 打印机卡纸", f"Re: [{NUMBER}] 打印机卡纸"),
        (f"回复: RE: 打印机卡纸 [{NUMBER}]", f"Re: [{NUMBER}] 打印机卡纸"),
        (f"答复：Re[2]: 【{NUMBER}】打印机卡纸", f"Re: [{NUMBER}] 打印机卡纸"),
        (f"[{NUMBER}] 回复: 打印机卡纸", f"Re: [{NUMBER}] 打印机卡纸"),
        ("Fw: 转发: 打印机卡纸", f"Fw: [{NUMBER}] 打印机卡纸"),
        ("Return of the printer", f"[{NUMBER}] Return of the printer"),
        ("", f"[{NUMBER}]"),
    ],
)
def test_tag_subject(subject: str, expected: str) -> None:
    """The tag appears exactly once, after at most one normalised Re:/Fw: prefix."""
    assert tag_subject(subject, NUMBER) == expected


def test_strip_subject_gives_the_bare_topic() -> None:
    """Prefixes and the ticket's own tag are removed; another ticket's tag stays."""
    assert strip_subject(f"RE: 回复: [{NUMBER}] 打印机卡纸", NUMBER) == "打印机卡纸"
    assert strip_subject("Re: [TS-20261121-0001] 旧单", NUMBER) == "[TS-20261121-0001] 旧单"


def test_ticket_tag_pattern_finds_numbers() -> None:
    """The tag pattern finds a ticket number in replies, in full-width brackets too, and nothing else."""
    pattern = ticket_tag_pattern("TS")
    match = pattern.search(f"回复: [{NUMBER}] 打印机卡纸")
    assert match is not None and match.group("number") == NUMBER
    assert find_ticket_number(f"答复：【{NUMBER.lower()}】", "TS") == NUMBER
    assert find_ticket_number("[TS-2026112-0007] 打印机", "TS") is None
    assert find_ticket_number(f"[IT-{NUMBER[3:]}]", "TS") is None
    assert find_ticket_number("[IT-20261122-0007]", "IT") == "IT-20261122-0007"


def test_compose_is_deterministic_but_for_boundaries() -> None:
    """Composing twice differs only in MIME boundaries; the outbox stores the bytes once anyway."""
    first, second = _mail(html="<p>x</p>"), _mail(html="<p>x</p>")
    strip = re.compile(rb"=+\d+==")
    assert strip.sub(b"", first) == strip.sub(b"", second)
    assert _parse(_mail(date=datetime(2026, 11, 22, 1, 30, tzinfo=UTC)))["Date"].endswith("+0000")


def _ack(**overrides: Any) -> bytes:
    """A realistic ack: Chinese subject and names, text and HTML, threading headers, a long Chinese file name."""
    args: dict[str, Any] = {
        "subject": f"Re: [{NUMBER}] " + "财务系统登录后页面空白，清除缓存无效，影响整个部门月底结账",
        "cc": [("王经理（信息技术部）", "wang@example.cn"), ("Zhang, San", "zs@example.cn")],
        "reply_to": f"helpdesk+{NUMBER.lower()}@example.cn",
        "text": "张三，您好：\n\n您反馈的问题已登记为工单。\n" * 20,
        "html": "<p>张三，您好：</p>\n<p>您反馈的问题已登记为工单。</p>\n" * 20,
        "in_reply_to": "20261122.4f2a@mail.example.cn",
        "references": ["20261122.4f2a@mail.example.cn"],
        "loop_header_value": "helpdesk@example.cn",
        "extra_headers": {"X-Maildesk-Ticket": NUMBER},
        "attachments": [
            ("故障报告 2026年11月 财务系统登录后页面空白的截图与浏览器控制台日志.pdf", "application/pdf", PNG)
        ],
    }
    args.update(overrides)
    return _mail(**args)


def test_same_input_gives_the_same_bytes() -> None:
    """Boundaries come from the Message-ID, so composing again gives the very same bytes."""
    assert _ack() == _ack()
    assert _ack() != _ack(message_id="maildesk.out-18@example.cn")


def test_lines_stay_within_the_limits() -> None:
    """Header lines are at most 76 characters, encoded words at most 75 and base64 lines 76."""
    raw = _ack(to=[("张三" * 30, "zhangsan@example.cn")])
    head, _, body = raw.partition(b"\r\n\r\n")
    assert max(len(line) for line in head.split(b"\r\n")) <= 76
    assert all(len(word) <= 75 for word in re.findall(rb"=\?[^?]+\?[bBqQ]\?[^?]*\?=", raw))
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    assert _parse(raw)["To"].addresses[0].addr_spec == "zhangsan@example.cn"


def test_round_trip_through_maildesk_and_the_standard_library() -> None:
    """Subject, names, text, HTML and a long Chinese file name read back the same in parse_mail and policy.default."""
    raw = _ack()
    mine = parse_mail(raw)
    std = _parse(raw)
    subject = f"Re: [{NUMBER}] 财务系统登录后页面空白，清除缓存无效，影响整个部门月底结账"
    filename = "故障报告 2026年11月 财务系统登录后页面空白的截图与浏览器控制台日志.pdf"
    assert mine.subject == std["Subject"] == subject
    assert mine.from_addr is not None and mine.from_addr.name == "技术支持中心"
    assert (
        [a.name for a in mine.cc]
        == [a.display_name for a in std["Cc"].addresses]
        == ["王经理（信息技术部）", "Zhang, San"]
    )
    assert mine.text == "张三，您好：\n\n您反馈的问题已登记为工单。\n" * 20
    assert mine.html == "<p>张三，您好：</p>\n<p>您反馈的问题已登记为工单。</p>\n" * 20
    assert [a.filename for a in mine.attachments] == [filename]
    [attachment] = list(std.iter_attachments())
    assert attachment.get_filename() == filename and attachment.get_param("name") == filename
    assert mine.attachments[0].data == PNG
    assert mine.in_reply_to == "20261122.4f2a@mail.example.cn" and mine.defects == ()


def test_a_body_holding_the_boundary_gets_another_one() -> None:
    """A plain ASCII text that happens to contain the boundary line does not cut the mail apart."""
    first = _mail(html="<p>x</p>")
    boundary = re.search(rb'boundary="([^"]+)"', first)
    assert boundary is not None
    text = f"before\n--{boundary.group(1).decode()}\nafter\n"
    msg = _parse(_mail(html="<p>x</p>", text=text))
    assert [part.get_content_type() for part in msg.walk()] == ["multipart/alternative", "text/plain", "text/html"]
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().replace("\r\n", "\n") == text


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Hello,\nplease restart the printer.\n", "7bit"),
        ("Grüße aus München,\nbitte den Drucker neu starten. Danke!\n", "quoted-printable"),
        ("A very long line " * 20 + "\n", "quoted-printable"),
        ("您好：\n请先重启打印机。\n", "base64"),
    ],
)
def test_text_travels_in_a_readable_safe_encoding(text: str, encoding: str) -> None:
    """ASCII stays readable, mostly-Latin text goes quoted-printable, Chinese base64; all read back the same."""
    raw = _mail(text=text)
    msg = _parse(raw)
    assert msg["Content-Transfer-Encoding"] == encoding
    assert msg.get_content().replace("\r\n", "\n") == text
    assert parse_mail(raw).text == text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"subject": "打印机\r\nBcc: evil@example.com"}, "Subject"),
        ({"attachments": [("a.txt", "text/plain\r\nBcc: evil@example.com", b"x")]}, "content type"),
        ({"extra_headers": {"X Bad": "x"}}, "header name"),
        ({"to": [("张三\nBcc: evil@example.com", "zhangsan@example.cn")]}, "to"),
        ({"to": [("张三", "zhangsan@exa mple.cn")]}, "domain"),
    ],
)
def test_header_injection_is_refused(overrides: dict[str, Any], message: str) -> None:
    """Line breaks or bad characters that would start a header of their own raise ComposeError."""
    with pytest.raises(ComposeError, match=message):
        _mail(**overrides)
