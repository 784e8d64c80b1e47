"""Whether a mail proves who sent it: anyone can write any address into From.

Two proofs count for staff. The mail was sent to the ticket's staff reply
address, whose token only mails to staff carry (``maildesk.tokens``); or the
operator's own mail server checked it: an ``Authentication-Results`` header
with an authserv-id the operator listed (``intake.trusted_authserv_ids``) says
``dkim=pass`` with a signing domain (d=) aligned with the From domain, or
``dmarc=pass`` for it.

Only the results the operator's server wrote count (RFC 8601 §5). A receiving
server prepends its results, so they stand in the topmost run of trace fields,
above every field of the message as its sender wrote it. Reading from the top,
maildesk takes the first run of consecutive ``Authentication-Results`` with a
trusted authserv-id, found before any field that is not a trace field, and for
each method the first result in that run: a "pass" written lower down, even
with a trusted id, is the sender's forgery and is ignored. The operator's
server must still remove incoming ``Authentication-Results`` that carry its own
authserv-id (README, "Security model"), as RFC 8601 requires of it.

The same results say when the From address failed (DMARC fail, or SPF fail for
the From domain with no aligned DKIM pass): such a mail is flagged, whoever it
claims to be from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from maildesk.mail import InboundMail
from maildesk.store.models import Ticket
from maildesk.tokens import ReplyAddresses, Role

# headers that carry the envelope recipient when the reply address is only in the envelope (Bcc)
_RECIPIENT_HEADERS = ("delivered-to", "x-original-to", "envelope-to")
# fields receiving servers and delivery agents add above a message; anything else is the sender's
_TRACE = frozenset({
    "return-path", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "received", "x-received",
    "received-spf", "authentication-results", "arc-seal", "arc-message-signature", "arc-authentication-results",
    "x-greylist", "x-original-authentication-results",
})  # fmt: skip
_TRACE_PREFIXES = ("x-spam-", "x-rspamd-", "x-virus-", "x-amavis-", "x-ham-report")
_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*(?P<method>[\w.-]+)\s*=\s*(?P<result>[\w-]+)(?P<props>.*)$", re.DOTALL)
_PROP = re.compile(r"(?P<key>[\w-]+\.[\w.-]+)\s*=\s*(?P<value>[^\s;]+)")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
FROM_FAILED_FLAG = "from_failed_auth"  # the ticket flag of a mail whose From address failed


@dataclass(frozen=True)
class Proof:
    """Whether the sender is proven, and how (or why not), for the audit trail."""

    proven: bool
    how: str


@dataclass(frozen=True)
class MailAuth:
    """What the operator's server found about the From address: a pass that proves it, or a failure."""

    passed: str | None = None  # "dkim" or "dmarc", aligned with the From domain
    failed: str | None = None  # why the From address failed, e.g. "dmarc=fail"


def header_fields(raw: bytes) -> list[tuple[str, str]]:
    """The header fields of a raw mail, top first: (lower-cased name, unfolded value)."""
    end = _HEADER_END.search(raw)
    block = (raw[: end.start()] if end else raw).decode("ascii", "replace")
    fields: list[tuple[str, str]] = []
    for line in block.splitlines():
        if line[:1] in (" ", "\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + " " + line.strip())
        elif ":" in line:
            name, _, value = line.partition(":")
            fields.append((name.strip().lower(), value.strip()))
    return fields


def _is_trace(name: str) -> bool:
    return name in _TRACE or name.startswith(_TRACE_PREFIXES)


def _authserv_id(value: str) -> str:
    first = _COMMENT.sub(" ", value).split(";", 1)[0].split()
    return first[0].lower() if first else ""


def trusted_results(fields: Sequence[tuple[str, str]], trusted_ids: Iterable[str]) -> list[str]:
    """The ``Authentication-Results`` values the operator's server wrote (see the module docstring)."""
    trusted = {t.strip().lower() for t in trusted_ids if t.strip()}
    run: list[str] = []
    for name, value in fields:
        if name == "authentication-results" and _authserv_id(value) in trusted:
            run.append(value)
        elif run or not _is_trace(name):
            break  # the run of our server's results ended, or the sender's own fields began
    return run


def _results(values: Iterable[str]) -> dict[str, tuple[str, dict[str, str]]]:
    """method → (result, properties), the first (topmost) result of each method."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for value in values:
        for part in _COMMENT.sub(" ", value).split(";")[1:]:
            match = _RESULT.match(part)
            if match is None:
                continue
            method = match.group("method").lower()
            props = {m.group("key").lower(): m.group("value") for m in _PROP.finditer(match.group("props"))}
            found.setdefault(method, (match.group("result").lower(), props))
    return found


def _aligned(domain: str, claimed: str) -> bool:
    claimed = claimed.strip().lower().lstrip("@")
    if "@" in claimed:
        claimed = claimed.rsplit("@", 1)[1]
    return "." in claimed and (domain == claimed or domain.endswith("." + claimed))


def mail_auth(raw: bytes, trusted_ids: Iterable[str], sender: str) -> MailAuth:
    """What the trusted ``Authentication-Results`` of ``raw`` say about ``sender``'s domain."""
    values = trusted_results(header_fields(raw), trusted_ids)
    if not values:
        return MailAuth()
    domain = sender.rsplit("@", 1)[-1].lower()
    results = _results(values)
    dkim = results.get("dkim")
    dkim_pass = dkim is not None and dkim[0] == "pass" and any(
        _aligned(domain, dkim[1].get(k, "")) for k in ("header.d", "header.i"))
    dmarc = results.get("dmarc")
    if dmarc is not None and _aligned(domain, dmarc[1].get("header.from", domain)):
        if dmarc[0] == "pass":
            return MailAuth(passed="dmarc")
        if dmarc[0] == "fail":
            return MailAuth(failed="dmarc=fail")
    if dkim_pass:
        return MailAuth(passed="dkim")
    spf = results.get("spf")
    if spf is not None and spf[0] == "fail" and _aligned(domain, spf[1].get("smtp.mailfrom", "")):
        return MailAuth(failed="spf=fail")
    return MailAuth()


def failed_from(mail: InboundMail, trusted_ids: Sequence[str]) -> str | None:
    """Why the operator's mail server says the From address of ``mail`` failed, or None."""
    return mail_auth(mail.raw, trusted_ids, mail.sender).failed if trusted_ids else None


def recipients(mail: InboundMail) -> list[str]:
    found = [a.addr for a in (*mail.to, *mail.cc)]
    for name in _RECIPIENT_HEADERS:
        for value in mail.headers.get(name, ()):
            found.extend(part.strip(" <>").lower() for part in value.split(","))
    return list(dict.fromkeys(a for a in found if a))


def sender_proof(
    mail: InboundMail, ticket: Ticket, addresses: ReplyAddresses, trusted_ids: Iterable[str], now: datetime,
) -> Proof:
    """Whether ``mail`` proves it comes from its From address (a staff member of ``ticket``'s desk)."""
    return _proof(mail, addresses, trusted_ids, now, number=ticket.number)


def staff_proof(mail: InboundMail, addresses: ReplyAddresses, trusted_ids: Iterable[str], now: datetime) -> Proof:
    """Whether ``mail`` proves its From address without a ticket of its own to go by: sent to the staff
    reply address of any ticket (only staff receive one), or vouched for by the operator's mail server.

    Used for what a staff member does outside a ticket's conversation: a ticket opened on a reporter's
    behalf, an out-of-office reply, a return from one.
    """
    return _proof(mail, addresses, trusted_ids, now, number=None)


def _proof(
    mail: InboundMail, addresses: ReplyAddresses, trusted_ids: Iterable[str], now: datetime, *, number: str | None,
) -> Proof:
    """Sent to a staff reply address (of ticket ``number``, or of any ticket for None), else the operator's mail
    server's verdict on the From address."""
    for address in recipients(mail):
        parsed = addresses.parse(address)
        if parsed is None or (number is not None and parsed[0] != number):
            continue
        if addresses.role(parsed[0], parsed[1], now=now) == Role.STAFF:
            return Proof(True, "sent to the ticket's staff reply address" if number
                         else f"sent to the staff reply address of {parsed[0]}")
    auth = mail_auth(mail.raw, trusted_ids, mail.sender)
    domain = mail.sender.rsplit("@", 1)[-1]
    if auth.passed is not None:
        return Proof(True, f"{auth.passed}=pass for {domain}")
    if auth.failed is not None:
        return Proof(False, f"our mail server says the From address failed: {auth.failed} for {domain}")
    which = "the" if number else "a"
    return Proof(False, f"no DKIM/DMARC pass from a trusted mail server and not sent to {which} staff reply address")
