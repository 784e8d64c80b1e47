"""``maildesk init [DIR]``: a working example installation, ready for the demo."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import click

from maildesk.app import App
from maildesk.cli.common import state, usage_error
from maildesk.config import load_settings

# the demo reads the bundled sample Maildir and writes outgoing mail to files
_DEMO_LINES = {
    'kind = "imap"': 'kind = "maildir"',
    'path = ""': 'path = "mailbox"',
    'transport = "smtp"': 'transport = "file"',
    'templates = ""': 'templates = "templates"',
}


def _package_file(*parts: str) -> Path:
    return Path(str(resources.files("maildesk").joinpath(*parts)))


def demo_config_text() -> str:
    text = _package_file("data", "maildesk.example.toml").read_text(encoding="utf-8")
    for old, new in _DEMO_LINES.items():
        text = text.replace(f"\n{old}", f"\n{new}", 1)
    return text


def write_example(target: Path, *, force: bool) -> Path:
    """Write config, rules, people, templates and a sample Maildir into ``target``."""
    config = target / "maildesk.toml"
    if config.exists() and not force:
        raise usage_error("DIR", f"{config} exists (use --force to overwrite the example files)")
    target.mkdir(parents=True, exist_ok=True)
    config.write_text(demo_config_text(), encoding="utf-8")
    for source, name in (("rules/default_rules.toml", "rules.toml"), ("people/default_people.csv", "people.csv")):
        file = _package_file(*source.split("/"))
        if file.exists():
            shutil.copyfile(file, target / name)
    templates = _package_file("outbound", "templates")
    if templates.is_dir():
        shutil.copytree(templates, target / "templates", dirs_exist_ok=True)
    _write_sample_maildir(target / "mailbox")
    return config


def _write_sample_maildir(maildir: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for eml in sorted(_package_file("data", "sample-mailbox").glob("*.eml")):
        shutil.copyfile(eml, maildir / "new" / f"{eml.stem}.sample:2,")


def register(cli: click.Group) -> None:
    @cli.command("init")
    @click.argument("directory", type=click.Path(path_type=Path), default=Path("."))
    @click.option("--force", is_flag=True, help="Overwrite example files that exist.")
    def init(directory: Path, force: bool) -> None:
        """Write an example config, rules, people directory, templates and sample mailbox; create the database."""
        config = write_example(directory, force=force)
        state.config_path = str(config)
        application = App(load_settings(config))
        try:
            revision = application.upgrade()
            application.desk.secret  # noqa: B018 - made now, with the install, not at the first reply
        finally:
            application.close()
        click.echo(f"wrote {config} and its companions; database at revision {revision}")
        click.echo(f"next: maildesk --config {config} run --once")
