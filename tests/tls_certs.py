"""A throwaway private CA and a server certificate it signed, made once per test session.

The server certificate is for 127.0.0.1 and localhost; nothing on the machine trusts the CA,
so a client that is not told about ``ca.pem`` must refuse it. Made with the ``openssl``
command line (as tests/test_transport.py does): EC keys take milliseconds.
Use the ``tls_certs`` fixture (tests/conftest.py imports it).
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclass(frozen=True)
class TlsCerts:
    """The CA's certificate (what a client trusts) and the server's certificate and key."""

    folder: Path
    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side context presenting the certificate (for aiosmtpd)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def _openssl(*args: str) -> None:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.strip()}")


def make_certs(folder: Path) -> TlsCerts:
    """Write ca.pem (with ca.key) and server.pem, server.key signed by it, into ``folder``."""
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, csr = folder / "server.pem", folder / "server.key", folder / "server.csr"
    _openssl("req", "-x509", *EC_KEY, "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
             "-subj", "/CN=maildesk test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl("req", "-new", *EC_KEY, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost")
    (folder / "server.ext").write_text(SERVER_EXTENSIONS)
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-set_serial", "2",
             "-days", "2", "-extfile", str(folder / "server.ext"), "-out", str(cert))
    return TlsCerts(folder, ca, cert, key)


# named in the decorator too, so a test module may import it as ``tls_certs_fixture``
@pytest.fixture(scope="session", name="tls_certs")
def tls_certs() -> Iterator[TlsCerts]:
    """The session's CA and server certificate, in a folder removed afterwards."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line is not installed")
    # not pytest's tmp_path: as root, its private (0700) parent would lock Dovecot's users out
    folder = Path(tempfile.mkdtemp(prefix="maildesk-tls-"))
    folder.chmod(0o755)
    try:
        yield make_certs(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
