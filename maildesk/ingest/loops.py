"""Which mails must never be answered: our own, bounces, auto-replies and list mail.

The rules are a table, checked in order; the first that fires decides and says why.
Evidence from headers and the MIME structure comes before guesses from the subject (a
delivery report is known by its delivery-status part, not by its sender's name), and within
each, the kinds rank OWN > BOUNCE > AUTO_REPLY > LIST. A subject guess is anchored at the start and needs
the separator senders put after it ("自动回复：…", "Undeliverable: …"), so that a person
asking about auto-replies ("Outlook 自动回复怎么设置") or bounces ("退信问题咨询") still
gets a ticket.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from maildesk.mail import InboundMail


class MailKind(StrEnum):
    """What a mail is, as far as answering it goes."""

    NORMAL = "normal"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    LIST = "list"
    OWN = "own"


@dataclass(frozen=True)
class Classification:
    """The kind of a mail and the rule that decided it."""

    kind: MailKind
    reason: str


@dataclass(frozen=True)
class _Context:
    mail: InboundMail
    own_addresses: frozenset[str]
    loop_header: str


_Rule = Callable[[_Context], str | None]  # the reason when the rule fires, else None

_DAEMON_SENDER = re.compile(r"^(?:mailer[-_.]?daemon|postmaster)(?:[+@]|$)", re.IGNORECASE)
_REPORT_TYPE = re.compile(r"""report-type\s*=\s*["']?([\w-]+)""", re.IGNORECASE)
_SUPPRESS_VALUES = frozenset({"oof", "all", "autoreply"})
_END = r"\s*(?:[:：\]】)）]|$)"  # the separator a robot puts after its subject prefix
_BOUNCE_SUBJECT = re.compile(
    r"^\s*[\[【(（]?\s*(?:"
    r"系统退信|退信(?:通知)?|邮件退信|未送达|无法送达|投递失败|邮件投递失败"
    r"|undeliverable|undelivered mail returned to sender|delivery status notification[^:：]*"
    r"|mail delivery (?:failed|failure)[^:：]*|returned mail|delivery failure|failure notice"
    r"|non[- ]?delivery report)" + _END,
    re.IGNORECASE,
)
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*[\[【(（]?\s*(?:"
    r"自动回复|自动答复|自動回覆|自動回復|自動答覆|休假自动回复|外出自动回复"
    r"|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|out of (?:the )?office(?: autoreply)?"
    r"|vacation (?:reply|response|auto-?reply))" + _END,
    re.IGNORECASE,
)


def _own_sender(ctx: _Context) -> str | None:
    sender = ctx.mail.sender
    return f"sent from our own address {sender}" if sender and sender in ctx.own_addresses else None


def _loop_header(ctx: _Context) -> str | None:
    value = ctx.mail.header(ctx.loop_header)
    return f"carries our loop header {ctx.loop_header}: {value}" if value is not None else None


def _report_type(ctx: _Context) -> str:
    content_type = ctx.mail.header("content-type") or ""
    if not content_type.lower().lstrip().startswith("multipart/report"):
        return ""
    found = _REPORT_TYPE.search(content_type)
    return found.group(1).lower() if found else ""


def _delivery_report(ctx: _Context) -> str | None:
    # by structure, whoever sent it: a robot need not call itself MAILER-DAEMON, nor label its
    # report (the report-type may be missing, RFC 2231-encoded, or the report sit in a multipart/mixed)
    if "delivery-status" in ctx.mail.reports or _report_type(ctx) == "delivery-status":
        return "delivery status report (multipart/report or a message/delivery-status part)"
    return None


def _failed_recipients(ctx: _Context) -> str | None:
    value = ctx.mail.header("x-failed-recipients")
    return f"X-Failed-Recipients: {value}" if value is not None else None


def _daemon_sender(ctx: _Context) -> str | None:
    return f"sent by {ctx.mail.sender}" if _DAEMON_SENDER.match(ctx.mail.sender) else None


def _null_return_path(ctx: _Context) -> str | None:
    value = ctx.mail.header("return-path")
    if value is not None and value.strip() in ("<>", ""):
        return "empty Return-Path <> (only delivery reports and robots send with a null sender)"
    return None


def _auto_submitted(ctx: _Context) -> str | None:
    value = ctx.mail.header("auto-submitted")
    if value is None or value.split(";")[0].strip().lower() in ("", "no"):
        return None
    return f"Auto-Submitted: {value}"


def _present(header: str) -> _Rule:
    def rule(ctx: _Context) -> str | None:
        value = ctx.mail.header(header)
        if value is None or value.strip().lower() in ("no", "false", "0"):
            return None
        return f"{header}: {value}"

    return rule


def _suppress(ctx: _Context) -> str | None:
    value = ctx.mail.header("x-auto-response-suppress") or ""
    tokens = {token.strip().lower() for token in value.split(",")}
    return f"X-Auto-Response-Suppress: {value}" if tokens & _SUPPRESS_VALUES else None


def _precedence(*values: str) -> _Rule:
    def rule(ctx: _Context) -> str | None:
        value = (ctx.mail.header("precedence") or "").strip().lower()
        return f"Precedence: {value}" if value in values else None

    return rule


def _read_receipt(ctx: _Context) -> str | None:
    if "disposition-notification" in ctx.mail.reports or _report_type(ctx) == "disposition-notification":
        return "read receipt (disposition notification)"
    return None


def _subject(pattern: re.Pattern[str], looks_like: str) -> _Rule:
    def rule(ctx: _Context) -> str | None:
        subject = ctx.mail.subject
        return f"subject looks like {looks_like}: {subject[:80]!r}" if pattern.match(subject) else None

    return rule


_RULES: tuple[tuple[MailKind, _Rule], ...] = (
    (MailKind.OWN, _own_sender),
    (MailKind.OWN, _loop_header),
    (MailKind.BOUNCE, _delivery_report),
    (MailKind.BOUNCE, _failed_recipients),
    (MailKind.BOUNCE, _daemon_sender),
    (MailKind.AUTO_REPLY, _auto_submitted),
    (MailKind.AUTO_REPLY, _present("X-Autoreply")),
    (MailKind.AUTO_REPLY, _present("X-Autorespond")),
    (MailKind.AUTO_REPLY, _present("X-Autogenerated")),
    (MailKind.AUTO_REPLY, _suppress),
    (MailKind.AUTO_REPLY, _precedence("auto_reply", "auto-reply")),
    (MailKind.AUTO_REPLY, _read_receipt),
    (MailKind.LIST, _present("List-Id")),
    (MailKind.LIST, _present("List-Unsubscribe")),
    (MailKind.LIST, _precedence("bulk", "list", "junk")),
    # Weaker evidence, only when no header said anything.
    (MailKind.BOUNCE, _null_return_path),
    (MailKind.BOUNCE, _subject(_BOUNCE_SUBJECT, "a bounce")),
    (MailKind.AUTO_REPLY, _subject(_AUTO_REPLY_SUBJECT, "an automatic reply")),
)


def classify(mail: InboundMail, own_addresses: frozenset[str], loop_header: str = "X-Maildesk-Loop") -> Classification:
    """Decide whether ``mail`` is normal or one that must never trigger a mail from us."""
    ctx = _Context(mail, frozenset(a.strip().lower() for a in own_addresses), loop_header.lower())
    for kind, rule in _RULES:
        reason = rule(ctx)
        if reason:
            return Classification(kind, reason)
    return Classification(MailKind.NORMAL, "no sign of a robot, a list or a loop")


def is_out_of_office(mail: InboundMail) -> bool:
    """Whether an auto-reply says its sender is away: a vacation or out-of-office responder's answer
    (``Auto-Submitted: auto-replied``, ``X-Autoreply``, an "自动回复：…" subject), not a read receipt
    or a robot's notification (``auto-generated``)."""
    if "disposition-notification" in mail.reports:
        return False
    auto = (mail.header("auto-submitted") or "").split(";")[0].strip().lower()
    if auto == "auto-replied":
        return True
    ctx = _Context(mail, frozenset(), "")
    if any(rule(ctx) for rule in (_present("X-Autoreply"), _present("X-Autorespond"),
                                  _precedence("auto_reply", "auto-reply"))):
        return True
    return _AUTO_REPLY_SUBJECT.match(mail.subject) is not None
