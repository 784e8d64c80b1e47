"""The people directory: who a sender is (name, department, role, team) from a CSV or TOML file."""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from maildesk.errors import MaildeskError

ROLES = ("reporter", "engineer", "lead", "manager", "director", "product")
COLUMNS = ("address", "name", "department", "employee_id", "extension", "phone", "role", "team", "away", "tier")
TIERS = (1, 2, 3)  # support tiers: 一线 first line, 二线 specialists, 三线 R&D
_REQUIRED = ("address", "name")
_TRUE = frozenset({"true", "yes", "y", "1", "是", "x"})
_FALSE = frozenset({"false", "no", "n", "0", "否", ""})
_PERSON_TABLE = re.compile(r"^[ \t]*\[\[[ \t]*person[ \t]*\]\]", re.MULTILINE)


class DirectoryError(MaildeskError):
    """The people directory cannot be read; the message names the file and the line."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path, self.line, self.problem = str(path), line, problem
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Person:
    """One known address; staff are everyone whose role is not ``reporter``."""

    address: str
    name: str
    department: str = ""
    employee_id: str = ""
    extension: str = ""
    phone: str = ""
    role: str = "reporter"
    team: str = ""
    away: bool = False
    tier: int = 0  # 1, 2 or 3 (people/tiers.py); 0: not given
    on_call: bool = False  # by the on-call rota at the moment of the work (Directory.with_on_call)

    @property
    def is_staff(self) -> bool:
        return self.role != "reporter"


class Directory:
    """Known people in file order (assignment relies on a stable order); lookups ignore case."""

    def __init__(self, people: list[Person]) -> None:
        self._people = list(people)
        self._by_address = {p.address.lower(): p for p in self._people}

    def get(self, address: str) -> Person | None:
        return self._by_address.get(address.strip().lower())

    def is_staff(self, address: str) -> bool:
        person = self.get(address)
        return person is not None and person.is_staff

    def all(self) -> list[Person]:
        return list(self._people)

    def find(self, wanted: str) -> Person | None:
        """The person an engineer or supervisor means: by address, or a staff member by name."""
        wanted = wanted.strip().strip("<>")
        if "@" in wanted:
            return self.get(wanted)
        return next((p for p in self.staff() if p.name == wanted), None)

    def staff(self) -> list[Person]:
        return [p for p in self._people if p.is_staff]

    def by_role(self, role: str) -> list[Person]:
        return [p for p in self._people if p.role == role]

    def members(self, team: str) -> list[Person]:
        """Engineers and leads of a team, away or not (see ``available``)."""
        return [p for p in self._people if p.team == team and p.role in ("engineer", "lead")]

    def available(self, team: str) -> list[Person]:
        """Members of a team who are not marked away: the ones who can take a ticket now."""
        return [p for p in self.members(team) if not p.away]

    def with_away(self, addresses: Collection[str]) -> Directory:
        """This directory with the people at ``addresses`` marked away too (their own out-of-office reply);
        itself when that changes nobody."""
        wanted = {a.lower() for a in addresses}
        if not any(a in wanted and not p.away for a, p in self._by_address.items()):
            return self
        return Directory([replace(p, away=True) if p.address.lower() in wanted else p for p in self._people])

    def with_on_call(self, addresses: Collection[str]) -> Directory:
        """This directory with the people at ``addresses`` on call (and nobody else); itself when that changes
        nobody."""
        wanted = {a.lower() for a in addresses}
        if all((a in wanted) == p.on_call for a, p in self._by_address.items()):
            return self
        return Directory([replace(p, on_call=p.address.lower() in wanted) for p in self._people])

    def on_call(self) -> list[Person]:
        return [p for p in self._people if p.on_call]

    def __len__(self) -> int:
        return len(self._people)

    def __iter__(self) -> Iterator[Person]:
        return iter(self._people)

    def __contains__(self, address: object) -> bool:
        return isinstance(address, str) and self.get(address) is not None


def default_people_path() -> Path:
    """The sample directory shipped with the package (copied by ``maildesk init``)."""
    return Path(str(resources.files("maildesk.people").joinpath("default_people.csv")))


def load_directory(path: Path) -> Directory:
    """Read a ``.csv`` or ``.toml`` directory; any problem raises ``DirectoryError``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DirectoryError(path, None, f"cannot read the people directory: {exc.strerror or exc}") from exc
    rows = _toml_rows(path, data) if path.suffix.lower() == ".toml" else _csv_rows(path, data)
    return _build(path, rows)


def _decode(data: bytes) -> str:
    # Spreadsheets on Chinese Windows save CSV as GBK unless told otherwise; UTF-8 (with or
    # without the BOM Excel adds) is tried first because GB18030 would accept almost anything.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _csv_rows(path: Path, data: bytes) -> list[tuple[int, dict[str, object]]]:
    try:
        text = _decode(data)
    except UnicodeDecodeError as exc:
        raise DirectoryError(path, None, "not UTF-8 or GB18030 text") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, object]]] = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = [c.strip().lower() for c in cells]
            _check_header(path, line, header)
            continue
        if len(cells) > len(header):
            raise DirectoryError(path, line, f"{len(cells)} fields but the header has {len(header)}")
        rows.append((line, {k: v.strip() for k, v in zip(header, cells, strict=False)}))
    if header is None:
        raise DirectoryError(path, None, "empty file: expected a header line " + ",".join(COLUMNS))
    return rows


def _check_header(path: Path, line: int, header: list[str]) -> None:
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise DirectoryError(path, line, f"unknown column {unknown[0]!r} in the header (known: {', '.join(COLUMNS)})")
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise DirectoryError(path, line, f"the header lacks the column {missing[0]!r}")
    doubled = [c for c in header if header.count(c) > 1]
    if doubled:
        raise DirectoryError(path, line, f"the column {doubled[0]!r} appears twice in the header")


def _toml_rows(path: Path, data: bytes) -> list[tuple[int, dict[str, object]]]:
    try:
        text = data.decode("utf-8-sig")
        doc = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise DirectoryError(path, None, "a TOML directory must be UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DirectoryError(path, None, f"TOML syntax error: {exc}") from exc
    extra = [k for k in doc if k != "person"]
    if extra:
        raise DirectoryError(path, None, f"unknown top-level key {extra[0]!r} (expected [[person]] tables)")
    people = doc.get("person", [])
    if not isinstance(people, list):
        raise DirectoryError(path, None, "'person' must be an array of tables: [[person]]")
    # tomllib keeps no positions; the n-th [[person]] header is the n-th table, which is
    # enough to point the operator at the right line.
    lines = [text.count("\n", 0, m.start()) + 1 for m in _PERSON_TABLE.finditer(text)]
    rows: list[tuple[int, dict[str, object]]] = []
    for index, table in enumerate(people):
        line = lines[index] if index < len(lines) else 0
        if not isinstance(table, dict):
            raise DirectoryError(path, line or None, f"person[{index}] must be a table")
        unknown = [k for k in table if k not in COLUMNS]
        if unknown:
            raise DirectoryError(path, line or None, f"person[{index}]: unknown key {unknown[0]!r}")
        rows.append((line, dict(table)))
    return rows


def _text(path: Path, line: int, key: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DirectoryError(path, line or None, f"{key}: expected text, got {value!r}")
    return str(value).strip()


def _flag(path: Path, line: int, value: object) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise DirectoryError(path, line or None, f"away: expected yes/no or true/false, got {value!r}")


def _tier(path: Path, line: int, value: object) -> int:
    text = "" if value is None else str(value).strip()
    if not text:
        return 0
    if text.isdigit() and int(text) in TIERS:
        return int(text)
    raise DirectoryError(path, line or None, f"tier: expected 1, 2 or 3 (or nothing), got {value!r}")


def _build(path: Path, rows: list[tuple[int, dict[str, object]]]) -> Directory:
    people: list[Person] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        fields = {k: _text(path, line, k, row.get(k, "")) for k in COLUMNS if k not in ("away", "tier")}
        address = fields["address"].lower()
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise DirectoryError(path, line or None, f"address: not a mail address: {fields['address']!r}")
        if not fields["name"]:
            raise DirectoryError(path, line or None, f"name: missing for {address}")
        role = fields["role"].lower() or "reporter"
        if role not in ROLES:
            raise DirectoryError(path, line or None, f"role: unknown role {role!r} (known: {', '.join(ROLES)})")
        if address in seen:
            raise DirectoryError(
                path, line or None, f"address: duplicate address {address} (first on line {seen[address]})"
            )
        seen[address] = line
        person = Person(
            address=address,
            name=fields["name"],
            department=fields["department"],
            employee_id=fields["employee_id"],
            extension=fields["extension"],
            phone=fields["phone"],
            role=role,
            team=fields["team"],
            away=_flag(path, line, row.get("away", "")),
            tier=_tier(path, line, row.get("tier", "")),
        )
        people.append(person)
    return Directory(people)
