"""The on-call rota: weekly shifts and dated overrides in the desk's zone, the role ``oncall`` on the ladder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from maildesk.app import App
from maildesk.errors import ConfigError
from maildesk.people.directory import default_people_path, load_directory
from maildesk.people.oncall import RotaError, load_rota
from maildesk.preflight import check_ladders
from tests.desk import at, desks, new_ticket, outbox, priorities_on, sweep_through

HARDWARE, HARDWARE_2 = "liu.yang@example.com", "zhao.lei@example.com"
SOFTWARE = "sun.hao@example.com"
ROTA = """\
# weeknights and weekends
[[weekly]]
who = "liu.yang@example.com"
days = [1, 2, 3, 4, 5]
start = "18:00"
end = "09:00"

[[weekly]]
who = "sun.hao@example.com"
days = [6, 7]
start = 09:00:00
end = 09:00:00

[[override]]
who = "zhao.lei@example.com"
start = 2026-11-27T18:00:00
end = 2026-11-28T12:00:00
"""


def _rota(tmp_path: Path, text: str = ROTA) -> Path:
    (tmp_path / "people.csv").write_bytes(default_people_path().read_bytes())
    (tmp_path / "oncall.toml").write_text(text, encoding="utf-8")
    return tmp_path / "oncall.toml"


def test_weekly_shifts_cross_midnight_and_overrides_stand_in_for_their_team(tmp_path: Path) -> None:
    """Weeknights 18:00–09:00, weekends all day; a dated override replaces the weekly on-call of its team."""
    path = _rota(tmp_path)
    directory = load_directory(tmp_path / "people.csv")
    rota = load_rota(path, ZoneInfo("Asia/Shanghai"), directory)
    assert rota.on_call(at("2026-11-24", 20), directory) == [HARDWARE]  # Tuesday evening
    assert rota.on_call(at("2026-11-25", 8, 59), directory) == [HARDWARE]  # the next morning
    assert rota.on_call(at("2026-11-25", 9), directory) == []  # office hours: nobody
    assert rota.on_call(at("2026-11-27", 20), directory) == [HARDWARE_2]  # Friday night: the stand-in
    assert rota.on_call(at("2026-11-28", 10), directory) == [HARDWARE_2, SOFTWARE]  # Saturday: both teams
    assert rota.on_call(at("2026-11-30", 8), directory) == [SOFTWARE]  # Sunday's 24 hours end Monday 9:00


@pytest.mark.parametrize(("text", "where"), [
    ('[[weekly]]\nwho = "liu.yang@example.com"\ndays = [8]\nstart = "18:00"\nend = "09:00"\n', ":1: weekly[0].days"),
    ('[[weekly]]\nwho = "nobody@example.com"\ndays = [1]\nstart = "18:00"\nend = "09:00"\n', ":1: weekly[0].who"),
    ('[[weekly]]\nwho = "zhang.wei@example.com"\ndays = [1]\nstart = "1800"\nend = "09:00"\n', ":1: weekly[0].who"),
    ('\n[[weekly]]\nwho = "liu.yang@example.com"\ndays = [1]\nstart = "6pm"\nend = "09:00"\n', ":2: weekly[0].start"),
    ('[[override]]\nwho = "liu.yang@example.com"\nstart = 2026-11-28T09:00:00\nend = 2026-11-27T09:00:00\n',
     ":1: override[0].end"),
    ('[[override]]\nwho = "liu.yang@example.com"\nstart = 2026-11-28T09:00:00+08:00\nend = 2026-11-29\n',
     ":1: override[0].start"),
    ('[[override]]\nwho = "liu.yang@example.com"\nstart = 2026-11-28\n', ":1: override[0].end: missing"),
    ('[[shift]]\nwho = "liu.yang@example.com"\n', "unknown key 'shift'"),
])
def test_a_wrong_rota_is_one_line_naming_the_file_line_and_key(tmp_path: Path, text: str, where: str) -> None:
    """Each mistake in the rota is reported on one line: file:line: key: problem."""
    path = _rota(tmp_path, text)
    with pytest.raises(RotaError) as info:
        load_rota(path, ZoneInfo("Asia/Shanghai"), load_directory(tmp_path / "people.csv"))
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)) and where in message, message


def _ladder_to_oncall() -> dict[str, object]:
    priorities = priorities_on()
    priorities["P1"]["escalation"] = [{"after_hours": 1, "to": "oncall"}, {"after_hours": 4, "to": "manager"}]
    return priorities


@pytest.fixture
def desk(tmp_path: Path, db_url: str) -> Iterator[App]:
    """A desk whose P1 ladder tells whoever is on call after one hour."""
    for opener in desks(tmp_path, db_url):
        _rota(tmp_path)
        yield opener(oncall="oncall.toml", priorities=_ladder_to_oncall())


def test_the_ladder_names_the_person_on_call_at_the_time(desk: App) -> None:
    """A P1 of the hardware team at Tuesday 21:00 reaches the hardware on-call engineer at 22:00."""
    number = new_ticket(desk, at("2026-11-24", 21), "P1")
    sweep_through(desk, at("2026-11-24", 21), at("2026-11-24", 23))
    assert [(s.ticket, s.to, s.at) for s in outbox(desk, "escalation")] == [
        (number, (HARDWARE,), at("2026-11-24", 22))]


def test_a_ladder_naming_oncall_without_a_rota_stops_the_start(tmp_path: Path, db_url: str) -> None:
    """`to = "oncall"` without `oncall = FILE` is a config error naming the rung."""
    for opener in desks(tmp_path, db_url):
        app = opener(priorities=_ladder_to_oncall())
        with pytest.raises(ConfigError) as info:
            check_ladders(app.settings, app.desk.directory)
        assert str(info.value).startswith("priorities.P1.escalation[0].to"), str(info.value)


def test_a_broken_rota_stops_the_start_in_one_line(tmp_path: Path) -> None:
    """`rules check` and `run --once` refuse a rota naming someone not on the staff: file, line and key."""
    from tests.installation import assert_one_line_error, cli, install, waiting_mails

    config = install(tmp_path, oncall="oncall.toml")
    (tmp_path / "oncall.toml").write_text(
        '# nights\n[[weekly]]\nwho = "zhang.wei@example.com"\ndays = [1]\nstart = "18:00"\nend = "09:00"\n',
        encoding="utf-8")
    for args in (("rules", "check"), ("run", "--once")):
        assert_one_line_error(cli(config, *args), "oncall.toml:2: weekly[0].who", "not staff")
    assert len(waiting_mails(config)) == 1  # nothing was read


def test_an_unknown_mobilisation_role_is_a_config_error(tmp_path: Path, db_url: str) -> None:
    """sla.mobilise_roles names roles the desk knows; a typo is one line naming the entry."""
    for opener in desks(tmp_path, db_url):
        app = opener(sla={"mobilise_roles": ["oncall", "managr"]})
        with pytest.raises(ConfigError) as info:
            check_ladders(app.settings, app.desk.directory)
        assert str(info.value).startswith("sla.mobilise_roles[1]"), str(info.value)
