"""Shared fixtures: databases (tests/databases.py), an upgraded desk on them (``app``, tests/desk.py), Dovecot
(tests/dovecot.py), the SMTP sink (tests/smtp_sink.py), TLS certificates from a throwaway CA (tests/tls_certs.py)."""

from tests.databases import db_url, pg_database, store  # noqa: F401
from tests.desk import app_fixture  # noqa: F401
from tests.dovecot import dovecot, mailbox  # noqa: F401
from tests.smtp_sink import smtp_sink  # noqa: F401
from tests.tls_certs import tls_certs  # noqa: F401
