"""Parsing raw mail into InboundMail: Chinese charsets, HTML, attachments, threading ids, broken mail."""

from __future__ import annotations

import base64
import email
import hashlib
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from maildesk.ingest.msgids import MAX_ID_BYTES, normalise_message_id
from maildesk.ingest.parse import MAX_NAME_CHARS, MAX_REFERENCES, UNREADABLE_BODY, parse_mail
from maildesk.mail import InboundMail

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
CST = timezone(timedelta(hours=8))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse_fixture(name: str) -> InboundMail:
    return parse_mail(fixture(name))


@pytest.mark.parametrize(
    ("name", "subject", "sender", "sender_name", "in_text"),
    [
        ("gb2312_foxmail.eml", "报销系统无法登录", "wangzhe@corp.example.cn", "王喆", "王喆、李堃等同事"),
        ("gbk_outlook_qp.eml", "打印机卡纸", "zhaomin@corp.example.cn", "赵敏", "打印机（3楼东侧 HP M404）卡纸"),
        ("gb18030_8bit.eml", "档案系统生僻字𠮷显示为问号", "sunyue@corp.example.cn", "孙悦", "“𠮷野”这个姓名"),
        ("big5_outlook_tw.eml", "VPN連線失敗（錯誤809）", "chen.zm@tw.corp.example.cn", "陳志明", "台北辦公室的VPN"),
        ("utf8_gmail.eml", "【紧急】生产环境订单系统全部报错 500，客户无法下单", "zhoujie.ec@gmail.com", "周杰",
         "java.lang.NullPointerException"),
        ("raw8bit_headers_gbk.eml", "【告警】核心交换机CPU使用率95%", "monitor@corp.example.cn", "监控系统",
         "核心交换机 SW-CORE-01"),
        ("raw8bit_headers_utf8.eml", "会议室投影仪无法连接", "fengxue@corp.example.cn", "冯雪", "会议室A的投影仪"),
    ],
)  # fmt: skip
def test_chinese_charsets_decode_to_readable_text(
    name: str, subject: str, sender: str, sender_name: str, in_text: str
) -> None:
    """Subjects, sender names and bodies in GB2312/GBK/GB18030/Big5/UTF-8 (even raw 8-bit) read correctly."""
    mail = parse_fixture(name)
    assert mail.subject == subject
    assert mail.sender == sender
    assert mail.from_addr is not None and mail.from_addr.name == sender_name
    assert in_text in mail.text
    assert "\ufffd" not in mail.text + mail.subject


def test_gb2312_label_on_gbk_text_is_read_as_gb18030_without_complaint() -> None:
    """Text labelled GB2312 that holds GBK-only characters (喆, 堃) decodes fully, as mail clients show it."""
    mail = parse_fixture("gb2312_foxmail.eml")
    assert "李堃" in mail.text and mail.from_addr is not None and mail.from_addr.name == "王喆"
    assert mail.defects == ()


def test_raw_8bit_headers_are_decoded_and_noted() -> None:
    """Undeclared raw GBK bytes in headers become text, and the oddity is recorded as a defect."""
    mail = parse_fixture("raw8bit_headers_gbk.eml")
    assert mail.headers["subject"] == ("【告警】核心交换机CPU使用率95%",)
    assert any("raw 8-bit" in defect for defect in mail.defects)


def test_plain_part_is_preferred_and_html_kept() -> None:
    """In multipart/alternative the text/plain part is the text; the HTML part is kept alongside."""
    mail = parse_fixture("gbk_outlook_qp.eml")
    assert mail.text.startswith("各位好，\n\n打印机")
    assert mail.html is not None and "<p>各位好，</p>" in mail.html


def test_html_only_mail_becomes_text_with_line_breaks_and_no_noise() -> None:
    """A QQ Mail HTML-only mail reads as lines of text without tags, images, links, styles or scripts."""
    mail = parse_fixture("html_only_qqmail.eml")
    lines = mail.text.split("\n")
    assert lines[0] == "您好："
    assert "我的OA账号被锁定了，登录时提示“账户已锁定，请联系管理员”。" in lines[1]
    assert "详情见帮助页面" in lines
    for noise in ("<", "http", "qqmail", "font-size", "var x", "&nbsp;", "&amp;"):
        assert noise not in mail.text
    assert "\n\n\n" not in mail.text


def test_addresses_are_lower_cased_with_decoded_names() -> None:
    """Every address is lower-cased, and names in quoted RFC 2047 words are decoded."""
    mail = parse_fixture("gbk_outlook_qp.eml")
    assert [(a.name, a.addr) for a in mail.cc] == [
        ("行政部", "admin-dept@corp.example.cn"),
        ("刘洋", "liuyang@corp.example.cn"),
    ]
    assert parse_fixture("gb2312_foxmail.eml").sender == "wangzhe@corp.example.cn"


def test_headers_are_lower_cased_and_decoded() -> None:
    """The headers map has lower-cased names and decoded, unfolded values."""
    mail = parse_fixture("gbk_outlook_qp.eml")
    assert mail.headers["thread-topic"] == ("打印机卡纸",)
    assert mail.header("Content-Type") == 'multipart/alternative; boundary="_000_TYZPR06MB6263A1B2C3D4E5F6_"'
    assert all(name == name.lower() for name in mail.headers)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("attach_rfc2231_thunderbird.eml", [
            ("报错截图.png", "image/png"),
            ("应用服务器错误日志-20261125.log", "text/plain"),
        ]),
        ("attach_rfc2047_foxmail.eml", [
            ("权限申请表（采购部）.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ("审批截图.png", "image/png"),
        ]),
        ("attach_raw8bit_names.eml", [
            ("配置文件.ini", "application/octet-stream"),
            ("运行日志.txt", "text/plain"),
            ("evil.bat", "application/octet-stream"),
        ]),
    ],
)  # fmt: skip
def test_attachment_names_in_chinese(name: str, expected: list[tuple[str, str]]) -> None:
    """File names in RFC 2231, RFC 2047 (inside quotes) and raw UTF-8/GBK decode; paths are cut off."""
    mail = parse_fixture(name)
    assert [(a.filename, a.content_type) for a in mail.attachments] == expected
    assert all(a.size > 0 and not a.inline for a in mail.attachments)


def test_attachment_content_is_decoded() -> None:
    """Attachment bytes are the decoded content, and a text attachment is not taken for the body."""
    mail = parse_fixture("attach_rfc2231_thunderbird.eml")
    assert mail.attachments[0].data.startswith(b"\x89PNG\r\n")
    assert "连接数据库超时".encode() in mail.attachments[1].data
    assert mail.text == "数据库连接超时，日志和截图见附件。\n\n钱伟\n"


def test_inline_image_keeps_its_content_id() -> None:
    """An Outlook inline image is an inline attachment with its Content-ID, referenced from the HTML."""
    mail = parse_fixture("inline_image_outlook.eml")
    (image,) = mail.attachments
    assert (image.filename, image.content_type, image.inline) == ("image001.png", "image/png", True)
    assert image.content_id == "image001.png@01DB3F12.A1B2C3D0"
    assert mail.html is not None and f"cid:{image.content_id}" in mail.html
    assert mail.text.startswith("您好，报错界面如下：")


def test_forwarded_mail_is_an_attachment_that_parses_again() -> None:
    """A message/rfc822 part is one .eml attachment named after its subject, not mixed into the text."""
    mail = parse_fixture("forward_rfc822.eml")
    (forwarded,) = mail.attachments
    assert (forwarded.filename, forwarded.content_type) == ("您的工单已受理.eml", "message/rfc822")
    inner = parse_mail(forwarded.data)
    assert inner.message_id == "vendor-ticket-8812@vendor.example.com"
    assert inner.text == "您好，我们已受理您的工单 V-8812。\n"
    assert "V-8812" not in mail.text


def test_threading_ids_are_bare() -> None:
    """Message-ID, In-Reply-To and References come without angle brackets or comments, oldest first."""
    mail = parse_fixture("reply_threading.eml")
    assert mail.message_id == "202611221520000011@corp.example.cn"
    assert mail.in_reply_to == "ts.20261122.0007.2@maildesk.corp.example.cn"
    assert mail.references == (
        "202611220930410237201@corp.example.cn",
        "ts.20261122.0007.1@maildesk.corp.example.cn",
        "ts.20261122.0007.2@maildesk.corp.example.cn",
    )


def test_missing_message_id_is_synthesised_from_the_bytes() -> None:
    """A mail without Message-ID gets a stable one from the SHA-256 of its bytes, and a defect."""
    raw = fixture("raw8bit_headers_gbk.eml")
    mail = parse_mail(raw)
    assert mail.message_id == hashlib.sha256(raw).hexdigest()[:32] + "@maildesk.invalid"
    assert parse_mail(raw).message_id == mail.message_id
    assert any("Message-ID" in defect for defect in mail.defects)


def test_dates_are_aware_or_none() -> None:
    """Dates keep their offset; "-0000" is UTC; an unparsable date is None with a defect."""
    assert parse_fixture("gb2312_foxmail.eml").date == datetime(2026, 11, 22, 9, 30, 41, tzinfo=CST)
    unknown_zone = parse_mail(b"Date: Sun, 22 Nov 2026 01:30:41 -0000\r\n\r\nx\r\n")
    assert unknown_zone.date == datetime(2026, 11, 22, 1, 30, 41, tzinfo=UTC)
    broken = parse_fixture("broken_bad_base64.eml")
    assert broken.date is None and any("Date" in defect for defect in broken.defects)


def test_format_flowed_lines_are_joined() -> None:
    """Thunderbird's format=flowed soft line breaks are undone, hard ones kept."""
    raw = (
        b"From: a@example.com\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n"
        + "第一行很长， \r\n接着写完。\r\n第二行\r\n".encode()
    )
    assert parse_mail(raw).text == "第一行很长， 接着写完。\n第二行\n"


def test_html_charset_from_meta_tag_and_nul_bytes_removed() -> None:
    """An HTML part without a charset parameter uses its <meta> charset; NUL bytes never reach the text."""
    html = '<meta charset="gbk"><div>无法打印</div><div>\x00谢谢</div>'.encode("gbk")
    mail = parse_mail(b"From: a@example.com\r\nContent-Type: text/html\r\n\r\n" + html)
    assert mail.text == "无法打印\n谢谢"


@pytest.mark.parametrize(
    ("name", "defect", "in_text", "attachments"),
    [
        ("broken_no_close_boundary.eml", "CloseBoundaryNotFoundDefect", "附件上传到一半断了。", 1),
        ("broken_bad_base64.eml", "invalid base64", "报错信息", 0),
        ("broken_garbage.eml", "StartBoundaryNotFoundDefect", "", 0),
        ("broken_no_headers.eml", "no headers", "服务器又宕机了，请尽快处理！", 0),
        ("empty.eml", "empty input", "", 0),
    ],
)
def test_broken_mail_is_salvaged_with_defects(name: str, defect: str, in_text: str, attachments: int) -> None:
    """Truncated MIME, bad base64, garbage, no headers and empty input give a mail with defects, no error."""
    mail = parse_fixture(name)
    assert any(defect in found for found in mail.defects), mail.defects
    assert in_text in mail.text
    assert len(mail.attachments) == attachments
    assert mail.message_id


def test_deep_nesting_is_cut_off() -> None:
    """A mail nested hundreds of multiparts deep is parsed down to a limit and flagged, not crashed on."""
    depth = 300
    raw = b"From: a@example.com\r\n"
    for level in range(depth):
        raw += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level, level)
    raw += b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    for level in reversed(range(depth)):
        raw += b"--b%d--\r\n" % level
    mail = parse_mail(raw)
    assert any("too deep" in defect or "skipped" in defect for defect in mail.defects), mail.defects


def test_random_bytes_never_raise() -> None:
    """Random byte strings of any length parse into a mail without raising."""
    rng = random.Random(7)
    for _ in range(300):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 600)))
        assert isinstance(parse_mail(raw), InboundMail)


def _mutations(raw: bytes, rng: random.Random) -> list[bytes]:
    cut = rng.randrange(len(raw) + 1)
    start, end = sorted(rng.randrange(len(raw) + 1) for _ in range(2))
    flipped = bytearray(raw)
    for _ in range(max(1, len(raw) // 50)):
        if flipped:
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
    return [
        raw[:cut],  # truncated upload
        raw[:start] + raw[end:],  # a chunk lost
        bytes(flipped),  # bit rot
        raw[:cut] + bytes(rng.randrange(256) for _ in range(64)) + raw[cut:],  # garbage inserted
        raw.replace(b"\r\n", b"\n")[: len(raw) // 2] + b"\r\n--",  # mixed line ends, dangling boundary
        raw.replace(b"=?", b"=?x-bogus?B?!!").replace(b"base64", b"quoted-printable"),  # wrong encodings
    ]


def test_mutated_fixtures_never_raise() -> None:
    """Thousands of truncated, corrupted and mangled variants of every fixture parse without raising."""
    rng = random.Random(20261122)
    count = 0
    for path in sorted(FIXTURES.glob("*.eml")):
        raw = path.read_bytes()
        for _ in range(12):
            for variant in _mutations(raw, rng):
                mail = parse_mail(variant)
                assert mail.message_id and isinstance(mail.defects, tuple)
                count += 1
    assert count > 1000


# --- odd and huge mail ---------------------------------------------------------------------

def _head(**headers: str) -> bytes:
    lines = [f"{name.replace('_', '-')}: {value}" for name, value in
             {"From": "李娜 <li.na@example.com>", "To": "support@example.com", "Subject": "VPN",
              **headers}.items()]
    return ("\r\n".join(lines) + "\r\n").encode()


def _base64_lines(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


@pytest.mark.parametrize(
    ("message_id", "stored"),
    [
        ("<abc123>", "abc123"),
        ("<ab c@client.example>", "abc@client.example"),
        ("=?utf-8?b?" + base64.b64encode("<工单7@例子.中国>".encode()).decode() + "?=", "工单7@例子.中国"),
    ],
)
def test_unusual_message_ids_are_kept_normalised(message_id: str, stored: str) -> None:
    """A Message-ID without "@", with spaces or in Chinese is kept (cleaned), not replaced by a made-up one."""
    mail = parse_mail(_head(Message_ID=message_id) + b"\r\nhello\r\n")
    assert mail.message_id == stored
    assert not any("Message-ID" in defect for defect in mail.defects)


def test_raw_8bit_and_huge_ids_in_every_threading_header_are_normalised() -> None:
    """Raw UTF-8 ids and a 100 kB id come out the same from Message-ID, In-Reply-To and References."""
    huge = "<" + "q" * 100_000 + "@client.example>"
    raw = _head(Message_ID=huge, In_Reply_To=huge, References=f"<root> {huge}") + b"\r\nhello\r\n"
    mail = parse_mail(raw.replace(b"<root>", "<根@例子.中国>".encode()))
    assert mail.message_id == mail.in_reply_to == mail.references[-1] == normalise_message_id(huge)
    assert len(mail.message_id.encode()) <= MAX_ID_BYTES
    assert mail.references[0] == "根@例子.中国"


def test_a_references_header_of_thousands_of_ids_keeps_the_root_and_the_latest() -> None:
    """3,000 references shrink to the first and the last 99, and the trimming is a defect."""
    refs = " ".join(f"<r{n}@client.example>" for n in range(3000))
    mail = parse_mail(_head(References=refs) + b"\r\nhello\r\n")
    assert len(mail.references) == MAX_REFERENCES
    assert mail.references[0] == "r0@client.example" and mail.references[-1] == "r2999@client.example"
    assert mail.references[1] == "r2901@client.example"
    assert any("References" in defect for defect in mail.defects)


def _mixed(*parts: bytes, boundary: bytes = b"=_b") -> bytes:
    head = _head(MIME_Version="1.0", Content_Type=f'multipart/mixed; boundary="{boundary.decode()}"')
    body = b"".join(b"--" + boundary + b"\r\n" + part for part in parts)
    return head + b"\r\n" + body + b"--" + boundary + b"--\r\n"


TEXT_PART = "Content-Type: text/plain; charset=utf-8\r\n\r\n附件是导出的日志。\r\n".encode()


@pytest.mark.parametrize("size", [2_000_000, 57 * 30_000, 57 * 30_000 + 1])
def test_a_big_base64_attachment_decodes_exactly(size: int) -> None:
    """A multi-megabyte attachment (any padding) comes out byte for byte, as the standard library decodes it."""
    data = random.Random(size).randbytes(size)
    attachment = (b'Content-Type: application/zip; name="logs.zip"\r\nContent-Transfer-Encoding: base64\r\n'
                  b'Content-Disposition: attachment; filename="logs.zip"\r\n\r\n' + _base64_lines(data))
    mail = parse_mail(_mixed(TEXT_PART, attachment))
    (part,) = mail.attachments
    assert (part.filename, part.size, part.data == data) == ("logs.zip", size, True)
    assert mail.text == "附件是导出的日志。"
    assert not any("base64" in defect for defect in mail.defects)


def test_base64_pasted_into_a_text_comes_back_whole() -> None:
    """A long base64 blob pasted into a plain-text mail stays in the text exactly as the stdlib reads it."""
    blob = _base64_lines(random.Random(3).randbytes(120_000))
    raw = _mixed(b"Content-Type: text/plain\r\n\r\nthe key is:\r\n" + blob + b"thanks\r\n")
    mail = parse_mail(raw)
    whole = email.message_from_bytes(raw).get_payload(0).get_payload()
    assert mail.text == whole.replace("\r\n", "\n")
    assert blob.decode().replace("\r\n", "\n") in mail.text


def test_a_forwarded_mail_with_a_big_attachment_is_kept_byte_for_byte() -> None:
    """A message/rfc822 part holding a big attachment is the same .eml attachment as the stdlib makes it."""
    data = random.Random(5).randbytes(300_000)
    inner = (_head(Subject="Original request", Message_ID="<inner@client.example>", MIME_Version="1.0",
                   Content_Type='multipart/mixed; boundary="in"')
             + b"\r\n--in\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             + _base64_lines(data) + b"--in--\r\n")
    mail = parse_mail(_mixed(TEXT_PART, b"Content-Type: message/rfc822\r\n\r\n" + inner))
    (forwarded,) = mail.attachments
    assert forwarded.filename == "Original request.eml"
    assert parse_mail(forwarded.data).attachments[0].data == data


def _nested(depth: int, sender: str = "From: 王哲 <wangzhe@example.com>\r\n") -> bytes:
    raw = (sender + "To: support@example.com\r\nSubject: 打印机卡纸\r\nMessage-ID: <deep@client.example>\r\n").encode()
    for level in range(depth):
        raw += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (level, level)
    raw += "Content-Type: text/plain; charset=utf-8\r\n\r\n三楼打印机卡纸\r\n".encode()
    for level in reversed(range(depth)):
        raw += b"--b%d--\r\n" % level
    return raw


def test_mime_nested_ten_thousand_deep_still_gives_the_headers() -> None:
    """When the body cannot be walked (the parser's recursion fails), sender, subject and id are still read."""
    mail = parse_mail(_nested(10_000))
    assert (mail.sender, mail.subject, mail.message_id) == ("wangzhe@example.com", "打印机卡纸", "deep@client.example")
    assert any(defect.startswith(UNREADABLE_BODY) and "RecursionError" in defect for defect in mail.defects)


def _report(content_type: str, *, report_part: str = "message/delivery-status", wrap: bool = False) -> bytes:
    parts = [b"Content-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n",
             f"Content-Type: {report_part}\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
             "Final-Recipient: rfc822; li.na@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n".encode()]
    body = b"".join(b"--r\r\n" + p for p in parts) + b"--r--\r\n"
    if wrap:  # the report inside a multipart/mixed, as some gateways forward it
        body = (b"--w\r\nContent-Type: " + content_type.encode() + b"\r\n\r\n" + body + b"--w--\r\n")
        content_type = "multipart/mixed; boundary=w"
    head = _head(From="Mail Delivery <notices@mail.example.net>", Subject="Message not delivered: VPN",
                 Content_Type=content_type)
    return head + b"\r\n" + body


@pytest.mark.parametrize(
    ("raw", "reports"),
    [
        (_report("multipart/report; report-type=delivery-status; boundary=r"), ("delivery-status",)),
        (_report("multipart/report; boundary=r"), ("delivery-status",)),  # no report-type at all
        (_report("multipart/report; report-type*=us-ascii''delivery-status; boundary=r"), ("delivery-status",)),
        (_report("multipart/mixed; boundary=r"), ("delivery-status",)),  # the part alone says it
        (_report("multipart/report; report-type=delivery-status; boundary=r", wrap=True), ("delivery-status",)),
        (_report("multipart/report; report-type=disposition-notification; boundary=r",
                 report_part="message/disposition-notification"), ("disposition-notification",)),
        (_mixed(TEXT_PART, b"Content-Type: message/rfc822\r\n\r\n"
                + _report("multipart/report; report-type=delivery-status; boundary=r")), ()),  # forwarded as a file
        (fixture("gb2312_foxmail.eml"), ()),
    ],
)
def test_reports_are_known_by_their_mime_structure(raw: bytes, reports: tuple[str, ...]) -> None:
    """A delivery or read report is recognised by its parts, however the sender labels or wraps it."""
    assert parse_mail(raw).reports == reports


def test_names_and_addresses_wider_than_the_store_are_cut_or_refused() -> None:
    """A 300-character display name is cut to 200; a 400-character address is no address, with a defect."""
    named = parse_mail(_head(From=f"{'张' * 300} <zhang@example.com>") + b"\r\nhi\r\n")
    assert named.from_addr is not None and named.from_addr.name == "张" * MAX_NAME_CHARS
    huge = parse_mail(_head(From=f"{'a' * 400}@example.com") + b"\r\nhi\r\n")
    assert huge.from_addr is None
    assert any("address of 412 characters" in defect for defect in huge.defects)
