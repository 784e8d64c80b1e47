"""Loop and noise detection: our own mail, bounces, auto-replies and list mail never get answered."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from maildesk.ingest.loops import Classification, MailKind, classify
from maildesk.ingest.parse import parse_mail
from maildesk.mail import InboundMail

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
OWN = frozenset({"support@corp.example.cn", "Helpdesk@Corp.Example.CN"})


def mail(subject: str = "报销系统无法登录", sender: str = "wangzhe@corp.example.cn", **headers: str) -> InboundMail:
    """A small real mail with the given subject, sender and extra headers (underscores become dashes)."""
    encoded = base64.b64encode(subject.encode()).decode()
    lines = [f"From: {sender}", "To: support@corp.example.cn", f"Subject: =?utf-8?B?{encoded}?="]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    lines += ["Content-Type: text/plain; charset=utf-8", "", "您好，请帮忙看一下。"]
    return parse_mail("\r\n".join(lines).encode())


def kind_of(message: InboundMail) -> MailKind:
    return classify(message, OWN).kind


@pytest.mark.parametrize(
    ("message", "kind", "reason_has"),
    [
        # Our own mail, by address (any case) or by loop header.
        (mail(sender="Support@Corp.Example.CN"), MailKind.OWN, "support@corp.example.cn"),
        (mail(sender="helpdesk@corp.example.cn"), MailKind.OWN, "helpdesk@corp.example.cn"),
        (mail(X_Maildesk_Loop="maildesk-1"), MailKind.OWN, "X-Maildesk-Loop"),
        # Bounces.
        (mail(Content_Type='multipart/report; report-type="delivery-status"; boundary=x'), MailKind.BOUNCE,
         "delivery status"),
        (mail(X_Failed_Recipients="nobody@corp.example.cn"), MailKind.BOUNCE, "X-Failed-Recipients"),
        (mail(sender="MAILER-DAEMON@mx.corp.example.cn"), MailKind.BOUNCE, "mailer-daemon"),
        (mail(sender="PostMaster@qq.com"), MailKind.BOUNCE, "postmaster@qq.com"),
        (mail(Return_Path="<>"), MailKind.BOUNCE, "Return-Path"),
        (mail("Undeliverable: 报销系统无法登录"), MailKind.BOUNCE, "bounce"),
        (mail("Delivery Status Notification (Failure)"), MailKind.BOUNCE, "bounce"),
        (mail("Undelivered Mail Returned to Sender"), MailKind.BOUNCE, "bounce"),
        (mail("系统退信"), MailKind.BOUNCE, "bounce"),
        (mail("退信：[TS-20261122-0007] 报销系统无法登录"), MailKind.BOUNCE, "bounce"),
        (mail("未送达: 报销系统无法登录"), MailKind.BOUNCE, "bounce"),
        # Automatic replies.
        (mail(Auto_Submitted="auto-replied"), MailKind.AUTO_REPLY, "Auto-Submitted"),
        (mail(Auto_Submitted="auto-generated; owner-email=ops@corp.example.cn"), MailKind.AUTO_REPLY,
         "Auto-Submitted"),
        (mail(X_Autoreply="yes"), MailKind.AUTO_REPLY, "X-Autoreply"),
        (mail(X_Autorespond="Out of office"), MailKind.AUTO_REPLY, "X-Autorespond"),
        (mail(X_Auto_Response_Suppress="All"), MailKind.AUTO_REPLY, "X-Auto-Response-Suppress"),
        (mail(X_Auto_Response_Suppress="DR, OOF"), MailKind.AUTO_REPLY, "X-Auto-Response-Suppress"),
        (mail(X_Auto_Response_Suppress="AutoReply"), MailKind.AUTO_REPLY, "X-Auto-Response-Suppress"),
        (mail(Precedence="auto_reply"), MailKind.AUTO_REPLY, "Precedence"),
        (mail(Content_Type="multipart/report; report-type=disposition-notification; boundary=x"),
         MailKind.AUTO_REPLY, "read receipt"),
        (mail("自动回复：[TS-20261122-0007] 报销系统无法登录"), MailKind.AUTO_REPLY, "automatic reply"),
        (mail("自动答复: 报销系统无法登录"), MailKind.AUTO_REPLY, "automatic reply"),
        (mail("【自动回复】报销系统无法登录"), MailKind.AUTO_REPLY, "automatic reply"),
        (mail("Automatic reply: VPN issue"), MailKind.AUTO_REPLY, "automatic reply"),
        (mail("Out of Office: VPN issue"), MailKind.AUTO_REPLY, "automatic reply"),
        (mail("Out of Office AutoReply: VPN issue"), MailKind.AUTO_REPLY, "automatic reply"),
        (mail("自動回覆: VPN連線失敗"), MailKind.AUTO_REPLY, "automatic reply"),
        # Lists and bulk mail.
        (mail(List_Id="<it-news.corp.example.cn>"), MailKind.LIST, "List-Id"),
        (mail(List_Unsubscribe="<mailto:unsubscribe@news.example.com>"), MailKind.LIST, "List-Unsubscribe"),
        (mail(Precedence="bulk"), MailKind.LIST, "Precedence"),
        (mail(Precedence="list"), MailKind.LIST, "Precedence"),
        (mail(Precedence="junk"), MailKind.LIST, "Precedence"),
    ],
)  # fmt: skip
def test_each_signal_is_recognised(message: InboundMail, kind: MailKind, reason_has: str) -> None:
    """Every header and subject signal of a robot, a list or our own mail gives its kind and says why."""
    result = classify(message, OWN)
    assert result.kind == kind
    assert reason_has.lower() in result.reason.lower()


@pytest.mark.parametrize(
    "message",
    [
        mail(),
        mail("自动备份任务失败，请检查"),
        mail("自动化测试环境无法访问"),
        mail("Outlook 自动回复怎么设置？"),
        mail("请问如何关闭自动回复"),
        mail("关于退信问题的咨询"),
        mail("退信太多导致客户收不到报价单"),
        mail("Re: out of office setup for the team"),
        mail("回复：自动回复：报销系统无法登录"),
        mail(Auto_Submitted="no"),
        mail(X_Auto_Response_Suppress="DR, RN, NRN"),
        mail(Precedence="first-class"),
    ],
)
def test_people_writing_about_robots_stay_normal(message: InboundMail) -> None:
    """Mails by people, even about auto-replies, bounces or "自动" things, are normal and get a ticket."""
    assert classify(message, OWN) == Classification(MailKind.NORMAL, "no sign of a robot, a list or a loop")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("gb2312_foxmail.eml", MailKind.NORMAL),
        ("html_only_qqmail.eml", MailKind.NORMAL),
        ("reply_threading.eml", MailKind.NORMAL),
        ("bounce_postfix_dsn.eml", MailKind.BOUNCE),
        ("bounce_qq_zh.eml", MailKind.BOUNCE),
        ("autoreply_exchange_zh.eml", MailKind.AUTO_REPLY),
        ("list_newsletter.eml", MailKind.LIST),
    ],
)
def test_real_mails_are_classified(name: str, kind: MailKind) -> None:
    """Real-looking Chinese mails, a Postfix DSN, a QQ bounce, an Exchange out-of-office and a newsletter."""
    assert kind_of(parse_mail((FIXTURES / name).read_bytes())) == kind


def report(content_type: str, part_type: str = "message/delivery-status", *, wrapped: bool = False) -> InboundMail:
    """A delivery report as a robot that does not call itself MAILER-DAEMON sends it."""
    parts = (b"--r\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
             b"--r\r\nContent-Type: " + part_type.encode() + b"\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
             b"Final-Recipient: rfc822; nobody@corp.example.cn\r\nAction: failed\r\nStatus: 5.1.1\r\n--r--\r\n")
    if wrapped:
        parts = b"--w\r\nContent-Type: " + content_type.encode() + b"\r\n\r\n" + parts + b"--w--\r\n"
        content_type = "multipart/mixed; boundary=w"
    head = ("From: Mail Delivery <notifications@mail.example.net>\r\nTo: support@corp.example.cn\r\n"
            f"Subject: Message not delivered: 报销系统无法登录\r\nContent-Type: {content_type}\r\n\r\n")
    return parse_mail(head.encode() + parts)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (report("multipart/report; boundary=r"), MailKind.BOUNCE),
        (report("multipart/report; report-type*=us-ascii''delivery-status; boundary=r"), MailKind.BOUNCE),
        (report("multipart/mixed; boundary=r"), MailKind.BOUNCE),
        (report("multipart/report; report-type=delivery-status; boundary=r", wrapped=True), MailKind.BOUNCE),
        (report("multipart/report; boundary=r", "message/global-delivery-status"), MailKind.BOUNCE),
        (report("multipart/report; boundary=r", "message/disposition-notification"), MailKind.AUTO_REPLY),
    ],
)  # fmt: skip
def test_reports_are_known_by_structure_whoever_sends_them(message: InboundMail, kind: MailKind) -> None:
    """A delivery report from any sender, unlabelled or wrapped, is a bounce; a read report an auto-reply."""
    result = classify(message, OWN)
    assert result.kind == kind
    assert "notification" in result.reason or "delivery" in result.reason


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (mail(sender="support@corp.example.cn", Auto_Submitted="auto-replied"), MailKind.OWN),
        (mail(X_Maildesk_Loop="1", Content_Type="multipart/report; report-type=delivery-status"), MailKind.OWN),
        (mail(Auto_Submitted="auto-replied", X_Failed_Recipients="x@corp.example.cn"), MailKind.BOUNCE),
        (mail(sender="mailer-daemon@qq.com", Precedence="auto_reply"), MailKind.BOUNCE),
        (mail(Auto_Submitted="auto-replied", List_Id="<it.corp.example.cn>"), MailKind.AUTO_REPLY),
        (mail("自动回复: 周报", Precedence="bulk"), MailKind.LIST),  # a header beats a subject guess
        (mail("自动回复: 周报", Return_Path="<>", Auto_Submitted="auto-replied"), MailKind.AUTO_REPLY),
    ],
)
def test_order_own_bounce_auto_reply_list(message: InboundMail, kind: MailKind) -> None:
    """With several signals, own mail wins, then bounce, auto-reply, list; headers beat subject guesses."""
    assert kind_of(message) == kind


def test_loop_header_name_is_configurable() -> None:
    """The loop header is looked up by the name the caller configured, in any case."""
    tagged = mail(X_Helpdesk_Instance="prod")
    assert classify(tagged, OWN).kind == MailKind.NORMAL
    assert classify(tagged, OWN, loop_header="x-helpdesk-instance").kind == MailKind.OWN


def test_mail_without_sender_or_headers_is_normal() -> None:
    """A mail with no headers at all cannot be told apart from a person's, so it stays normal."""
    assert kind_of(parse_mail("\r\n服务器宕机\r\n".encode())) == MailKind.NORMAL
    assert classify(parse_mail(b""), frozenset({""})).kind == MailKind.NORMAL
