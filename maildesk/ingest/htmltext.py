"""HTML mail → readable plain text: line breaks kept, images, links, scripts and styles dropped.

A small ``HTMLParser`` subclass rather than html2text: html2text writes Markdown (``**``,
table pipes, a blank line after every ``<div>``), which is noise in a ticket's text, and
QQ Mail / Foxmail put every line of a mail in its own ``<div>``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset",
        "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
        "nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
    }
)  # fmt: skip
_SKIP = frozenset({"script", "style", "title", "noscript", "template", "xml"})
_SPACES = re.compile(r"[ \t\r\n\f]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skip = 0
        self.pre = 0

    def _at_line_start(self) -> bool:
        for chunk in reversed(self.chunks):
            if chunk:
                return chunk.endswith("\n")
        return True

    def _soft_break(self) -> None:
        if not self._at_line_start():
            self.chunks.append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.chunks.append("\n")
        elif tag in _BLOCK:
            self._soft_break()
            if tag == "li":
                self.chunks.append("- ")
            self.pre += tag == "pre"
        elif tag in ("td", "th"):
            self.chunks.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.chunks.append("\n")
        elif tag in _BLOCK:
            self._soft_break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self._soft_break()
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:  # no-break spaces survive the whitespace trimming below
            self.chunks.append(data.replace(" ", "\xa0"))
        else:
            self.chunks.append(_SPACES.sub(" ", data))


def html_to_text(html: str) -> str:
    """The text a reader sees in ``html``, one line per block or ``<br>``, at most one blank line in a row."""
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
        text = "".join(collector.chunks)
    except Exception:  # HTMLParser is lenient, but a mail must never fail on its HTML: strip tags instead
        text = re.sub(r"<[^>]*>", " ", html)
    lines = (line.lstrip(" ").replace("\xa0", " ").rstrip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")
