"""``maildesk rules check | test FILE.eml``."""

from __future__ import annotations

from pathlib import Path

import click

from maildesk.cli.common import print_json, state


def register(cli: click.Group) -> None:
    @cli.group("rules")
    def rules() -> None:
        """Classification rules."""

    @rules.command("check")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def check(as_json: bool) -> None:
        """Validate the config, rules, people directory, templates and database, as `run` does at start-up;
        errors name the file and line or the dotted key."""
        checked = state.preflight()
        app = state.app()
        settings = app.settings
        schema = "up to date" if checked.schema.value == "current" else "older: `maildesk db upgrade` (or run) " \
                                                                        "brings it up to date"
        if as_json:
            print_json({"ok": True, "rules": [r.name for r in app.desk.rules], "people": checked.people,
                        "templates": checked.templates, "database_revision": checked.revision,
                        "schema": checked.schema.value})
            return
        click.echo(f"{settings.path(settings.rules)}: {checked.rules} rules OK; {checked.people} people")
        click.echo(f"templates: {checked.templates}; database at revision {checked.revision or '(none)'}, {schema}")

    @rules.command("test")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def test(file: Path, as_json: bool) -> None:
        """Show how the rules classify a mail, without storing anything."""
        from maildesk.daemon import utc_now
        from maildesk.desk.steps.classify import decide
        from maildesk.ingest.parse import parse_mail

        desk = state.app().desk
        mail = parse_mail(file.read_bytes())
        decision = decide(desk, mail, desk.directory.get(mail.sender), utc_now())
        if as_json:
            print_json(decision.as_dict())
            return
        for line in decision.explain():
            click.echo(line)
        click.echo(f"→ type {decision.type}, priority {decision.priority}, team {decision.team or '-'}, "
                   f"assignee {decision.assignee or '(by team strategy)'}, tags {list(decision.tags)}, "
                   f"flags {list(decision.flags)}")
