"""Phrase books: the sentences the desk writes outside whole mail templates, one TOML file per language.

A reason a command failed, a notice above a relayed reply, a row label of a report: short
texts that code puts together, kept out of the code so that a desk's wording (and a new
language) is the operator's to change. ``phrases.zh.toml`` and ``phrases.en.toml`` lie beside
the mail templates; an operator's template folder may hold its own, whose keys win. Keys are
dotted (``command.status.missing``); values are ``str.format`` strings with named fields.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from string import Formatter
from typing import Any

from maildesk.errors import MaildeskError

Book = dict[str, str]


class PhraseError(MaildeskError):
    """A phrase book cannot be read, or a phrase is missing or cannot be filled in."""


def _flatten(table: Mapping[str, Any], prefix: str, where: str) -> Book:
    out: Book = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + ".", where))
        elif isinstance(value, str):
            out[name] = value
        else:
            raise PhraseError(f"{where}: {name}: a phrase must be text, got {value!r}")
    return out


def _read(text: str, where: str) -> Book:
    try:
        return _flatten(tomllib.loads(text), "", where)
    except tomllib.TOMLDecodeError as exc:
        raise PhraseError(f"{where}: invalid TOML: {exc}") from None


def packaged_book(lang: str) -> Book:
    """The phrases shipped with maildesk for ``lang`` (empty when there are none)."""
    file = resources.files("maildesk.outbound").joinpath("templates", f"phrases.{lang}.toml")
    if not file.is_file():
        return {}
    return _read(file.read_text(encoding="utf-8"), f"phrases.{lang}.toml")


def fields(phrase: str) -> set[str]:
    """The named fields a phrase fills in."""
    return {name for _, name, _, _ in Formatter().parse(phrase) if name}


class Phrases:
    """The phrase books of one desk: packaged, overridden key by key by the operator's folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder
        self._books: dict[str, Book] = {}

    def book(self, lang: str) -> Book:
        if lang not in self._books:
            book = packaged_book(lang)
            own = self._folder / f"phrases.{lang}.toml" if self._folder is not None else None
            if own is not None and own.is_file():
                book = {**book, **_read(own.read_text(encoding="utf-8"), str(own))}
            self._books[lang] = book
        return self._books[lang]

    def say(self, key: str, lang: str, **values: object) -> str:
        """The phrase ``key`` in ``lang``, filled in with ``values``."""
        phrase = self.book(lang).get(key)
        if phrase is None:
            raise PhraseError(f"no phrase {key!r} in language {lang!r} (phrases.{lang}.toml)")
        try:
            return phrase.format(**values)
        except (KeyError, IndexError, ValueError) as exc:
            raise PhraseError(f"phrase {key!r} ({lang}) cannot be filled in: {exc!r}") from None
