"""Mail from files: plain .eml files (left untouched) and Maildir folders (processed mail is moved aside)."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from maildesk.errors import MaildeskError
from maildesk.ingest.source import MailSource, SourceMessage

log = logging.getLogger(__name__)

HASH_CHARS = 16
# how often a Maildir is looked at while waiting for mail
MAILDIR_POLL_SECONDS = 1.0


class MailPathError(MaildeskError):
    """A path given as a mail source is neither an .eml file, a folder of them, nor a Maildir."""


def file_source_id(path: Path, raw: bytes) -> str:
    """`file:{absolute path}:{sha256 prefix}`: stable for the same file with the same content."""
    return f"file:{path}:{hashlib.sha256(raw).hexdigest()[:HASH_CHARS]}"


def path_of(source_id: str) -> Path | None:
    """The path inside a file source id, or None when the id is not a file source id."""
    body, sep, digest = source_id.removeprefix("file:").rpartition(":")
    if not source_id.startswith("file:") or not sep or len(digest) != HASH_CHARS:
        return None
    return Path(body)


class EmlFiles:
    """The operator's .eml files, in the order given; they are read, never moved or changed."""

    def __init__(self, paths: Sequence[Path], *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._paths = [Path(path).absolute() for path in paths]
        self._sleep = sleep
        self._done: set[Path] = set()
        self._handed_out: set[Path] = set()

    def fetch_batch(self, limit: int, max_bytes: int | None = None) -> list[SourceMessage]:
        waiting = (path for path in self._paths if path not in self._done)
        return _take(waiting, limit, max_bytes, self._handed_out, report_missing=True)

    def mark_done(self, source_ids: Sequence[str]) -> None:
        for source_id in source_ids:
            path = path_of(source_id)
            if path is not None:
                self._done.add(path)
                log.debug("done: %s", path)

    def quarantine(self, source_id: str, reason: str) -> None:
        path = path_of(source_id)
        if path is not None:
            self._done.add(path)
        log.warning("quarantined %s (file left in place): %s", path or source_id, reason)

    def wait_for_mail(self, timeout: float) -> None:
        # a fixed list of files: nothing new can come; files not done are offered again next pass
        self._handed_out.clear()
        if timeout > 0:
            self._sleep(timeout)

    def close(self) -> None:
        pass


class MaildirSource:
    """A Maildir read from new/ then cur/; done mail moves to a processed sub-Maildir, bad mail aside."""

    def __init__(
        self,
        path: Path,
        processed: str = ".Processed",
        quarantine: str = ".Quarantine",
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path).absolute()
        if not (self.path / "cur").is_dir() or not (self.path / "new").is_dir():
            raise MailPathError(f"{self.path} is not a Maildir (it needs cur/ and new/ folders)")
        # a Maildir++ folder (.Quarantine, .Processed) read again files its mail beside itself, in
        # its parent's folders: never .Quarantine/.Processed/
        home = self.path.parent if _is_subfolder(self.path) else self.path
        self.processed = _make_maildir(home / processed)
        self.quarantined = _make_maildir(home / quarantine)
        self._sleep = sleep
        self._clock = clock
        self._handed_out: set[Path] = set()
        self._seen_new: set[str] = set()

    def fetch_batch(self, limit: int, max_bytes: int | None = None) -> list[SourceMessage]:
        new = _message_names(self.path / "new")
        self._seen_new.update(new)
        candidates = [self.path / "new" / n for n in new] + [
            self.path / "cur" / n for n in _message_names(self.path / "cur")
        ]
        return _take(candidates, limit, max_bytes, self._handed_out, report_missing=False)

    def mark_done(self, source_ids: Sequence[str]) -> None:
        for source_id in source_ids:
            path = self._own_path(source_id)
            if path is not None and self._move(path, self.processed):
                log.debug("moved %s to %s", path.name, self.processed)

    def quarantine(self, source_id: str, reason: str) -> None:
        path = self._own_path(source_id)
        if path is None:
            return
        target = self._move(path, self.quarantined)
        if target is None:
            return
        # in the quarantine Maildir's own folder, not in cur/: every Maildir reader (Python's
        # mailbox module included, which does not skip dot files) still sees only messages
        reason_file = self.quarantined / f"{target.name}.reason"
        reason_file.write_text(reason + "\n", encoding="utf-8")
        log.warning("quarantined %s (reason in %s): %s", target, reason_file, reason)

    def wait_for_mail(self, timeout: float) -> None:
        self._handed_out.clear()
        deadline = self._clock() + timeout
        while (remaining := deadline - self._clock()) > 0:
            if set(_message_names(self.path / "new")) - self._seen_new:
                return
            self._sleep(min(MAILDIR_POLL_SECONDS, remaining))

    def close(self) -> None:
        pass

    def _own_path(self, source_id: str) -> Path | None:
        path = path_of(source_id)
        if path is None or path.parent not in (self.path / "new", self.path / "cur"):
            log.warning("not a message of %s, left alone: %s", self.path, source_id)
            return None
        return path

    def _move(self, path: Path, maildir: Path) -> Path | None:
        """Move a message into `maildir`/cur, marked seen; None when it is gone already (no error)."""
        name = path.name if ":2," in path.name else f"{path.name}:2,S"
        target = maildir / "cur" / name
        try:
            os.replace(path, target)
        except FileNotFoundError:
            log.debug("already gone: %s", path)
            return None
        return target


class MultiSource:
    """Several sources read one after the other, as one source."""

    def __init__(self, sources: Sequence[MailSource]) -> None:
        self._sources = list(sources)
        self._owner: dict[str, MailSource] = {}

    def fetch_batch(self, limit: int, max_bytes: int | None = None) -> list[SourceMessage]:
        messages: list[SourceMessage] = []
        room = max_bytes
        for source in self._sources:
            if len(messages) >= limit or (room is not None and room <= 0):
                break
            # a source hands out its first message whatever its size: the batch may go over by one
            batch = source.fetch_batch(limit - len(messages), room)
            self._owner.update((message.source_id, source) for message in batch)
            messages.extend(batch)
            if room is not None:
                room -= sum(len(message.raw) for message in batch)
        return messages

    def mark_done(self, source_ids: Sequence[str]) -> None:
        for source in self._sources:
            mine = [sid for sid in source_ids if self._owner.get(sid) is source]
            if mine:
                source.mark_done(mine)

    def quarantine(self, source_id: str, reason: str) -> None:
        source = self._owner.get(source_id)
        if source is None:
            log.warning("quarantine of an id no source handed out, ignored: %s", source_id)
        else:
            source.quarantine(source_id, reason)

    def wait_for_mail(self, timeout: float) -> None:
        for index, source in enumerate(self._sources):
            # every source starts a new pass; only the first one actually waits
            source.wait_for_mail(timeout if index == 0 else 0)

    def close(self) -> None:
        for source in self._sources:
            source.close()


def open_paths(paths: Sequence[Path]) -> MailSource:
    """One source over the given .eml files, folders of .eml files and Maildirs, in the given order."""
    sources: list[MailSource] = []
    loose_files: list[Path] = []
    for path in map(Path, paths):
        if path.is_file():
            loose_files.append(path)
            continue
        if loose_files:
            sources.append(EmlFiles(loose_files))
            loose_files = []
        if not path.is_dir():
            raise MailPathError(f"{path}: no such file or folder")
        if (path / "cur").is_dir() and (path / "new").is_dir():
            sources.append(MaildirSource(path))
        else:
            emls = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".eml")
            if not emls:
                log.warning("%s holds no .eml files and is not a Maildir", path)
            sources.append(EmlFiles(emls))
    if loose_files:
        sources.append(EmlFiles(loose_files))
    return sources[0] if len(sources) == 1 else MultiSource(sources)


def _take(
    paths: Iterable[Path], limit: int, max_bytes: int | None, handed_out: set[Path], *, report_missing: bool,
) -> list[SourceMessage]:
    """Read the next files not handed out yet, up to `limit` of them and `max_bytes` together."""
    messages: list[SourceMessage] = []
    total = 0
    for path in paths:
        if len(messages) >= limit:
            break
        if path in handed_out:
            continue
        if max_bytes is not None and messages:
            try:
                size = path.stat().st_size
            except OSError:
                size = 0  # gone or unreadable: reading it says which, below
            if total + size > max_bytes:
                break  # left for the next batch
        handed_out.add(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError as exc:
            if report_missing:  # a file the operator named; in a Maildir another reader took it
                log.error("cannot read %s, skipped: %s", path, exc)
            continue
        except OSError as exc:
            log.error("cannot read %s, skipped: %s", path, exc)
            continue
        messages.append(SourceMessage(file_source_id(path, raw), raw))
        total += len(raw)
    return messages


def _is_subfolder(path: Path) -> bool:
    """Whether ``path`` is a Maildir++ folder inside another Maildir (``.Name`` beside cur/ and new/)."""
    parent = path.parent
    return path.name.startswith(".") and (parent / "cur").is_dir() and (parent / "new").is_dir()


def _make_maildir(path: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    # Maildir++ marks a sub-folder so that Dovecot and Courier list it as a folder
    (path / "maildirfolder").touch()
    return path


def _message_names(folder: Path) -> list[str]:
    """Message file names in a Maildir's new/ or cur/, oldest delivery first (names start with the time)."""
    try:
        return sorted(e.name for e in os.scandir(folder) if not e.name.startswith(".") and e.is_file())
    except FileNotFoundError:
        return []
