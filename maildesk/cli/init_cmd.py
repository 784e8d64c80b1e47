"""``maildesk init [DIR]``: a working example installation, ready for the demo.

It writes the config (the documented example, with the few values the demo needs changed and
marked as such), the rules, the people directory, an empty ``templates/`` folder with a README
on overriding, and a sample Maildir; then it creates the database and the server secret. The
packaged templates are not copied: a copy would hide every later fix to them.
"""

from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path

import click

from maildesk.cli.common import state, usage_error

# (section, key, value, why): what the demo needs that the defaults do not give
DEMO_VALUES: tuple[tuple[str, str, str, str], ...] = (
    ("", "templates", '"templates"', "the folder for your own templates; empty, so the packaged ones are used"),
    ("mailbox", "kind", '"maildir"', 'the demo reads the sample Maildir; set "imap" and fill in [imap]'),
    ("mailbox", "path", '"mailbox"', "the sample Maildir beside this file"),
    ("smtp", "transport", '"file"', 'mail is written to files in sent/, not sent; set "smtp" and fill in '
                                    "[smtp] to send it"),
)
HEADER = """\
# maildesk configuration, written by `maildesk init`. Every key is shown with its default, except
# those marked "set by maildesk init": {keys}.
# The demo needs them. Before going live, set mailbox.kind = "imap" and smtp.transport = "smtp"
# and fill in [imap] and [smtp].
"""
TEMPLATES_README = """\
# Your own mail templates

maildesk renders its mails from the templates packaged with it. To change a mail, put a file
with the same name here: it is used instead of the packaged one, which later upgrades of
maildesk keep improving; so override only what you change, and compare after an upgrade.

Names are KIND.LANG.PART.j2: KIND one of {kinds}; LANG zh or en; PART subject, txt or html
(html is optional, but an HTML part needs its txt part here too). `maildesk rules check`
checks the templates in this folder; `python -c "import maildesk, os;
print(os.path.dirname(maildesk.__file__))"` shows where the packaged ones are (outbound/templates).
"""


def _package_file(*parts: str) -> Path:
    return Path(str(resources.files("maildesk").joinpath(*parts)))


def demo_config_text() -> str:
    """The packaged example config with DEMO_VALUES set, each marked with its default and why."""
    text = _package_file("data", "maildesk.example.toml").read_text(encoding="utf-8")
    section = ""
    lines = []
    for line in text.splitlines():
        header = re.match(r"^\[([^\]]+)\]", line)
        if header:
            section = header.group(1)
        lines.append(_demo_line(section, line))
    body = "\n".join(lines) + "\n"
    keys = ", ".join(f"{s}.{k}" if s else k for s, k, _, _ in DEMO_VALUES)
    return HEADER.format(keys=keys) + body.split("\n", 1)[1]  # in place of the example's first line


def _demo_line(section: str, line: str) -> str:
    for where, key, value, why in DEMO_VALUES:
        found = re.match(rf"^{key} = (\S+)", line)
        if where == section and found:
            return f"{key} = {value}  # set by maildesk init (default {found.group(1)}): {why}"
    return line


def write_example(target: Path, *, force: bool) -> Path:
    """Write config, rules, people, an empty templates/ folder and a sample Maildir into ``target``."""
    config = target / "maildesk.toml"
    if config.exists() and not force:
        raise usage_error("DIR", f"{config} exists (use --force to overwrite the example files)")
    target.mkdir(parents=True, exist_ok=True)
    config.write_text(demo_config_text(), encoding="utf-8")
    for source, name in (("rules/default_rules.toml", "rules.toml"), ("people/default_people.csv", "people.csv")):
        file = _package_file(*source.split("/"))
        if file.exists():
            shutil.copyfile(file, target / name)
    _write_templates_folder(target / "templates")
    _write_sample_maildir(target / "mailbox")
    return config


def _write_templates_folder(folder: Path) -> None:
    from maildesk.outbound.templates import PACKAGED_KINDS

    folder.mkdir(exist_ok=True)
    (folder / "README.md").write_text(TEMPLATES_README.format(kinds=", ".join(PACKAGED_KINDS)), encoding="utf-8")


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
        """Write an example config, rules, people directory, an empty templates/ folder and a sample mailbox;
        create the database."""
        from maildesk.app import App
        from maildesk.config import load_settings

        config = write_example(directory, force=force)
        state.config_path = str(config)
        application = App(load_settings(config))
        try:
            revision = application.upgrade()
            application.desk.secret  # noqa: B018 - made now, with the install, not at the first reply
        finally:
            application.close()
        click.echo(f"wrote {config} and its companions; database at revision {revision}")
        click.echo("it reads the sample mailbox and writes mail to files (smtp.transport = \"file\"); "
                   "see the comments marked \"set by maildesk init\"")
        click.echo(f"next: maildesk --config {config} run --once")
