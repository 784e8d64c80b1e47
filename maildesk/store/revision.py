"""Which schema revisions this maildesk knows, read from the migration files without Alembic.

Importing Alembic costs a command a few tenths of a second; reading the ``revision`` and
``down_revision`` lines of the few migration files costs a millisecond. Commands compare the
database's revision with these and import Alembic only when there is something to upgrade.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import cache
from pathlib import Path

from maildesk.store.dberrors import SchemaMismatch

VERSIONS = Path(__file__).with_name("migrations") / "versions"
_REVISION = re.compile(r"^revision\b[^=\n]*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\b[^=\n]*=(.*)$", re.MULTILINE)


class Schema(Enum):
    CURRENT = "current"
    BEHIND = "behind"  # older or empty: `maildesk db upgrade` (or `run`) brings it up


@cache
def known_revisions() -> dict[str, tuple[str, ...]]:
    """Every revision in the migration files, with the revisions it follows."""
    known: dict[str, tuple[str, ...]] = {}
    for file in VERSIONS.glob("*.py"):
        text = file.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN.search(text)
        if revision is not None:
            known[revision.group(1)] = tuple(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1))) if down else ()
    return known


def head_revisions() -> frozenset[str]:
    """The newest revisions: those no other revision follows."""
    known = known_revisions()
    followed = {parent for parents in known.values() for parent in parents}
    return frozenset(known) - followed


def schema_state(revision: str | None) -> Schema:
    """Where a database at ``revision`` stands; SchemaMismatch when a newer maildesk wrote it."""
    if revision in head_revisions():
        return Schema.CURRENT
    if revision is None or revision in known_revisions():
        return Schema.BEHIND
    newest = ", ".join(sorted(head_revisions()))
    raise SchemaMismatch(f"the schema is at revision {revision}, which this maildesk does not know (its newest is "
                         f"{newest}): a newer maildesk has upgraded this database; install that version")
