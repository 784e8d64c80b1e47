"""Per-ticket reply addresses and their tokens, keyed by the server secret.

Every mail maildesk sends about a ticket carries a Reply-To such as
``support+ts-20261122-0007-<token>@example.com``. The token is an HMAC of the
server secret, a purpose and the ticket number: the reporter's address
(purpose ``reporter``) and the staff address (purpose ``staff``, only ever in
mails to staff) come from independent keys of one secret, so a reporter who
reads their own acknowledgement learns nothing about the staff token. The
secret is in no mail, no database row and no log line (see ``maildesk.secret``).

A mail to the staff address proves its sender received our mail to staff. A
reporter address only says which ticket a mail is about; who may join that
ticket is decided by the sender (``ingest.threading``). Tickets made before the
server secret existed kept a ``reply_token`` of their own: mails to those old
addresses still find their ticket but prove nothing (``Role.LEGACY``), since
their staff token could be computed from the reporter's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from enum import StrEnum

from maildesk.secret import ServerSecret

TOKEN_CHARS = 20  # 80 bits: guessing one takes longer than any ticket lives


class Role(StrEnum):
    """What a valid token of a ticket's reply address says about the mail sent to it."""

    STAFF = "staff"  # sent to the staff address: the sender received our mail to staff
    REPORTER = "reporter"  # sent to the reporter's address: it is about this ticket, nothing more
    LEGACY = "legacy"  # an address from before the server secret: finds the ticket, proves nothing


def _token(key: bytes, purpose: str, number: str) -> str:
    message = f"maildesk/reply-address/{purpose}/{number.upper()}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:TOKEN_CHARS]


def _legacy_staff_token(reply_token: str) -> str:
    # how tickets made before the server secret derived their staff token (public, hence no proof)
    return hmac.new(reply_token.encode("ascii"), b"staff", hashlib.sha256).hexdigest()[:20]


class ReplyAddresses:
    """The per-ticket reply addresses of one desk: ``support+NUMBER-TOKEN@domain``."""

    __slots__ = ("_domain", "_local", "_pattern", "prefix", "secret", "support_address")

    def __init__(self, support_address: str, prefix: str, secret: ServerSecret) -> None:
        self.support_address, self.prefix, self.secret = support_address.lower(), prefix, secret
        self._local, _, self._domain = self.support_address.partition("@")
        self._pattern = re.compile(
            re.escape(self._local) + r"\+(?P<number>" + re.escape(prefix.lower())
            + r"-\d{8}-\d{4,})-(?P<token>[0-9a-f]{8,64})@" + re.escape(self._domain))

    def _address(self, number: str, token: str) -> str:
        return f"{self._local}+{number.lower()}-{token}@{self._domain}"

    def reporter(self, number: str) -> str:
        """The Reply-To of mails to the reporter and watchers."""
        return self._address(number, _token(self.secret.current, Role.REPORTER, number))

    def staff(self, number: str) -> str:
        """The Reply-To of mails to staff; a mail sent to it proves its sender got one of them."""
        return self._address(number, _token(self.secret.current, Role.STAFF, number))

    def parse(self, address: str) -> tuple[str, str] | None:
        """(ticket number, token) of a per-ticket reply address, or None for any other address."""
        match = self._pattern.fullmatch(address.strip().lower())
        return (match.group("number").upper(), match.group("token")) if match else None

    def is_reply_address(self, address: str) -> bool:
        """Whether ``address`` is a per-ticket address of this desk (valid token or not)."""
        return self.parse(address) is not None

    def role(self, number: str, token: str, *, now: datetime, legacy_token: str = "") -> Role | None:
        """What ``token`` is for ticket ``number`` at ``now`` (a rotated secret stays valid for its grace
        period), or None when it is no token of that ticket."""
        for key in self.secret.keys_at(now):
            for role in (Role.STAFF, Role.REPORTER):
                if hmac.compare_digest(token, _token(key, role, number)):
                    return role
        if legacy_token and (hmac.compare_digest(token, legacy_token)
                             or hmac.compare_digest(token, _legacy_staff_token(legacy_token))):
            return Role.LEGACY
        return None
