"""What the commands share: the App for the chosen config, JSON output, validation helpers."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from maildesk.app import App


class _State:
    """The per-invocation state: the --config given and the App built from it."""

    def __init__(self) -> None:
        self.config_path: str | None = None
        self._app: App | None = None

    def app(self, *, upgrade: bool = False) -> App:
        if self._app is None:
            self._app = App.from_config(self.config_path)
            if upgrade:
                self._app.upgrade()
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None


state = _State()


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def usage_error(option: str, message: str) -> click.UsageError:
    """A usage error (exit 2) that names the option."""
    return click.UsageError(f"{option}: {message}")
