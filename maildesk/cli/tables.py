"""Tables for the terminal: as wide as the terminal (80 columns when piped), Chinese counted double.

A column may be *kept* (never cut: ticket numbers), *cut* with an ellipsis down to a minimum
width, or *dropped* when even that does not fit, in the order the caller gives. Rich's tables
were forced to 150 columns and cut ticket numbers when piped; this is small and imports nothing.
"""

from __future__ import annotations

import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

ELLIPSIS = "…"
GAP = "  "


def cell_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (CJK) characters two, combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, ending in an ellipsis when something was cut."""
    text = " ".join(text.split())  # a subject with a newline or a tab would break the row
    if cell_width(text) <= width:
        return text
    out, used = "", 0
    for char in text:
        w = cell_width(char)
        if used + w > width - 1:
            break
        out += char
        used += w
    return out + ELLIPSIS


def pad(text: str, width: int) -> str:
    return text + " " * max(width - cell_width(text), 0)


def terminal_width() -> int:
    """The terminal's width; 80 when the output is a pipe or a file (or $COLUMNS when set)."""
    return shutil.get_terminal_size((80, 24)).columns


@dataclass(frozen=True)
class Column:
    """``keep``: never cut; ``want``: the width it keeps before columns are dropped for it; ``least``:
    the narrowest it may be cut to once nothing more can be dropped; ``drop``: dropped in this order
    (1 first) when the table does not fit."""

    header: str
    keep: bool = False
    least: int = 8
    want: int = 0  # 0: the same as least
    drop: int = 0  # 0: never dropped


def render(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None = None) -> list[str]:
    """The table as lines no wider than ``width`` (the terminal's, by default)."""
    width = terminal_width() if width is None else width
    cells = [[" ".join(str(v).split()) for v in row] for row in rows]
    natural = [max([cell_width(c.header), *(cell_width(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    shown = list(range(len(columns)))
    wants = [max(c.want, c.least) for c in columns]
    sizes = _fit(columns, natural, shown, width, wants)
    for index in sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: columns[i].drop):
        if sizes is not None:
            break
        shown.remove(index)
        sizes = _fit(columns, natural, shown, width, wants)
    if sizes is None:
        sizes = _fit(columns, natural, shown, width, [c.least for c in columns])
    if sizes is None:  # only kept columns left and still too wide: show them whole anyway
        sizes = {i: natural[i] for i in shown}
    last = shown[-1]

    def line(values: Sequence[str]) -> str:
        parts = [cut(values[i], sizes[i]) if not columns[i].keep else values[i] for i in shown]
        return GAP.join(p if i == last else pad(p, sizes[i]) for i, p in zip(shown, parts, strict=True)).rstrip()

    return [line([c.header for c in columns]), *(line(r) for r in cells)]


def _fit(columns: Sequence[Column], natural: Sequence[int], shown: list[int], width: int,
         floors: Sequence[int]) -> dict[int, int] | None:
    """Column widths that fit ``width``, cutting the cuttable columns (widest first) no narrower than
    their floor; None if they do not fit."""
    sizes = {i: natural[i] for i in shown}
    room = width - cell_width(GAP) * (len(shown) - 1)
    excess = sum(sizes.values()) - room
    while excess > 0:
        cuttable = [i for i in shown if not columns[i].keep and sizes[i] > min(floors[i], natural[i])]
        if not cuttable:
            return None
        widest = max(cuttable, key=lambda i: sizes[i])
        sizes[widest] -= 1
        excess -= 1
    return sizes
