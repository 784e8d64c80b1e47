"""A real, throwaway Dovecot IMAP server for tests: one per session, one fresh user per test.

The recipe follows ../shared/dovecot/start-dovecot.sh (config, storage, sockets and
log all in one scratch folder on a free 127.0.0.1 port, plain login from a
passwd-file, Maildir storage), owned here as Python so the tests do not depend on
that script. Dovecot runs in the foreground (`-F`) as our child process, so
`kill()` and `restart()` can make a real outage on the same port and storage.
"""

from __future__ import annotations

import contextlib
import grp
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from maildesk.ingest.imap_server import ImapSettings

HOST = "127.0.0.1"
DEFAULT_USER = "support"
DEFAULT_PASSWORD = "secret"

CONFIG = """\
base_dir = {dir}/run
state_dir = {dir}/run
instance_name = maildesk-test-{port}
protocols = imap
listen = {host}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
# a refused login answers at once instead of after the anti-guessing pause: tests try wrong passwords
auth_failure_delay = 0
log_path = {dir}/log/dovecot.log
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
mail_location = maildir:{dir}/mail/%u
mail_uid = {mail_uid}
mail_gid = {mail_gid}
first_valid_uid = 1
first_valid_gid = 1
mail_max_userip_connections = 100
protocol imap {{
  mail_max_userip_connections = 100
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/users/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
  # no auth penalty (a login delay of 2 s and more after a refused one): tests refuse logins on purpose
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
}}
"""


def free_port() -> int:
    """A port that was free a moment ago on the loopback interface."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class DovecotServer:
    """One private Dovecot whose config, mail and log live in `root`."""

    def __init__(self, root: Path, port: int | None = None, tls: tuple[Path, Path] | None = None) -> None:
        """``tls``: (certificate, key) PEM files; the server then offers STARTTLS on ``port`` and
        TLS from the first byte (imaps) on ``tls_port``. Without it: no TLS, ``tls_port`` is 0."""
        self.root = root
        self.host = HOST
        self.port = port or free_port()
        self.tls = tls
        self.tls_port = free_port() if tls else 0
        self.process: subprocess.Popen[bytes] | None = None
        self._users = itertools.count(1)
        # Dovecot refuses uid 0 for mail and for its login processes: as root, use the package's users
        if os.getuid() == 0:
            dovecot_user = pwd.getpwnam("dovecot")
            self._login_user, self._internal_user = "dovenull", "dovecot"
            self._internal_group = "dovecot"
            self._mail_uid, self._mail_gid = dovecot_user.pw_uid, dovecot_user.pw_gid
        else:
            me = pwd.getpwuid(os.getuid())
            self._login_user = self._internal_user = me.pw_name
            self._internal_group = _group_name(os.getgid())
            self._mail_uid, self._mail_gid = os.getuid(), os.getgid()
        self._write_config()

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def log_path(self) -> Path:
        return self.root / "log" / "dovecot.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it greets on its port."""
        if self.running:
            return
        with (self.root / "log" / "stderr.log").open("ab") as stderr:
            self.process = subprocess.Popen(
                ["dovecot", "-F", "-c", str(self.root / "dovecot.conf")],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                # its own process group, so kill() can take down every child and their connections too
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self._greets():
                return
            time.sleep(0.05)
        log_tail = self._log_tail()
        self.kill()
        raise RuntimeError(f"dovecot did not start on port {self.port}; log:\n{log_tail}")

    def stop(self) -> None:
        """Stop the server cleanly (SIGTERM) and wait for it."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """Kill every server process abruptly (SIGKILL): open connections drop, new ones are refused."""
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        """Start again on the same port with the same storage (after `kill` or `stop`)."""
        self.start()

    def _end(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=10)
        # children the master did not take down (all of them after SIGKILL) hold client connections open
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None
        deadline = time.monotonic() + 10
        ports = [p for p in (self.port, self.tls_port) if p]
        while time.monotonic() < deadline and not all(_port_free(p) for p in ports):
            time.sleep(0.05)

    def _greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                return sock.recv(4).startswith(b"* OK")
        except OSError:
            return False

    def _log_tail(self) -> str:
        parts = []
        for name in ("dovecot.log", "stderr.log"):
            path = self.root / "log" / name
            if path.exists():
                parts.extend(path.read_text(errors="replace").splitlines()[-20:])
        return "\n".join(parts)

    def _write_config(self) -> None:
        for sub in ("run", "mail", "log", "users"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chown(self.root / "mail", self._mail_uid, self._mail_gid)
        if os.getuid() == 0:
            # Dovecot's auth and mail processes run as the dovecot user and must get through
            self.root.chmod(0o755)
        (self.root / "dovecot.conf").write_text(
            CONFIG.format(
                dir=self.root,
                host=self.host,
                port=self.port,
                tls_port=self.tls_port,
                ssl=self._ssl_settings(),
                login_user=self._login_user,
                internal_user=self._internal_user,
                internal_group=self._internal_group,
                mail_uid=self._mail_uid,
                mail_gid=self._mail_gid,
            )
        )
        self.add_user(DEFAULT_USER, DEFAULT_PASSWORD)

    def _ssl_settings(self) -> str:
        if self.tls is None:
            return "ssl = no"
        # copies beside the config: Dovecot reads them at start-up, wherever the originals live
        (self.root / "ssl").mkdir(exist_ok=True)
        cert, key = self.root / "ssl" / "server.pem", self.root / "ssl" / "server.key"
        shutil.copyfile(self.tls[0], cert)
        shutil.copyfile(self.tls[1], key)
        key.chmod(0o600)
        # "yes", not "required": the helpers below log in over the plain port (loopback counts as
        # secure for Dovecot anyway); the tests that matter connect with TLS and check the certificate
        return f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"

    # --- users and mail --------------------------------------------------------------------

    def add_user(self, user: str, password: str) -> None:
        """Add a login, usable at once without a restart.

        One passwd-file per user: Dovecot looks at a passwd-file at most once a second,
        so a line added to a shared file right after a login would be missed; a new
        file is read on its first use. (So a changed password may take a second to count.)
        """
        line = f"{user}:{{PLAIN}}{password}:{self._mail_uid}:{self._mail_gid}::{self.root}/mail/{user}\n"
        (self.root / "users" / user).write_text(line)

    def new_user(self, password: str | None = None) -> tuple[str, str]:
        """A fresh user with an empty mailbox, different from every earlier one."""
        n = next(self._users)
        user, password = f"user{n}", password or f"pw-{n}-{os.urandom(4).hex()}"
        self.add_user(user, password)
        return user, password

    def client(self, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD) -> IMAPClient:
        """A logged-in imapclient connection (the test's 'other mail client')."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        try:
            if (user + password).isascii():
                client.login(user, password)
            else:  # LOGIN is ASCII only
                client.plain_login(user, password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def append(self, folder: str, raw: bytes, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD) -> None:
        """Deliver one raw message into `folder`."""
        self.append_many(folder, [raw], user, password)

    def append_many(
        self, folder: str, raws: Iterable[bytes], user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD
    ) -> None:
        """Deliver messages into `folder` over one connection, in order (so UIDs follow the order)."""
        with self.client(user, password) as client:
            for raw in raws:
                client.append(folder, raw)

    def uids(self, folder: str, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD) -> list[int]:
        """The UIDs of the messages in `folder` that are not flagged deleted, ascending."""
        with self.client(user, password) as client:
            client.select_folder(folder, readonly=True)
            return sorted(client.search(["NOT", "DELETED"]))

    def fetch(self, folder: str, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD) -> dict[int, bytes]:
        """UID → raw bytes of every message in `folder`."""
        with self.client(user, password) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["NOT", "DELETED"])
            if not uids:
                return {}
            data: dict[int, dict[bytes, Any]] = client.fetch(uids, [b"BODY.PEEK[]"])
            return {uid: item[b"BODY[]"] for uid, item in sorted(data.items())}

    def create_folder(self, folder: str, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD) -> None:
        """Create `folder` if it does not exist."""
        with self.client(user, password) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)

    def folders(self, user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD) -> list[str]:
        """The names of every folder of the user."""
        with self.client(user, password) as client:
            return sorted(str(name) for _flags, _sep, name in client.list_folders())


@dataclass(frozen=True)
class Mailbox:
    """One test's own user on the shared server, with the helpers bound to that user."""

    server: DovecotServer
    user: str
    password: str

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def settings(self, **overrides: Any) -> ImapSettings:
        """ImapSettings that log in to this mailbox (plain, no TLS); keywords override fields."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "security": "plain",
            "username": self.user,
            "password": self.password,
            "timeout": 10.0,
        }
        values.update(overrides)
        return ImapSettings(**values)

    def client(self) -> IMAPClient:
        return self.server.client(self.user, self.password)

    def append(self, folder: str, raw: bytes) -> None:
        self.server.append(folder, raw, self.user, self.password)

    def append_many(self, folder: str, raws: Iterable[bytes]) -> None:
        self.server.append_many(folder, raws, self.user, self.password)

    def uids(self, folder: str) -> list[int]:
        return self.server.uids(folder, self.user, self.password)

    def fetch(self, folder: str) -> dict[int, bytes]:
        return self.server.fetch(folder, self.user, self.password)

    def create_folder(self, folder: str) -> None:
        self.server.create_folder(folder, self.user, self.password)

    def folders(self) -> list[str]:
        return self.server.folders(self.user, self.password)


# named in the decorator too, so a test module may import them under another name (`as ..._fixture`)
# and keep ruff's F811 quiet about the test argument of the same name
@pytest.fixture(scope="session", name="dovecot")
def dovecot() -> Iterator[DovecotServer]:
    """One real Dovecot for the whole test session, removed afterwards."""
    if shutil.which("dovecot") is None:
        pytest.skip("Dovecot is not installed (apt-get install -y dovecot-imapd)")
    # not pytest's tmp_path: as root, its private (0700) parent would lock the dovecot user out
    root = Path(tempfile.mkdtemp(prefix="maildesk-dovecot-"))
    server = DovecotServer(root)
    server.start()
    try:
        yield server
    finally:
        server.kill()  # not stop(): a clean shutdown takes a second and the storage is thrown away
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="mailbox")
def mailbox(dovecot: DovecotServer) -> Mailbox:
    """A fresh, empty mailbox (a new user) on the session's Dovecot, which is running."""
    # an outage test that failed half-way may have left the server down
    dovecot.start()
    user, password = dovecot.new_user()
    return Mailbox(dovecot, user, password)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # as Dovecot does: connections in TIME_WAIT do not stop a new listener
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def _group_name(gid: int) -> str:
    return grp.getgrgid(gid).gr_name
