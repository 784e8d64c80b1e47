"""``tickets show`` for a person: the ticket's facts, its mails and its history, in the desk's language."""

from __future__ import annotations

import textwrap
from typing import Any

import click

from maildesk.cli.tables import cut, terminal_width
from maildesk.words import status_name

TEXT_CHARS = 2000  # of each mail's text; --json has it all

LABELS = {
    "zh": {"status": "状态", "priority": "优先级", "type": "类型", "team": "小组", "assignee": "处理人",
           "reporter": "报告人", "created": "创建", "due": "解决时限", "history": "历史", "links": "关联"},
    "en": {"status": "status", "priority": "priority", "type": "type", "team": "team", "assignee": "assignee",
           "reporter": "reporter", "created": "created", "due": "resolve by", "history": "history",
           "links": "links"},
}


def minutes(iso: str | None) -> str:
    """``2026-11-23T10:00:00+08:00`` (already in the desk's zone) as ``2026-11-23 10:00``."""
    return iso[:16].replace("T", " ") if iso else "-"


def print_detail(d: dict[str, Any], lang: str, types: dict[str, str]) -> None:
    width = terminal_width()
    words = LABELS["zh" if lang == "zh" else "en"]
    kind = types.get(d["type"], d["type"]) if lang == "zh" else d["type"]
    facts = [
        f"{words['status']} {status_name(d['status'], lang)}", f"{words['priority']} {d['priority']}",
        f"{words['type']} {kind}", f"{words['team']} {d['team'] or '-'}", f"{words['assignee']} {d['assignee'] or '-'}",
    ]
    who = " ".join(p for p in (d["reporter_name"], f"<{d['reporter']}>", d["reporter_department"]) if p)
    lines = [f"{d['number']}  {cut(d['subject'], max(width - len(d['number']) - 2, 10))}",
             *textwrap.wrap("  ".join(facts), width),
             f"{words['reporter']} {who}",
             f"{words['created']} {minutes(d['created_at'])}  {words['due']} {minutes(d['resolve_due'])}"]
    if d["links"]:
        lines.append(f"{words['links']} " + ", ".join(f"{link['kind']} {link['ticket']}" for link in d["links"]))
    for line in lines:
        click.echo(line)
    for m in d["messages"]:
        arrow = "←" if m["direction"] == "in" else "→"
        click.echo(f"\n{minutes(m['created_at'])} {arrow} {m['from']} ({m['kind']})")
        text = m["text"].strip()
        click.echo(text[:TEXT_CHARS] + ("…" if len(text) > TEXT_CHARS else ""))
        for a in m["attachments"]:
            click.echo(f"  [{a['filename']}, {a['content_type']}, {a['size']} bytes]")
    click.echo(f"\n{words['history']}")
    for e in d["events"]:
        change = f" {e['from'] or ''} → {e['to'] or ''}" if e["from"] or e["to"] else ""
        if e["action"] == "status":
            change = f" {status_name(e['from'] or '', lang)} → {status_name(e['to'] or '', lang)}"
        note = f"  {e['note']}" if e["note"] else ""
        click.echo(cut(f"{minutes(e['at'])} {e['actor']} {e['action']}{change}{note}", width))
