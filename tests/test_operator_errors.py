"""Every mistake an operator can make in the config and its companions: exit 2, one line naming the
file and line or the dotted key, and no mail touched (issue #13, point 3 and the start-up checks)."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from maildesk.app import App
from maildesk.config import load_settings
from tests.daemon_process import tcp_server
from tests.databases import pg_server_url
from tests.installation import assert_one_line_error, cli, install, waiting_mails


def test_a_gbk_config_names_the_file_and_line(tmp_path: Path) -> None:
    """A config saved as GBK is one line naming the file, line and column, and the cure (UTF-8)."""
    config = install(tmp_path, support_name="技术支持中心")
    config.write_bytes(config.read_text(encoding="utf-8").encode("gbk"))
    line = assert_one_line_error(cli(config, "run", "--once"), f"{config}:", "not UTF-8", "GBK")
    assert "Traceback" not in line
    assert len(waiting_mails(config)) == 1


def test_a_config_with_a_byte_order_mark_works(tmp_path: Path) -> None:
    """A UTF-8 config that begins with a byte-order mark (Windows Notepad) is read like any other."""
    config = install(tmp_path)
    config.write_bytes(config.read_text(encoding="utf-8").encode("utf-8-sig"))
    result = cli(config, "rules", "check")
    assert result.returncode == 0, result.stderr


def test_a_wrong_holiday_is_found_by_rules_check_and_the_sweep(tmp_path: Path) -> None:
    """extra_holidays = ["2026-13-45"] fails `rules check` and `sla sweep` at once, naming the key."""
    config = install(tmp_path, business_hours={"extra_holidays": ["2026-13-45"]})
    for args in (("rules", "check"), ("sla", "sweep"), ("run", "--once")):
        assert_one_line_error(cli(config, *args), "business_hours.extra_holidays[0]", "2026-13-45")
    assert len(waiting_mails(config)) == 1


@pytest.mark.parametrize(("url", "needles"), [
    ("not a url", ["database:", "not a database URL"]),
    ("mysql://desk:hunter2@db.example.com/desk", ["database:", "mysql", "not supported"]),
    ("sqlite:///{tmp}/no/such/folder/desk.db", ["database:", "/no/such/folder", "does not exist"]),
])
def test_a_database_that_cannot_be_used_is_named(tmp_path: Path, url: str, needles: list[str]) -> None:
    """A database URL that is no URL, an unsupported kind, or a SQLite file in a missing folder: one line."""
    config = install(tmp_path, database=url.format(tmp=tmp_path))
    for args in (("tickets", "list"), ("run", "--once"), ("rules", "check")):
        line = assert_one_line_error(cli(config, *args), *needles)
        assert "hunter2" not in line
    assert len(waiting_mails(config)) == 1


@pytest.mark.pg
def test_a_postgresql_role_that_does_not_exist(tmp_path: Path) -> None:
    """A PostgreSQL role the server does not know: one line naming the database key and the role."""
    server = pg_server_url()
    if server is None:
        pytest.skip("no PostgreSQL server answers")
    url = server.replace("://postgres@", "://no_such_role_md@")
    config = install(tmp_path, database=url)
    for args in (("tickets", "list"), ("tickets", "show", "TS-20261123-0001"), ("run", "--once")):
        assert_one_line_error(cli(config, *args), "database:", 'role "no_such_role_md" does not exist')
    assert len(waiting_mails(config)) == 1


@pytest.fixture
def refusing_postgres() -> Iterator[int]:
    """A TCP server that speaks the start of PostgreSQL's protocol and refuses every password.

    A real socket and the real driver (libpq through psycopg) on the other end; it stands in for a
    server whose pg_hba.conf asks for a password, which the test machine's own server does not.
    """
    def refuse(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            _refuse(conn)

    with tcp_server(refuse) as port:
        yield port


def _refuse(conn: socket.socket) -> None:
    try:
        while True:
            length, code = struct.unpack("!ii", _read(conn, 8))
            if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: not here
                conn.sendall(b"N")
                continue
            _read(conn, length - 8)  # the startup message: user, database
            break
        conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        kind = _read(conn, 1)
        if kind == b"p":
            (length,) = struct.unpack("!i", _read(conn, 4))
            _read(conn, length - 4)
        fields = b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user \"desk\"\0\0"
        conn.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)
    except (OSError, struct.error):
        pass


def _read(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def test_a_refused_postgresql_password_is_one_line_without_the_password(tmp_path: Path,
                                                                         refusing_postgres: int) -> None:
    """A password the PostgreSQL server refuses: one line naming the database key; the password never shown."""
    config = install(tmp_path, database=f"postgresql://desk:hunter2@127.0.0.1:{refusing_postgres}/desk")
    for args in (("tickets", "list"), ("run", "--once")):
        line = assert_one_line_error(cli(config, *args), "database:", "password authentication failed",
                                     "desk:***@")
        assert "hunter2" not in line


def test_an_escalation_to_a_role_nobody_holds(tmp_path: Path) -> None:
    """A ladder that escalates to a role no one in the people directory has: one line naming the rung."""
    config = install(tmp_path)
    people = tmp_path / "people.csv"
    people.write_text("\n".join(line for line in people.read_text(encoding="utf-8").splitlines()
                                if ",director," not in line) + "\n", encoding="utf-8")
    for args in (("rules", "check"), ("run", "--once"), ("sla", "sweep")):
        assert_one_line_error(cli(config, *args), "priorities.P1.escalation[2].to", "director", "people.csv")
    assert len(waiting_mails(config)) == 1


def _with_ladder(config: Path, p2_ladder: str) -> None:
    """Append the four priorities, P2 with the escalation ladder given (a TOML array)."""
    tables = [("P1", 2, 8, '[{ after_hours = 4, to = "manager" }]'), ("P2", 4, 24, p2_ladder),
              ("P3", 8, 40, "[]"), ("P4", 24, 80, "[]")]
    text = "".join(f'\n[priorities.{code}]\nname = "{code}"\nstart_hours = {start}\nresolve_hours = {resolve}\n'
                   f"escalation = {ladder}\n" for code, start, resolve, ladder in tables)
    config.write_text(config.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_an_unknown_escalation_role(tmp_path: Path) -> None:
    """A rung naming a role that does not exist (a typo) is refused with the roles there are."""
    config = install(tmp_path)
    _with_ladder(config, '[{ after_hours = 8, to = "manger" }]')
    assert_one_line_error(cli(config, "rules", "check"), "priorities.P2.escalation[0].to", "'manger'", "manager")


def test_a_ladder_that_goes_down(tmp_path: Path) -> None:
    """Escalation rungs whose hours go down (8 h, then 4 h) are refused, naming the second rung."""
    config = install(tmp_path)
    _with_ladder(config, '[{ after_hours = 8, to = "manager" }, { after_hours = 4, to = "director" }]')
    assert_one_line_error(cli(config, "run", "--once"), "priorities.P2.escalation[1].after_hours", "8 h")
    assert len(waiting_mails(config)) == 1


def test_a_missing_rules_file_stops_run_before_any_mail_is_touched(tmp_path: Path) -> None:
    """Without its rules file `run` and `ingest` exit 2 naming it; the mail stays in the inbox, not quarantined."""
    config = install(tmp_path)
    (tmp_path / "rules.toml").unlink()
    assert_one_line_error(cli(config, "run", "--once"), str(tmp_path / "rules.toml"), "cannot read")
    eml = tmp_path / "one.eml"
    eml.write_bytes((tmp_path / "mailbox" / "new" / "0000.test:2,").read_bytes())
    assert_one_line_error(cli(config, "ingest", str(eml)), "rules.toml")
    assert waiting_mails(config) == ["0000.test:2,"]
    assert not (tmp_path / "mailbox" / ".Quarantine").exists()
    assert not (tmp_path / "desk.db").exists() or _tickets(config) == 0


def _tickets(config: Path) -> int:
    from sqlalchemy import func, select

    from maildesk.store.models import Ticket

    app = App(load_settings(config))
    try:
        with app.store.session() as session:
            return session.scalar(select(func.count()).select_from(Ticket)) or 0
    finally:
        app.close()


def test_a_broken_people_directory_names_its_line(tmp_path: Path) -> None:
    """A people directory row with a role maildesk does not know is named by file and line."""
    config = install(tmp_path)
    people = tmp_path / "people.csv"
    people.write_text(people.read_text(encoding="utf-8") + "x@example.com,X,,,,,boss,,\n", encoding="utf-8")
    line_number = len(people.read_text(encoding="utf-8").splitlines())
    assert_one_line_error(cli(config, "run", "--once"), f"people.csv:{line_number}")
    assert len(waiting_mails(config)) == 1


@pytest.mark.parametrize(("name", "text", "needles"), [
    ("ack.zh.txt.j2", "您好 {{ ticket.number }\n", ["ack.zh.txt.j2:1"]),
    ("ack.zh.text.j2", "您好\n", ["ack.zh.text.j2", "not a name maildesk uses"]),
    ("ack.zh.html.j2", "<p>您好</p>\n", ["ack.zh.html.j2", "ack.zh.txt.j2"]),
])
def test_templates_are_checked_at_start(tmp_path: Path, name: str, text: str, needles: list[str]) -> None:
    """A template with a syntax error, a misspelt name or an HTML part without its text part stops start-up."""
    config = install(tmp_path, templates="templates")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / name).write_text(text, encoding="utf-8")
    assert_one_line_error(cli(config, "run", "--once"), "templates:", *needles)
    assert len(waiting_mails(config)) == 1


def test_a_database_a_newer_maildesk_upgraded(tmp_path: Path) -> None:
    """A schema revision this maildesk does not know (a newer one wrote it): one line, nothing touched."""
    config = install(tmp_path)
    assert cli(config, "db", "upgrade").returncode == 0
    app = App(load_settings(config))
    with app.store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'from_the_future'")
    app.close()
    for args in (("run", "--once"), ("tickets", "list"), ("rules", "check"), ("db", "upgrade")):
        assert_one_line_error(cli(config, *args), "database:", "from_the_future", "newer maildesk")
    assert len(waiting_mails(config)) == 1


def test_base_dir_in_the_file_is_refused(tmp_path: Path) -> None:
    """base_dir is not a key of the file (paths are relative to it): naming it is an error, not ignored."""
    config = install(tmp_path)
    config.write_text('base_dir = "/srv/desk"\n' + config.read_text(encoding="utf-8"), encoding="utf-8")
    assert_one_line_error(cli(config, "tickets", "list"), "base_dir")
