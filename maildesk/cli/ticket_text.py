"""``tickets show`` for a person: the ticket's facts, its mails and its history, in the desk's language."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import click

from maildesk.cli.tables import cut, terminal_width
from maildesk.outbound.phrases import Phrases
from maildesk.words import channel_name, outcome_name, status_name, type_name

if TYPE_CHECKING:
    from maildesk.config import Settings

TEXT_CHARS = 2000  # of each mail's text; --json has it all

def minutes(iso: str | None) -> str:
    """``2026-11-23T10:00:00+08:00`` (already in the desk's zone) as ``2026-11-23 10:00``."""
    return iso[:16].replace("T", " ") if iso else "-"


def print_detail(d: dict[str, Any], settings: Settings) -> None:
    width = terminal_width()
    lang = settings.language
    phrases = Phrases(settings.path(settings.templates) if settings.templates else None)

    def word(key: str) -> str:
        return phrases.say(f"cli.{key}", lang)

    facts = [
        f"{word('status')} {status_name(d['status'], lang)}", f"{word('priority')} {d['priority']}",
        f"{word('type')} {type_name(settings, d['type'], lang)}", f"{word('team')} {d['team'] or '-'}",
        f"{word('assignee')} {d['assignee'] or '-'}",
        f"{word('channel')} {channel_name(d.get('channel') or '-', lang)}",
    ]
    who = " ".join(p for p in (d["reporter_name"], f"<{d['reporter']}>", d["reporter_department"]) if p)
    lines = [f"{d['number']}  {cut(d['subject'], max(width - len(d['number']) - 2, 10))}",
             *textwrap.wrap("  ".join(facts), width),
             f"{word('reporter')} {who}",
             f"{word('created')} {minutes(d['created_at'])}  {word('due')} {minutes(d['resolve_due'])}"]
    form = [(phrases.say(f"form.{key}", lang), d.get(key) or "") for key in ("system", "impact", "occurred")]
    if any(value for _, value in form):  # the intake form (登记表), where anything of it is known
        lines.extend(f"{label} {value or '-'}" for label, value in form)
    if d.get("requirement"):
        req = d["requirement"]
        rd = f"  {req['rd_number']}" if req["rd_number"] else ""
        lines.append(f"{word('evaluation')} {outcome_name(req['outcome'], lang)}{rd}  {req['evaluated_by']} "
                     f"{minutes(req['evaluated_at'])}")
    if d["links"]:
        lines.append(f"{word('links')} " + ", ".join(f"{link['kind']} {link['ticket']}" for link in d["links"]))
    for line in lines:
        click.echo(line)
    for m in d["messages"]:
        arrow = "←" if m["direction"] == "in" else "→"
        click.echo(f"\n{minutes(m['created_at'])} {arrow} {m['from']} ({m['kind']})")
        text = m["text"].strip()
        click.echo(text[:TEXT_CHARS] + ("…" if len(text) > TEXT_CHARS else ""))
        for a in m["attachments"]:
            click.echo(f"  [{a['filename']}, {a['content_type']}, {a['size']} bytes]")
    click.echo(f"\n{word('history')}")
    for e in d["events"]:
        change = f" {e['from'] or ''} → {e['to'] or ''}" if e["from"] or e["to"] else ""
        if e["action"] == "status":
            change = f" {status_name(e['from'] or '', lang)} → {status_name(e['to'] or '', lang)}"
        note = f"  {e['note']}" if e["note"] else ""
        click.echo(cut(f"{minutes(e['at'])} {e['actor']} {e['action']}{change}{note}", width))
