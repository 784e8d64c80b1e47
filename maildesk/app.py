"""Wiring for the command line and the daemon: settings → the desk, the store and the mail transport.

Nothing below this module reads the wall clock or builds these parts itself: the CLI and the
daemon hand ``app.desk`` (with a session and ``now``) to the work they start.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from maildesk.config import Settings, load_settings
from maildesk.desk.setup import Desk
from maildesk.outbound.transport import Transport, make_transport
from maildesk.store.db import Store
from maildesk.store.migrate import upgrade


class App:
    """Everything a command or the daemon needs, made from one Settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.desk = Desk(settings)

    @classmethod
    def from_config(cls, path: Path | str | None) -> App:
        return cls(load_settings(path))

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.database_url)

    def upgrade(self) -> str:
        return upgrade(self.store)

    def transport(self) -> Transport:
        smtp = self.settings.smtp
        if smtp.transport == "smtp":
            return make_transport(
                "smtp", host=smtp.host, port=smtp.port, security=smtp.security,
                username=smtp.username or None, password=self.settings.secret(smtp.password_env) or None,
                timeout=smtp.timeout,
                # None: aiosmtplib's own context, which trusts the system's CAs
                tls_context=self.settings.tls_context("smtp") if smtp.ca_file and smtp.security != "plain" else None,
            )
        if smtp.transport == "file":
            return make_transport("file", directory=self.settings.path(smtp.directory))
        return make_transport("console")

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
