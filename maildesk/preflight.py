"""Start-up validation: everything an operator wrote, checked before any mail is touched.

``run``, ``ingest``, ``sla sweep``, ``report`` and ``quarantine retry`` call ``preflight``
first, and ``rules check`` prints what it found. Each problem is a ConfigError (or a
RuleError, DirectoryError) whose one line names the file and line or the dotted key; the
command line turns it into exit code 2. Without this, a missing rules file was found by the
first new mail, which then went to Quarantine, and a bad holiday by the first SLA sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from maildesk.app import App
from maildesk.config import Settings
from maildesk.errors import ConfigError
from maildesk.outbound.templates import LANGS, PACKAGED_KINDS
from maildesk.people.directory import ROLES, Directory
from maildesk.people.roles import ONCALL
from maildesk.people.tiers import TIER_ROLES, tier_people
from maildesk.store.revision import Schema, schema_state

# roles an escalation rung may name besides the directory's: the ticket's assignee, who is on call
LADDER_ROLES = ("assignee", ONCALL, *TIER_ROLES, *(r for r in ROLES if r != "reporter"))
_TEMPLATE_PARTS = ("subject", "txt", "html")


@dataclass(frozen=True)
class Checked:
    """What preflight looked at, for ``rules check`` to print."""

    rules: int
    people: int
    templates: str
    revision: str | None
    schema: Schema


def preflight(app: App, *, upgrade: bool, mailbox: bool = False, smtp: bool = False) -> Checked:
    """Check the config's companions and the database; ``upgrade`` brings an older schema up.

    ``mailbox``: the intake the config names must be usable (``run``); ``smtp``: so must the
    SMTP settings (commands that send). Raises the first problem found.
    """
    settings = app.settings
    rules = len(app.desk.rules)
    directory = app.desk.directory
    check_ladders(settings, directory)
    app.desk.rota  # noqa: B018  (a broken rota stops the start, not the first urgent ticket at night)
    templates = check_templates(settings)
    if mailbox:
        check_mailbox(settings)
    if smtp:
        check_smtp(settings)
    revision = app.store.schema_revision()
    schema = schema_state(revision)
    # last, as it may create the secret file: a copy readable by others, or a broken secret_env, stops us here
    app.desk.secret  # noqa: B018
    if schema is Schema.BEHIND and upgrade:
        revision, schema = app.upgrade(), Schema.CURRENT
    return Checked(rules=rules, people=len(directory), templates=templates, revision=revision, schema=schema)


def check_ladders(settings: Settings, directory: Directory) -> None:
    """Every escalation rung names a role someone holds: a rung nobody holds tells no one."""
    team_leads = any(team.lead for team in settings.teams)
    source = settings.directory or "the people directory"
    for index, role in enumerate(settings.sla.mobilise_roles):
        if role not in LADDER_ROLES:
            raise ConfigError(f"sla.mobilise_roles[{index}]",
                              f"unknown role {role!r} (one of {', '.join(LADDER_ROLES)})")
        # "oncall" without a rota is nobody: the default roles must not stop a desk that keeps no rota
    rungs = [(f"priorities.{code}.escalation[{index}].to", step.to)
             for code, priority in settings.priorities.items() for index, step in enumerate(priority.escalation)]
    rungs += [(f"requirements.escalation[{index}].to", step.to)
              for index, step in enumerate(settings.requirements.escalation)]
    for key, role in rungs:
        if role not in LADDER_ROLES:
            raise ConfigError(key, f"unknown role {role!r} (one of {', '.join(LADDER_ROLES)})")
        if role == "assignee" or (role == "lead" and team_leads):
            continue
        if role in TIER_ROLES:
            if not tier_people(directory, settings, TIER_ROLES[role], None):
                raise ConfigError(key, f"nobody in {source} is at {role}, so this escalation would reach no one")
            continue
        if role == ONCALL:
            if not settings.oncall:
                raise ConfigError(key, "the role 'oncall' needs an on-call rota: set oncall = \"oncall.toml\"")
            continue
        if not directory.by_role(role):
            raise ConfigError(key, f"nobody in {source} has the role {role!r}, so this escalation "
                              "would reach no one")


def check_templates(settings: Settings) -> str:
    """The override folder's templates parse, are named as maildesk names them, and come in pairs."""
    if not settings.templates:
        return "packaged"
    folder = settings.path(settings.templates)
    if not folder.is_dir():
        raise ConfigError("templates", f"{folder} is not a folder")
    env = jinja2.Environment()
    names = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name.endswith(".j2"))
    for name in names:
        file = folder / name
        _parse_template(env, file)
        if name.startswith("_"):  # layouts and macros the others include
            continue
        parts = name.split(".")
        known = parts[0] in PACKAGED_KINDS and parts[1] in LANGS and parts[2] in _TEMPLATE_PARTS
        if len(parts) != 4 or not known:
            raise ConfigError("templates", f"{file}: not a name maildesk uses, so it would never be read "
                              f"(KIND.LANG.{'|'.join(_TEMPLATE_PARTS)}.j2, KIND one of {', '.join(PACKAGED_KINDS)}; "
                              f"LANG {' or '.join(LANGS)})")
        if parts[2] == "html" and f"{parts[0]}.{parts[1]}.txt.j2" not in names:
            raise ConfigError("templates", f"{file}: an HTML part needs its text part "
                              f"{parts[0]}.{parts[1]}.txt.j2 in the same folder")
    return f"{folder} ({len(names)} overrides)"


def _parse_template(env: jinja2.Environment, file: Path) -> None:
    try:
        env.parse(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError("templates", f"{file}: not UTF-8 text ({exc.reason})") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError("templates", f"{file}:{exc.lineno}: {exc.message}") from None


def check_mailbox(settings: Settings) -> None:
    """The intake ``run`` reads: a Maildir that exists, or an IMAP login with its password."""
    box = settings.mailbox
    if box.kind == "maildir":
        if not box.path:
            raise ConfigError("mailbox.path", "empty: name the Maildir to read (or set mailbox.kind = \"imap\")")
        path = settings.path(box.path)
        if not ((path / "cur").is_dir() and (path / "new").is_dir()):
            raise ConfigError("mailbox.path", f"{path} is not a Maildir (it needs cur/ and new/ folders)")
        return
    imap = settings.imap
    if not imap.username:
        raise ConfigError("imap.username", "empty: the mailbox login is needed to read mail over IMAP "
                          "(or set mailbox.kind = \"maildir\")")
    if not settings.secret(imap.password_env):
        raise ConfigError("imap.password_env", f"the environment variable {imap.password_env} (the IMAP password "
                          f"of {imap.username}) is not set")


def check_smtp(settings: Settings) -> None:
    """SMTP settings that cannot work: no server, or a login without its password."""
    smtp = settings.smtp
    if smtp.transport != "smtp":
        return
    if not smtp.host:
        raise ConfigError("smtp.host", "empty: name the SMTP server (or choose smtp.transport = \"file\")")
    if smtp.username and not settings.secret(smtp.password_env):
        raise ConfigError("smtp.password_env", f"the environment variable {smtp.password_env} (the SMTP password "
                          f"of {smtp.username}) is not set")

