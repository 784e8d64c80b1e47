"""What the commands share: the settings and App for the chosen config, JSON output, validation helpers.

Nothing heavy is imported here: ``maildesk --help`` and the read commands must start fast, so the
App (SQLAlchemy, Alembic, Jinja2, ...) is imported only by the commands that build one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from maildesk.app import App
    from maildesk.config import Settings
    from maildesk.preflight import Checked


class _State:
    """The per-invocation state: the --config given, the settings read from it and the App built on them."""

    def __init__(self) -> None:
        self.config_path: str | None = None
        self._settings: Settings | None = None
        self._app: App | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            from maildesk.config import load_settings

            self._settings = load_settings(self.config_path)
        return self._settings

    def app(self, *, upgrade: bool = False) -> App:
        """The App; ``upgrade``: the database must answer, and an older schema is brought up to date."""
        if self._app is None:
            from maildesk.app import App

            self._app = App(self.settings())
            if upgrade:
                from maildesk.store.revision import Schema, schema_state

                if schema_state(self._app.store.schema_revision()) is Schema.BEHIND:
                    self._app.upgrade()
        return self._app

    def checked_app(self, *, mailbox: bool = False, smtp: bool = False) -> App:
        """The App after the start-up checks (maildesk.preflight): config companions, database, schema."""
        app = self.app()
        self.preflight(mailbox=mailbox, smtp=smtp, upgrade=True)
        return app

    def preflight(self, *, mailbox: bool = False, smtp: bool = False, upgrade: bool = False) -> Checked:
        from maildesk.preflight import preflight

        return preflight(self.app(), upgrade=upgrade, mailbox=mailbox, smtp=smtp)

    def drop_app(self) -> None:
        """Close the App (its database connections); the settings stay."""
        if self._app is not None:
            self._app.close()
            self._app = None

    def close(self) -> None:
        """End of a command: the next one (in the same process, as in tests) reads its config afresh."""
        self.drop_app()
        self._settings = None


state = _State()


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def stream_json_array(items: Iterable[Any]) -> int:
    """Print ``items`` as one JSON array (as ``print_json`` would), writing each as it comes; the count."""
    out = sys.stdout
    count = 0
    for item in items:
        out.write("[\n  " if count == 0 else ",\n  ")
        out.write(json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n  "))
        count += 1
    out.write("\n]\n" if count else "[]\n")
    return count


def usage_error(option: str, message: str) -> click.UsageError:
    """A usage error (exit 2) that names the option."""
    return click.UsageError(f"{option}: {message}")
