"""Mail templates: the operator's folder first, then the packaged defaults (zh and en).

A template set is ``{kind}.{lang}.subject.j2``, ``{kind}.{lang}.txt.j2`` and,
optionally, ``{kind}.{lang}.html.j2``. Undefined variables are errors, so a typo
fails in tests, not in a reporter's inbox. HTML is autoescaped, text is not.
The text and HTML parts of one kind and language always come from the same folder:
an operator who rewrites ``ack.zh.txt.j2`` without an ``ack.zh.html.j2`` sends a
text-only mail rather than the packaged HTML with the old wording.

Helpers inside templates: ``{{ ticket.subject | bare(ticket.number) }}`` drops
Re:/回复: prefixes and the ticket tag; ``| tag(number)`` puts the tag in front;
``| nl2br`` turns a text body into escaped HTML lines. ``desk_name`` (the team's
name in signatures) is optional everywhere; pass it once as ``defaults``.

Context of each packaged kind ("ticket" is a mapping; values are preformatted strings):

=============  ===============================================================================
kind           context keys
=============  ===============================================================================
ack            ticket{number, subject, priority, priority_name, type_name, response_due,
               reporter_name}; kb_articles[{id, title, summary}] (may be empty)
kb_article     reader_name (may be ""); ticket{number, subject}; requested (the number asked
               for); article ({id, title, problem, solution} or None: not offered on the ticket)
assignment     assignee_name; ticket{number, subject, priority, priority_name, type_name,
               response_due, created_at}; reporter{name, address, department, employee_id,
               extension}; description (an excerpt); notice (optional: why it came to them);
               form (optional: {system, impact, occurred}, the intake form 登记表, "" where not given);
               briefing (optional){attached[str] (names of the files attached), listed[{name,
               size}] (over the size budget), history[{at, what, who, text}] (on a reassignment)}
reject         sender_name (may be ""); original_subject
command_error  staff_name; ticket{number, subject} or None; errors[{line, reason}];
               applied[str] (the command lines that did take effect; may be empty)
relay          ticket{number, subject}; engineer_name; body (the engineer's text)
progress       reporter_name; ticket{number, subject, priority_name, status_name, assignee_name};
               entries[{at, action, result}] (may be empty); next_update (str or None)
reminder       assignee_name; ticket{number, subject, priority_name, status_name};
               target_name (e.g. 首次响应 / first response); due; remaining (e.g. 30 分钟)
escalation     recipient_name; level (int); role (the recipient's role, e.g. 技术支持经理);
               ticket{number, subject, priority, priority_name, status_name, assignee_name,
               reporter_name, created_at}; missed (the target missed, e.g. 解决时限); due;
               overdue_by (e.g. 2 小时 15 分钟)
digest         recipient_name; period; generated_at;
               breaches[{number, subject, priority, assignee_name, overdue_by, system, impact}];
               at_risk[{number, subject, priority, assignee_name, due, system, impact}];
               oldest[{number, subject, status_name, age}]; load[{engineer, open, breached}];
               to_review[{number, subject, priority, type_name, system, age}] (optional: daily, 复核)
review_new     recipient_name; ticket{number, subject, priority, priority_name, type_name, assignee_name,
               reporter_name, created_at, response_due, resolve_due}; form{system, impact, occurred};
               description; team
priority_changed reader_name; ticket{number, subject, priority, priority_name}; old_priority;
               old_priority_name; changed_by; response_due ("" once answered); resolve_due; for_staff
confirm        reporter_name; ticket{number, subject}; engineer_name; resolution;
               auto_close_after (e.g. 3 个工作日 / 3 working days); kb_article (optional: {id, title} or None)
survey         reporter_name; ticket{number, subject}
closed         reporter_name; ticket{number, subject}; close_reason; resolution (str or None);
               kb_article ({id, title} or None)
evaluation     reporter_name; ticket{number, subject}; evaluator_name; outcome (feasible, not_now,
               needs_change); outcome_name (可实施 / feasible); note (the evaluator's reason); words (the
               rest of their mail, or ""); rd_number (RD-YYYYMMDD-NNNN of an accepted requirement, or None)
report         recipient_name; title; period_from; period_to; summary[{label, value}];
               tables[{title, columns[str], rows[[str]]}]; charts[{cid, title}] (the images
               go to compose() as inline_images with the same content ids)
mobilise       recipient_name; reason (new, incident, raised or breach); count (tickets of an incident);
               by (who raised the priority, for raised; else "");
               due, overdue_by (of a breach; else ""); roles (why the recipient is told, e.g.
               值班人员、二线组长); ticket{number, subject, priority, priority_name, assignee_name,
               reporter_name, created_at, response_due, resolve_due}; words (the reporter's);
               impact (may be ""); attachments[{name, size}] (may be empty); review (bool: a new
               ticket's supervisor reviews (复核) type and priority from this mail; ticket.type_name)
=============  ===============================================================================

Reply keywords the templates teach (the ingest side must accept them): confirm —
已解决 / 仍有问题 / 需进一步优化, and in English "Solved" / "Still a problem" /
"Needs improvement"; survey — three scores 1–5 then a comment, "5 5 4 很及时".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from maildesk.errors import ConfigError, MaildeskError
from maildesk.outbound.compose import strip_subject, tag_subject
from maildesk.outbound.phrases import Phrases

__all__ = ["LANGS", "PACKAGED_KINDS", "RenderedMail", "TemplateError", "Templates"]

PACKAGED_KINDS = (
    "ack", "assignment", "reject", "command_error", "relay", "progress", "reminder",
    "escalation", "digest", "confirm", "survey", "closed", "report", "kb_article",
    "review_new", "priority_changed", "evaluation", "mobilise",
)  # fmt: skip
LANGS = ("zh", "en")

_NAME = re.compile(r"[a-z][a-z0-9_]*")


class TemplateError(MaildeskError):
    """A template is missing or fails to render; the message names the kind, language and file."""


@dataclass(frozen=True)
class RenderedMail:
    """The parts of one mail, ready for ``compose``."""

    subject: str
    text: str
    html: str | None


def _nl2br(value: object) -> Markup:
    # escaped whole, then split: escaping touches no line end, and one call costs a third of one a line
    return Markup("<br>\n".join(escape(str(value)).splitlines()))


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith(".html.j2")


class Templates:
    """Renders mails from ``directory`` (optional) with the packaged templates as fallback."""

    def __init__(self, directory: str | Path | None = None, *, defaults: Mapping[str, Any] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        loaders: list[jinja2.BaseLoader] = []
        if self.directory is not None:
            if not self.directory.is_dir():
                raise ConfigError("templates.directory", f"not a folder: {self.directory}")
            loaders.append(jinja2.FileSystemLoader(self.directory))
        loaders.append(jinja2.PackageLoader("maildesk.outbound", "templates"))
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=_autoescape,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            # compiled once: the files are checked at start-up and a changed one needs a restart
            # (checking each file's time on every render cost ~12 stat calls a new ticket)
            auto_reload=False,
        )
        self._env.filters["tag"] = tag_subject
        self._env.filters["bare"] = strip_subject
        self._env.filters["nl2br"] = _nl2br
        self._defaults = dict(defaults or {})
        self.phrases = Phrases(self.directory)
        self._owned: dict[str, bool] = {}

    def say(self, key: str, lang: str, **values: object) -> str:
        """A phrase from the phrase books (``maildesk.outbound.phrases``), filled in."""
        return self.phrases.say(key, lang, **values)

    def _own(self, name: str) -> bool:
        if name not in self._owned:  # looked at once, as the compiled templates are
            self._owned[name] = self.directory is not None and (self.directory / name).is_file()
        return self._owned[name]

    def _load(self, name: str, kind: str, lang: str) -> jinja2.Template | None:
        try:
            return self._env.get_template(name)
        except jinja2.TemplateNotFound:
            return None
        except jinja2.TemplateError as exc:  # a syntax error in the file
            raise TemplateError(f"{kind} ({lang}): {name}: {exc}") from None

    def available(self, kind: str, lang: str) -> bool:
        """Whether a subject and a text template exist for this kind and language."""
        return all(self._load(f"{kind}.{lang}.{part}.j2", kind, lang) is not None for part in ("subject", "txt"))

    def render(self, kind: str, lang: str, context: Mapping[str, Any]) -> RenderedMail:
        """Render one mail; raise TemplateError naming the kind, language and file on any problem."""
        if not _NAME.fullmatch(kind) or not _NAME.fullmatch(lang):
            raise TemplateError(f"{kind!r} ({lang!r}): kinds and languages are lower-case names")
        names = {part: f"{kind}.{lang}.{part}.j2" for part in ("subject", "txt", "html")}
        subject_t = self._load(names["subject"], kind, lang)
        text_t = self._load(names["txt"], kind, lang)
        if subject_t is None or text_t is None:
            missing = names["subject"] if subject_t is None else names["txt"]
            raise TemplateError(f"no template for mail kind {kind!r} in language {lang!r} ({missing})")
        if self._own(names["txt"]) and not self._own(names["html"]):
            html_t = None  # the operator rewrote the text; the packaged HTML would say something else
        elif self._own(names["html"]) and not self._own(names["txt"]):
            raise TemplateError(
                f"{kind} ({lang}): {self.directory} has {names['html']} but no {names['txt']}; "
                "the text and HTML parts must come from the same folder"
            )
        else:
            html_t = self._load(names["html"], kind, lang)
        values = {**self._defaults, **context}

        def run(template: jinja2.Template) -> str:
            try:
                return template.render(values)
            except jinja2.TemplateError as exc:  # StrictUndefined lands here too
                raise TemplateError(f"{kind} ({lang}): {template.name}: {exc}") from None

        # A subject is one line: a newline from a template or a ticket would end the header.
        subject = " ".join(run(subject_t).split())
        text = run(text_t).strip("\n") + "\n"
        html = run(html_t) if html_t is not None else None
        return RenderedMail(subject=subject, text=text, html=html)
