"""The settings model: one TOML file, validated once into typed objects.

Every error names the dotted key (``imap.port: ...``) so the operator knows
where to look; secrets are read from environment variables the file names,
never from the file itself.
"""

from __future__ import annotations

import os
import re
import ssl
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator

from maildesk.config_desk import (
    BusinessHoursConfig,
    PriorityConfig,
    RequirementsConfig,
    Section,
    SlaConfig,
    TeamConfig,
    default_priorities,
    default_teams,
    default_types,
)
from maildesk.config_text import check_database_url, decode_config, toml_error
from maildesk.errors import ConfigError

CONFIG_ENV = "MAILDESK_CONFIG"


class ImapConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=993, ge=1, le=65535)
    security: Literal["ssl", "starttls", "plain"] = "ssl"
    username: str = ""
    password_env: str = "MAILDESK_IMAP_PASSWORD"
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    batch_size: int = Field(default=100, ge=1, le=5000)
    idle: bool = True
    poll_seconds: float = Field(default=60.0, gt=0)
    timeout: float = Field(default=30.0, gt=0)
    ca_file: str = ""  # PEM file of the CAs that verify the server, instead of the system's; relative: to base_dir


class MailboxConfig(Section):
    """Where ``run`` takes mail from: a real IMAP mailbox, or a Maildir (the demo)."""

    kind: Literal["imap", "maildir"] = "imap"
    path: str = ""  # the Maildir, relative to the config file's folder


class SmtpConfig(Section):
    transport: Literal["smtp", "console", "file"] = "smtp"
    host: str = "127.0.0.1"
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["ssl", "starttls", "plain"] = "starttls"
    username: str = ""
    password_env: str = "MAILDESK_SMTP_PASSWORD"
    timeout: float = Field(default=30.0, gt=0)
    ca_file: str = ""  # PEM file of the CAs that verify the server, instead of the system's; relative: to base_dir
    directory: str = "sent"  # for the file transport, relative to the config file's folder
    max_attempts: int = Field(default=12, ge=1)
    retry_base_seconds: float = Field(default=60.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    connections: int = Field(default=4, ge=1, le=64)  # SMTP connections sending at once (file/console: one)
    # how long a claimed mail stays reserved for its sender, renewed while it sends; a sender that
    # died holding mails leaves them to others after this long
    lease_seconds: float = Field(default=120.0, ge=1)


DEFAULT_WATCHER_EXCLUDE = (
    "all@*", "all-*@*", "everyone@*", "staff@*", "list@*", "*-list@*", "list-*@*", "*@lists.*",
    "*@googlegroups.com", "noreply*@*", "no-reply*@*", "donotreply*@*", "mailer-daemon@*", "postmaster@*",
)


class IntakeConfig(Section):
    unknown_senders: Literal["accept", "flag", "reject"] = "accept"
    ack_limit_per_hour: int = Field(default=5, ge=0)
    reopen_days: int = Field(default=7, ge=0)
    batch_size: int = Field(default=100, ge=1)
    # bytes of mail per batch, by the sizes the mailbox reports: a batch is held in memory whole;
    # a mail larger than this makes a batch of its own
    batch_bytes: int = Field(default=32 * 1024 * 1024, ge=1)
    # authserv-ids of the operator's own mail server: only its Authentication-Results prove a staff sender
    trusted_authserv_ids: list[str] = Field(default_factory=list)
    # other addresses that reach this desk (aliases): never answered, never made watchers
    own_addresses: list[str] = Field(default_factory=list)
    # people copied (Cc) by the reporter or staff who may follow a ticket; more are ignored
    max_watchers: int = Field(default=10, ge=0)
    # addresses never made watchers: lists and role addresses (shell patterns, case ignored)
    watcher_exclude: list[str] = Field(default_factory=lambda: list(DEFAULT_WATCHER_EXCLUDE))
    # a staff member's out-of-office reply hands their open tickets of these priorities on to a colleague
    out_of_office_priorities: list[str] = Field(default_factory=lambda: ["P1", "P2"])
    # new tickets of these priorities go to the supervisors' review (复核) at once; the rest in the daily digest
    review_at_once_priorities: list[str] = Field(default_factory=lambda: ["P1", "P2"])
    # the assignment mail attaches the reporter's files up to this many bytes in all; the rest it lists
    brief_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=0)



class Settings(Section):
    """The whole configuration, with paths resolved against the config file's folder."""

    database: str = "sqlite:///maildesk.db"
    timezone: str = "Asia/Shanghai"
    ticket_prefix: str = Field(default="TS", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    support_address: str = "support@example.com"
    support_name: str = "技术支持中心"
    language: Literal["zh", "en"] = "zh"
    message_id_domain: str = ""  # defaults to the support address's domain
    directory: str = "people.csv"
    # the on-call rota (people/oncall.py): weekly shifts and dated overrides; empty: nobody is on call
    oncall: str = ""
    # tier 3 (三线, R&D), where #escalate hands a tier-2 ticket: a team of [[teams]] or a person's address;
    # empty: the people of the ticket's team with tier 3 in the directory
    tier3: str = ""
    rules: str = "rules.toml"
    # the server secret behind reply-address tokens: a file (mode 0600, made on first start) or, when
    # secret_env names a variable, that variable's value
    secret_file: str = "secret.key"
    secret_env: str = ""
    templates: str = ""  # a folder that overrides packaged templates; empty: packaged only
    default_type: str = "other"
    default_priority: str = "P3"
    mailbox: MailboxConfig = Field(default_factory=MailboxConfig)
    imap: ImapConfig = Field(default_factory=ImapConfig)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    intake: IntakeConfig = Field(default_factory=IntakeConfig)
    business_hours: BusinessHoursConfig = Field(default_factory=BusinessHoursConfig)
    sla: SlaConfig = Field(default_factory=SlaConfig)
    types: dict[str, str] = Field(default_factory=default_types)
    priorities: dict[str, PriorityConfig] = Field(default_factory=default_priorities)
    teams: list[TeamConfig] = Field(default_factory=default_teams)
    requirements: RequirementsConfig = Field(default_factory=RequirementsConfig)
    base_dir: Path = Path(".")  # set by the loader: the config file's folder

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database")
    @classmethod
    def _database_url(cls, value: str) -> str:
        check_database_url(value)
        return value

    @field_validator("support_address")
    @classmethod
    def _address(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError(f"not a mail address: {value!r}")
        return value.lower()

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.default_type not in self.types:
            raise ValueError(f"default_type: {self.default_type!r} is not one of types")
        if self.default_priority not in self.priorities:
            raise ValueError(f"default_priority: {self.default_priority!r} is not one of priorities")
        for key in ("out_of_office_priorities", "review_at_once_priorities"):
            unknown = [p for p in getattr(self.intake, key) if p not in self.priorities]
            if unknown:
                raise ValueError(f"intake.{key}: {unknown[0]!r} is not one of priorities")
        if self.requirements.type not in self.types:
            raise ValueError(f"requirements.type: {self.requirements.type!r} is not one of types")
        if self.requirements.number_prefix == self.ticket_prefix:
            raise ValueError("requirements.number_prefix: must differ from ticket_prefix (both number by day)")
        unknown = [p for p in self.sla.mobilise_priorities if p not in self.priorities]
        if unknown:
            raise ValueError(f"sla.mobilise_priorities: {unknown[0]!r} is not one of priorities")
        names = [t.name for t in self.teams]
        if len(names) != len(set(names)):
            raise ValueError("teams: a team name appears twice")
        if self.tier3 and "@" not in self.tier3 and self.tier3 not in names:
            raise ValueError(f"tier3: {self.tier3!r} is neither a team of [[teams]] nor a mail address")
        for section in ("imap", "smtp"):
            if not getattr(self, section).ca_file:
                continue
            try:  # a CA file that is missing or no PEM is a config error now, not a TLS failure later
                self.tls_context(section)
            except ConfigError as exc:
                raise ValueError(f"{exc.key}: {exc.problem}") from None
        return self

    # -- derived values ---------------------------------------------------------------
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def mail_domain(self) -> str:
        return self.message_id_domain or self.support_address.rsplit("@", 1)[1]

    @property
    def own_addresses(self) -> frozenset[str]:
        """The addresses that reach this desk: the support address and its aliases."""
        return frozenset({self.support_address, *(a.strip().lower() for a in self.intake.own_addresses)})

    def is_own_address(self, address: str) -> bool:
        """Whether mail to ``address`` reaches this desk (an alias, or any plus-address of the support address)."""
        address = address.strip().lower()
        if address in self.own_addresses:
            return True
        local, _, domain = self.support_address.partition("@")
        return address.startswith(local + "+") and address.endswith("@" + domain)

    def path(self, value: str) -> Path:
        """A path from the config, resolved against the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def tls_context(self, section: Literal["imap", "smtp"]) -> ssl.SSLContext:
        """The TLS client context for the IMAP or SMTP server: verified against its ``ca_file`` when set."""
        ca_file = self.imap.ca_file if section == "imap" else self.smtp.ca_file
        return client_tls_context(self.path(ca_file) if ca_file else None, f"{section}.ca_file")

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL, with a relative SQLite file resolved like other paths."""
        prefix = "sqlite:///"
        if self.database.startswith(prefix) and self.database != "sqlite:///:memory:":
            file = self.database[len(prefix):]
            if not file.startswith("/"):
                return prefix + str(self.path(file).resolve())
        return self.database

    def priority_order(self) -> list[str]:
        """Priority codes from most to least urgent (the order they are written in)."""
        return list(self.priorities)

    def priority_clock(self, code: str) -> Literal["24x7", "business"]:
        """The clock priority ``code`` runs on: its ``clock``, else 24x7 for P1 and business hours for the rest."""
        priority = self.priorities.get(code)
        if priority is not None and priority.clock is not None:
            return priority.clock
        return "24x7" if code == "P1" else "business"

    def team(self, name: str) -> TeamConfig | None:
        return next((t for t in self.teams if t.name == name), None)

    def secret(self, env_name: str) -> str:
        """A password from the environment; empty when the variable is unset."""
        return os.environ.get(env_name, "")


def client_tls_context(ca_file: Path | str | None, key: str) -> ssl.SSLContext:
    """A TLS client context that checks certificates and host names against ``ca_file``, a PEM
    bundle of CA certificates, or against the system's trust store when there is none.

    A file that cannot be read or holds no PEM certificate raises ConfigError naming ``key``.
    """
    if not ca_file:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except ssl.SSLError as exc:  # before OSError, whose subclass it is
        reason = re.sub(r"^\[[^]]*\]\s*|\s*\(_ssl\.c:\d+\)$", "", str(exc.strerror or exc))
        raise ConfigError(key, f"{ca_file} is not a PEM file of CA certificates ({reason})") from None
    except OSError as exc:
        raise ConfigError(key, f"cannot read CA file {ca_file}: {exc.strerror or exc}") from None


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_settings(data: Mapping[str, Any], base_dir: Path) -> Settings:
    """Validate a decoded TOML document; raise ConfigError naming the first bad key."""
    if "base_dir" in data:  # a field of the model, but set from where the file is, never by the file
        raise ConfigError("base_dir", "unknown key (relative paths are read from the config file's folder)")
    try:
        return Settings.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        inner = re.match(r"^([A-Za-z_][\w.\[\]]*): (.*)$", msg) if err["type"] == "value_error" else None
        if inner:  # a cross-field check names its own key below the model's location
            loc, msg = (*loc, *inner.group(1).split(".")), inner.group(2)
        key = _dotted(loc)
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise ConfigError(key or "config", msg) from None


def load_settings(path: Path | str | None) -> Settings:
    """Load the config named by ``path``, or ``$MAILDESK_CONFIG``."""
    if path is None:
        env = os.environ.get(CONFIG_ENV)
        if not env:
            raise ConfigError("", f"no config: give --config PATH or set {CONFIG_ENV}")
        path = env
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError("", f"cannot read config {file}: {exc.strerror}") from None
    text = decode_config(raw, file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", toml_error(file, exc)) from None
    return parse_settings(data, file.resolve().parent)
