"""Developer tool: regenerate the schema migration from the models.

Until the first release there is one migration, ``0001``, regenerated whenever a
model changes; after a release, pass a message to add a new revision instead.

    python -m maildesk.store.autogen            # rewrite 0001 from the models
    python -m maildesk.store.autogen "message"  # add a revision on top
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from alembic import command

from maildesk.store.db import Store
from maildesk.store.migrate import MIGRATIONS, alembic_config, upgrade

VERSIONS = MIGRATIONS / "versions"


def regenerate_initial() -> Path:
    for old in VERSIONS.glob("*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'autogen.db'}")
        command.revision(alembic_config(store), message="initial schema", autogenerate=True, rev_id="0001")
        store.close()
    path = next(VERSIONS.glob("0001_*.py"))
    text = re.sub(r"^Create Date: .*\n", "", path.read_text(), flags=re.MULTILINE)
    path.write_text(text.replace("Revises: \n", "Revises:\n"))
    return path


def add_revision(message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'autogen.db'}")
        upgrade(store)
        command.revision(alembic_config(store), message=message, autogenerate=True)
        store.close()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        add_revision(" ".join(sys.argv[1:]))
    else:
        print(regenerate_initial())
