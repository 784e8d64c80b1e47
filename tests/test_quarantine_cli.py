"""The way back for quarantined mail: `quarantine list`, `show`, `retry ID|--all`, and Maildir folders read again."""

from __future__ import annotations

import json
from pathlib import Path

from tests.desk import mail
from tests.installation import assert_one_line_error, cli, install

HOLD_RULE = """
[[rule]]
name = "hold-virus-reports"
conditions = [{ field = "subject", op = "contains", value = "病毒" }]
[rule.actions]
quarantine = true
"""
VIRUS = mail("zhang.wei@example.com", "电脑提示发现病毒", "杀毒软件提示发现木马，怎么办？", name="张伟",
             message_id="<virus-1@client.example.com>")


def _desk(tmp_path: Path) -> Path:
    config = install(tmp_path, mails=(VIRUS,))
    rules = tmp_path / "rules.toml"
    rules.write_text(rules.read_text(encoding="utf-8") + HOLD_RULE, encoding="utf-8")
    return config


def _listed(config: Path) -> list[dict[str, object]]:
    result = cli(config, "quarantine", "list", "--json")
    assert result.returncode == 0, result.stderr
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def test_list_show_and_retry_until_the_cause_is_fixed(tmp_path: Path) -> None:
    """A quarantined mail is listed with its reason, shown whole, retried (quarantined again while the cause
    stays), and becomes a ticket once the operator fixed the cause; then it is no longer listed."""
    config = _desk(tmp_path)
    ran = json.loads(cli(config, "run", "--once", "--json").stdout)
    assert [m["result"] for m in ran["mails"]] == ["quarantined"]
    [entry] = _listed(config)
    assert "hold-virus-reports" in str(entry["reason"]) and entry["subject"] == "电脑提示发现病毒"
    assert entry["from"] == "张伟 <zhang.wei@example.com>" and str(entry["at"]).endswith("+08:00")
    mail_id = str(entry["id"])
    shown = cli(config, "quarantine", "show", mail_id[:6])
    assert shown.returncode == 0 and "hold-virus-reports" in shown.stdout and "电脑提示发现病毒" in shown.stdout
    raw = cli(config, "quarantine", "show", mail_id, "--raw")
    assert raw.stdout == VIRUS.decode("utf-8").replace("\r\n", "\n")  # the mail itself, to save as .eml

    again = json.loads(cli(config, "quarantine", "retry", mail_id, "--json").stdout)
    assert [(m["id"], m["result"]) for m in again["mails"]] == [(mail_id, "quarantined")]
    [entry] = _listed(config)
    assert entry["id"] != mail_id and "hold-virus-reports" in str(entry["reason"])

    rules = tmp_path / "rules.toml"
    rules.write_text(rules.read_text(encoding="utf-8").replace(HOLD_RULE, ""), encoding="utf-8")
    fixed = cli(config, "quarantine", "retry", "--all")
    assert fixed.returncode == 0, fixed.stderr
    assert f"{entry['id']}: created TS-" in fixed.stdout
    assert cli(config, "quarantine", "list").stdout.strip() == "no quarantined mail"
    tickets = json.loads(cli(config, "tickets", "list", "--json").stdout)
    assert [t["subject"] for t in tickets] == ["电脑提示发现病毒"]
    assert_one_line_error(cli(config, "quarantine", "retry", str(entry["id"])), "no quarantined mail", code=1)
    assert_one_line_error(cli(config, "quarantine", "retry"), "--all")


def test_reading_the_quarantine_folder_again_does_not_nest_folders(tmp_path: Path) -> None:
    """`ingest mailbox/.Quarantine` files its mail in mailbox/.Processed, never .Quarantine/.Processed/."""
    config = _desk(tmp_path)
    assert cli(config, "run", "--once").returncode == 0
    quarantine = tmp_path / "mailbox" / ".Quarantine"
    assert len(list((quarantine / "cur").iterdir())) == 1
    rules = tmp_path / "rules.toml"
    rules.write_text(rules.read_text(encoding="utf-8").replace(HOLD_RULE, ""), encoding="utf-8")
    result = json.loads(cli(config, "ingest", str(quarantine), "--json").stdout)
    assert [m["result"] for m in result["mails"]] == ["created"]
    assert not (quarantine / ".Processed").exists() and not (quarantine / ".Quarantine").exists()
    assert list((quarantine / "cur").iterdir()) == []
    assert len(list((tmp_path / "mailbox" / ".Processed" / "cur").iterdir())) == 1
