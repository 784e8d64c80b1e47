"""``maildesk rules check | test FILE.eml``."""

from __future__ import annotations

from pathlib import Path

import click

from maildesk.cli.common import print_json, state
from maildesk.daemon import utc_now
from maildesk.desk.steps.classify import decide
from maildesk.ingest.parse import parse_mail


def register(cli: click.Group) -> None:
    @cli.group("rules")
    def rules() -> None:
        """Classification rules."""

    @rules.command("check")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def check(as_json: bool) -> None:
        """Validate the rules file and the people directory; errors name the rule and the key."""
        desk = state.app().desk
        ruleset = desk.rules
        people = len(desk.directory)
        if as_json:
            print_json({"ok": True, "rules": [r.name for r in ruleset], "people": people})
        else:
            click.echo(f"{desk.settings.path(desk.settings.rules)}: {len(ruleset)} rules OK; {people} people")

    @rules.command("test")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def test(file: Path, as_json: bool) -> None:
        """Show how the rules classify a mail, without storing anything."""
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
