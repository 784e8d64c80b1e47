"""`maildesk init`, `--version` and `--help`: what a new operator meets first."""

from __future__ import annotations

import tomllib
from pathlib import Path

from maildesk import __version__
from maildesk.cli.init_cmd import DEMO_VALUES
from maildesk.config import Settings, load_settings
from tests.installation import cli

ROOT = Path(__file__).resolve().parent.parent


def test_init_writes_no_template_copies_and_marks_what_it_set(tmp_path: Path) -> None:
    """init leaves templates/ empty but for a README on overriding, and marks each value it set with the
    default and why; every other key keeps its default."""
    result = cli(None, "init", str(tmp_path / "desk"))
    assert result.returncode == 0, result.stderr
    desk = tmp_path / "desk"
    assert [p.name for p in (desk / "templates").iterdir()] == ["README.md"]
    assert "KIND.LANG.PART.j2" in (desk / "templates" / "README.md").read_text(encoding="utf-8")
    text = (desk / "maildesk.toml").read_text(encoding="utf-8")
    marked = [line for line in text.splitlines() if "set by maildesk init" in line and not line.startswith("#")]
    assert len(marked) == len(DEMO_VALUES)
    assert any(line.startswith('transport = "file"') and '(default "smtp")' in line for line in marked)
    written = load_settings(desk / "maildesk.toml")
    data = tomllib.loads(text)
    assert (data["smtp"]["transport"], data["mailbox"]["kind"]) == ("file", "maildir")
    defaults = Settings(base_dir=written.base_dir)
    changed = {"templates", "mailbox", "smtp"}
    assert {k: v for k, v in written.model_dump().items() if k not in changed} == \
        {k: v for k, v in defaults.model_dump().items() if k not in changed}
    assert written.smtp.model_copy(update={"transport": "smtp"}) == defaults.smtp
    assert cli(desk / "maildesk.toml", "run", "--once").returncode == 0


def test_version_and_help() -> None:
    """--version names the version; --help lists every command group."""
    assert cli(None, "--version").stdout.strip() == f"maildesk {__version__}"
    listed = cli(None, "--help").stdout
    for command in ("init", "run", "ingest", "tickets", "quarantine", "outbox", "status", "rules", "kb", "sla",
                    "report", "db", "secret"):
        assert f"  {command} " in listed, command


def test_the_example_documents_response_hours() -> None:
    """priorities.<P>.response_hours, the first-response target, is explained in the example config."""
    text = (ROOT / "config" / "maildesk.example.toml").read_text(encoding="utf-8")
    assert "response_hours" in text and "start_hours" in text


def test_secret_rotate_default_grace_is_the_library_one() -> None:
    """`secret rotate --grace-days` defaults to maildesk.secret.DEFAULT_GRACE (kept apart for start-up time)."""
    from maildesk.cli.secret_cmd import DEFAULT_GRACE_DAYS
    from maildesk.secret import DEFAULT_GRACE

    assert DEFAULT_GRACE.days == DEFAULT_GRACE_DAYS
