"""The people directory: who a sender is, who the staff are, and clear errors for a bad file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from maildesk.errors import MaildeskError
from maildesk.people.directory import (
    ROLES,
    Directory,
    DirectoryError,
    Person,
    default_people_path,
    load_directory,
)

HEADER = "address,name,department,employee_id,extension,phone,role,team,away\n"
CSV = HEADER + (
    "Zhang.Wei@Example.com,张伟,财务部,E1001,8101,13800138001,,,\n"
    "liu.yang@example.com,刘洋,技术支持部,E2001,8201,13811112222,engineer,hardware,no\n"
    "zhao.lei@example.com,赵磊,技术支持部,E2002,8202,13822223333,engineer,hardware,是\n"
    "wu.qiang@example.com,吴强,研发部,E2005,8205,,lead,software,false\n"
    "zheng.li@example.com,郑丽,技术支持部,E3001,8301,,manager,,\n"
)

TOML = """
[[person]]
address = "Zhang.Wei@Example.com"
name = "张伟"
department = "财务部"
employee_id = "E1001"
extension = 8101
phone = "13800138001"

[[person]]
address = "liu.yang@example.com"
name = "刘洋"
department = "技术支持部"
role = "engineer"
team = "hardware"

[[person]]
address = "zhao.lei@example.com"
name = "赵磊"
role = "engineer"
team = "hardware"
away = true

[[person]]
address = "wu.qiang@example.com"
name = "吴强"
role = "lead"
team = "software"

[[person]]
address = "zheng.li@example.com"
name = "郑丽"
role = "manager"
"""


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture(params=["people.csv", "people.toml"])
def directory(request: pytest.FixtureRequest, tmp_path: Path) -> Directory:
    name = request.param
    return load_directory(write(tmp_path, name, CSV if name.endswith(".csv") else TOML))


def test_lookup_ignores_case(directory: Directory) -> None:
    """A sender is found whatever the case of the address, with every column filled in."""
    person = directory.get("ZHANG.WEI@example.COM")
    assert person is not None
    assert (person.name, person.department, person.employee_id, person.extension) == ("张伟", "财务部", "E1001", "8101")
    assert (person.role, person.away, person.is_staff) == ("reporter", False, False)
    assert person.address == "zhang.wei@example.com"
    assert directory.get("nobody@example.com") is None


def test_staff_roles_and_teams(directory: Directory) -> None:
    """Staff are everyone but reporters; a team's members are its engineers and leads, in file order."""
    assert len(directory) == 5
    assert [p.name for p in directory.all()] == ["张伟", "刘洋", "赵磊", "吴强", "郑丽"]
    assert [p.name for p in directory.staff()] == ["刘洋", "赵磊", "吴强", "郑丽"]
    assert [p.name for p in directory.by_role("manager")] == ["郑丽"]
    assert [p.name for p in directory.members("hardware")] == ["刘洋", "赵磊"]
    assert [p.name for p in directory.available("hardware")] == ["刘洋"]
    assert [p.name for p in directory.members("software")] == ["吴强"]
    assert directory.is_staff("Liu.Yang@example.com")
    assert not directory.is_staff("zhang.wei@example.com")
    assert not directory.is_staff("stranger@example.com")
    assert "liu.yang@example.com" in directory


def test_away_marks(directory: Directory) -> None:
    """The away column accepts the words operators type (是/yes/true) and keeps the others available."""
    assert [p.name for p in directory.all() if p.away] == ["赵磊"]


def test_spreadsheet_csv_with_bom_or_gbk(tmp_path: Path) -> None:
    """A CSV saved by Excel (UTF-8 with BOM) or by a Chinese-locale spreadsheet (GBK) reads the same."""
    bom = load_directory(write(tmp_path, "bom.csv", "\ufeff" + CSV))
    gbk = load_directory(write(tmp_path, "gbk.csv", CSV, encoding="gbk"))
    assert [p.name for p in bom.all()] == [p.name for p in gbk.all()] == ["张伟", "刘洋", "赵磊", "吴强", "郑丽"]


def test_columns_may_be_left_out(tmp_path: Path) -> None:
    """Only address and name are required; missing columns are empty and the role is reporter."""
    people = load_directory(write(tmp_path, "p.csv", "name,address\n王芳,wang.fang@example.com\n\n"))
    assert people.get("wang.fang@example.com") == Person("wang.fang@example.com", "王芳")


def test_sample_directory() -> None:
    """The sample installed by `maildesk init` has every role and team, phones, and someone away."""
    people = load_directory(default_people_path())
    assert 10 <= len(people) <= 15
    assert {p.role for p in people} == set(ROLES)
    assert {p.team for p in people if p.team} == {"hardware", "software", "business", "product"}
    assert sum(p.away for p in people) == 1
    assert all(p.phone for p in people)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in p.name) for p in people)
    assert people.available("hardware")


BROKEN_CSV = [
    ("unknown column", "address,name,mobile\n", "people.csv:1: unknown column 'mobile'"),
    ("no address column", "name,department\n张伟,财务部\n", "people.csv:1: the header lacks the column 'address'"),
    ("column twice", "address,name,name\n", "people.csv:1: the column 'name' appears twice"),
    ("empty file", "\n\n", "people.csv: empty file"),
    (
        "unknown role",
        HEADER + "a@example.com,甲,,,,,engineer,,\nb@example.com,乙,,,,,boss,,\n",
        "people.csv:3: role: unknown role 'boss'",
    ),
    (
        "duplicate address",
        HEADER + "a@example.com,甲,,,,,,,\n\nA@Example.com,乙,,,,,,,\n",
        "people.csv:4: address: duplicate address a@example.com (first on line 2)",
    ),
    ("bad address", HEADER + "zhangwei,张伟,,,,,,,\n", "people.csv:2: address: not a mail address"),
    ("missing name", HEADER + "a@example.com,,,,,,,,\n", "people.csv:2: name: missing"),
    ("bad away", HEADER + "a@example.com,甲,,,,,,,maybe\n", "people.csv:2: away: expected yes/no"),
    ("too many fields", HEADER + "a@example.com,甲,,,,,,,,extra\n", "people.csv:2: 10 fields but the header has 9"),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in BROKEN_CSV], ids=[i for i, _, _ in BROKEN_CSV])
def test_broken_csv(tmp_path: Path, text: str, expected: str) -> None:
    """A bad CSV raises DirectoryError naming the file and the line."""
    path = write(tmp_path, "people.csv", text)
    with pytest.raises(DirectoryError) as caught:
        load_directory(path)
    assert str(caught.value).startswith(str(tmp_path / expected))
    assert isinstance(caught.value, MaildeskError)


BROKEN_TOML = [
    ("syntax", '[[person]]\naddress = "a@example.com\n', "people.toml: TOML syntax error"),
    (
        "unknown key",
        TOML + '\n[[person]]\naddress = "x@example.com"\nname = "甲"\nmobile = "1"\n',
        "people.toml:35: person[5]: unknown key 'mobile'",
    ),
    (
        "unknown role",
        '[[person]]\naddress = "a@example.com"\nname = "甲"\nrole = "admin"\n',
        "people.toml:1: role: unknown role 'admin'",
    ),
    (
        "away not boolean",
        '[[person]]\naddress = "a@example.com"\nname = "甲"\naway = 3\n',
        "people.toml:1: away: expected",
    ),
    ("top-level key", 'title = "people"\n', "people.toml: unknown top-level key 'title'"),
    (
        "duplicate",
        '[[person]]\naddress = "a@example.com"\nname = "甲"\n\n[[person]]\naddress = "a@example.com"\nname = "乙"\n',
        "people.toml:5: address: duplicate address a@example.com (first on line 1)",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in BROKEN_TOML], ids=[i for i, _, _ in BROKEN_TOML])
def test_broken_toml(tmp_path: Path, text: str, expected: str) -> None:
    """A bad TOML directory raises DirectoryError naming the file and the [[person]] line."""
    with pytest.raises(DirectoryError) as caught:
        load_directory(write(tmp_path, "people.toml", text))
    assert str(caught.value).startswith(str(tmp_path / expected))


def test_missing_file(tmp_path: Path) -> None:
    """A directory file that is not there is a DirectoryError naming it."""
    with pytest.raises(DirectoryError, match=re.escape("people.csv: cannot read the people directory")):
        load_directory(tmp_path / "people.csv")
