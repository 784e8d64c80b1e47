"""An installation as an operator has it (config, rules, people, a Maildir), and the CLI run as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.desk import desk_settings, mail, write_config

SAMPLE = mail("li.na@example.com", "ERP 登录报错", "登录时提示 Error 500，请帮忙看看。", name="李娜")


def install(folder: Path, *, database: str | None = None, mails: tuple[bytes, ...] = (SAMPLE,),
            **overrides: Any) -> Path:
    """A desk in ``folder`` reading the Maildir ``folder/mailbox`` (holding ``mails``), writing mail to files."""
    maildir = folder / "mailbox"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for index, raw in enumerate(mails):
        (maildir / "new" / f"{index:04d}.test:2,").write_bytes(raw)
    settings = desk_settings(database or f"sqlite:///{folder / 'desk.db'}", mailbox={"kind": "maildir",
                                                                                   "path": "mailbox"},
                             **overrides)
    return write_config(folder, settings)


def cli(config: Path | None, *args: str, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``maildesk [--config CONFIG] ARGS`` in a process of its own, its output piped (so 80 columns)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "MAILDESK_CONFIG", "MAILDESK_DEBUG")}
    environment.update(env or {})
    head = ["--config", str(config)] if config is not None else []
    return subprocess.run([sys.executable, "-m", "maildesk", *head, *args], capture_output=True, text=True,
                          env=environment, timeout=timeout, check=False)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str, code: int = 2) -> str:
    """The command failed with ``code`` and said why in exactly one line holding every needle."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, (result.returncode, result.stderr)
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def waiting_mails(config: Path) -> list[str]:
    """Names of the mails still in the installation's Maildir inbox."""
    maildir = config.parent / "mailbox"
    return sorted(p.name for sub in ("new", "cur") for p in (maildir / sub).iterdir())
