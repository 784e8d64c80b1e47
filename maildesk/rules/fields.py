"""What a condition can look at in a mail, and the per-mail cache of normalised values."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from maildesk.mail import InboundMail
from maildesk.people.directory import Person

# Every field yields a tuple of strings so that one-valued (subject) and many-valued
# (cc, attachment names, repeated headers) fields share one code path in the operators.
Values = tuple[str, ...]
Extractor = Callable[["MailContext"], Values]

_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 field name: printable ASCII except ':'


def normalize(text: str, fold: bool) -> str:
    """NFKC turns full-width ＥＲＰ/１２３ into ERP/123; casefold is Unicode-aware lower-casing."""
    text = unicodedata.normalize("NFKC", text)
    return text.casefold() if fold else text


class MailContext:
    """One mail under evaluation; each field is extracted and normalised at most once per form.

    ``cache`` is read directly by condition tests (one dict lookup, no method call): with
    200 rules a mail runs a few hundred tests, and call overhead is most of their cost.
    """

    __slots__ = ("cache", "in_business_hours", "mail", "person")

    def __init__(self, mail: InboundMail, person: Person | None, in_business_hours: bool) -> None:
        self.mail = mail
        self.person = person
        self.in_business_hours = in_business_hours
        self.cache: dict[tuple[str, bool], Values] = {}

    def load(self, key: tuple[str, bool], extractor: Extractor) -> Values:
        """Extract a field, normalise it (casefolded when ``key[1]``) and remember it."""
        fold = key[1]
        values = tuple(normalize(v, fold).strip() for v in extractor(self) if v)
        self.cache[key] = values
        return values


def _domain(address: str) -> str:
    return address.rpartition("@")[2] if "@" in address else ""


def _person_attr(name: str) -> Extractor:
    def extract(ctx: MailContext) -> Values:
        return (getattr(ctx.person, name),) if ctx.person is not None else ("",)

    return extract


FIELDS: dict[str, Extractor] = {
    "sender": lambda ctx: (ctx.mail.sender,),
    "sender_domain": lambda ctx: (_domain(ctx.mail.sender),),
    "department": _person_attr("department"),
    "role": _person_attr("role"),
    "subject": lambda ctx: (ctx.mail.subject,),
    "body": lambda ctx: (ctx.mail.text,),
    "subject_or_body": lambda ctx: (ctx.mail.subject, ctx.mail.text),
    "to": lambda ctx: tuple(a.addr for a in ctx.mail.to),
    "cc": lambda ctx: tuple(a.addr for a in ctx.mail.cc),
    # Inline parts count: a pasted screenshot of an error is what "has an attachment" means here.
    "attachment": lambda ctx: tuple(a.filename or a.content_type or "attachment" for a in ctx.mail.attachments),
    "attachment_name": lambda ctx: tuple(a.filename for a in ctx.mail.attachments),
    "attachment_type": lambda ctx: tuple(a.content_type for a in ctx.mail.attachments),
    "business_hours": lambda ctx: ("true" if ctx.in_business_hours else "false",),
}

# Operators each field accepts; "text" fields take every text operator.
TEXT_OPS = frozenset({"contains", "contains_any", "regex", "equals", "in", "glob", "exists"})
SPECIAL_OPS: dict[str, frozenset[str]] = {
    "attachment": frozenset({"exists"}),
    "business_hours": frozenset({"is"}),
}


def header_extractor(name: str) -> Extractor:
    key = name.lower()
    return lambda ctx: ctx.mail.headers.get(key, ())


def resolve_field(name: str) -> tuple[Extractor, frozenset[str]] | None:
    """The extractor and allowed operators for a field name, or None when it is not a field."""
    if name.startswith("header:"):
        header = name[len("header:") :].strip()
        if not header or not _HEADER_NAME.match(header):
            return None
        return header_extractor(header), TEXT_OPS
    extractor = FIELDS.get(name)
    if extractor is None:
        return None
    return extractor, SPECIAL_OPS.get(name, TEXT_OPS)
