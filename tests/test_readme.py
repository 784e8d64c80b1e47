"""The README tells the operator what the program does: every command and option, every result word."""

from __future__ import annotations

from pathlib import Path

from maildesk.cli.reference import END, START, reference

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
RESULT_WORDS = ("created", "reply", "noise", "duplicate", "already", "rejected", "quarantined")


def test_the_command_reference_is_the_commands_own() -> None:
    """The README's command list is exactly what the commands' --help says (regenerate it when they change)."""
    block = README.split(START, 1)[1].split(END, 1)[0]
    assert block.strip() == reference().strip(), "run: python -m maildesk.cli.reference README.md"


def test_every_result_word_is_explained() -> None:
    """Each word `run --json` and the log give a mail's fate has a row in the README's table."""
    for word in RESULT_WORDS:
        assert f"| `{word}` |" in README, word


def test_the_config_step_names_the_transport() -> None:
    """Following "Using it", an operator learns that smtp.transport must become "smtp" to send mail."""
    using = README.split("## Using it", 1)[1].split("\n## ", 1)[0]
    assert 'smtp.transport = "smtp"' in using and "sent/" in using
    assert "--now" in README and "acts for real" in README and "--dry-run" in README
