"""The command reference in the README, made from the commands themselves (what ``--help`` shows).

    python -m maildesk.cli.reference              # print it
    python -m maildesk.cli.reference README.md    # replace the block between the markers in README.md

tests/test_readme.py fails when the README's block differs from what this prints, so the README
lists every command and option as they are.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

START = "<!-- cli-reference: made by `python -m maildesk.cli.reference README.md`; do not edit by hand -->"
END = "<!-- cli-reference end -->"
WIDTH = 100


def _commands(group: click.Group, ctx: click.Context, path: str) -> Iterator[tuple[str, click.Command, click.Context]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = click.Context(command, info_name=name, parent=ctx)
        if isinstance(command, click.Group):
            yield from _commands(command, sub, f"{path} {name}")
        else:
            yield f"{path} {name}", command, sub


def reference() -> str:
    """Every command with its arguments, its one-paragraph help and every option with its help."""
    from maildesk.cli import cli

    root = click.Context(cli, info_name="maildesk")
    lines = ["```"]
    for option in cli.get_params(root):
        record = option.get_help_record(root)
        if record and not record[0].endswith("--help"):
            lines.append(f"maildesk {record[0]:<24} {record[1]}")
    for path, command, ctx in _commands(cli, root, "maildesk"):
        usage = " ".join(command.collect_usage_pieces(ctx))
        lines.append("")
        lines.append(f"{path} {usage}")
        help_text = " ".join((command.help or "").split("\n\n", 1)[0].split())
        lines.extend("    " + line for line in _wrap(help_text, WIDTH - 4))
        for param in command.get_params(ctx):
            record = param.get_help_record(ctx)
            if record and not record[0].endswith("--help"):  # every command has it
                lines.extend(_option(*record))
    lines.append("```")
    return "\n".join(lines) + "\n"


def _option(opts: str, help_text: str) -> list[str]:
    text = " ".join(help_text.split())
    first, *rest = _wrap(text, WIDTH - 32) or [""]
    out = [f"    {opts:<26}  {first}".rstrip()]
    out.extend(" " * 32 + line for line in rest)
    return out


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) if text else []


def update(readme: Path) -> bool:
    """Replace the block between START and END in ``readme``; True when it changed."""
    text = readme.read_text(encoding="utf-8")
    head, found, rest = text.partition(START)
    if not found or END not in rest:
        raise SystemExit(f"{readme}: no block between {START!r} and {END!r}")
    new = f"{head}{START}\n{reference()}{END}{rest.split(END, 1)[1]}"
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) > 1:
        print("updated" if update(Path(sys.argv[1])) else "up to date")
    else:
        sys.stdout.write(reference())
