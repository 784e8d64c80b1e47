"""Whether a staff mail proves its sender: anyone can write a staff address into From.

Two proofs count. The mail was sent to the ticket's staff reply address, whose
token only mails to staff carry (see outbound/notify.staff_reply_address); or the
operator's own mail server checked it: an ``Authentication-Results`` header whose
authserv-id is one the operator listed (``intake.trusted_authserv_ids``) says
``dkim=pass`` for the sender's domain or ``dmarc=pass`` for it. Headers with other
authserv-ids are ignored, since a forger can write those too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from maildesk.config import Settings
from maildesk.ingest.mail import InboundMail
from maildesk.outbound.notify import parse_reply_address, token_role
from maildesk.store.models import Ticket

# headers that carry the envelope recipient when the reply address is only in the envelope (Bcc)
_RECIPIENT_HEADERS = ("delivered-to", "x-original-to", "envelope-to")
_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*(?P<method>[\w.-]+)\s*=\s*(?P<result>[\w-]+)(?P<props>.*)$", re.DOTALL)
_PROP = re.compile(r"(?P<key>[\w-]+\.[\w.-]+)\s*=\s*(?P<value>[^\s;]+)")


@dataclass(frozen=True)
class Proof:
    """Whether the sender is proven, and how (or why not), for the audit trail."""

    proven: bool
    how: str


def recipients(mail: InboundMail) -> list[str]:
    found = [a.addr for a in (*mail.to, *mail.cc)]
    for name in _RECIPIENT_HEADERS:
        for value in mail.headers.get(name, ()):
            found.extend(part.strip(" <>").lower() for part in value.split(","))
    return list(dict.fromkeys(a for a in found if a))


def _domain_matches(domain: str, claimed: str) -> bool:
    claimed = claimed.strip().lower().lstrip("@")
    if "@" in claimed:
        claimed = claimed.rsplit("@", 1)[1]
    return "." in claimed and (domain == claimed or domain.endswith("." + claimed))


def authenticated_domain(values: Iterable[str], trusted_ids: Iterable[str], domain: str) -> str | None:
    """The passing method ("dkim" or "dmarc") a trusted Authentication-Results gives ``domain``, or None."""
    trusted = {t.strip().lower() for t in trusted_ids if t.strip()}
    for value in values:
        parts = _COMMENT.sub(" ", value).split(";")
        authserv = parts[0].split()[0].lower() if parts[0].split() else ""
        if authserv not in trusted:
            continue
        for part in parts[1:]:
            match = _RESULT.match(part)
            if match is None or match.group("result").lower() != "pass":
                continue
            method = match.group("method").lower()
            props = {m.group("key").lower(): m.group("value") for m in _PROP.finditer(match.group("props"))}
            if method == "dkim" and any(_domain_matches(domain, props.get(k, "")) for k in ("header.d", "header.i")):
                return "dkim"
            if method == "dmarc" and _domain_matches(domain, props.get("header.from", "")):
                return "dmarc"
    return None


def sender_proof(mail: InboundMail, ticket: Ticket, settings: Settings) -> Proof:
    """Whether ``mail`` proves it comes from its From address (a staff member of ``ticket``'s desk)."""
    for address in recipients(mail):
        parsed = parse_reply_address(settings, address)
        if parsed is not None and parsed[0] == ticket.number and token_role(ticket, parsed[1]) == "staff":
            return Proof(True, "sent to the ticket's staff reply address")
    domain = mail.sender.rsplit("@", 1)[-1]
    method = authenticated_domain(mail.headers.get("authentication-results", ()),
                                  settings.intake.trusted_authserv_ids, domain)
    if method is not None:
        return Proof(True, f"{method}=pass for {domain}")
    return Proof(False, "no DKIM/DMARC pass from a trusted mail server and not sent to the staff reply address")
