"""How a failure of a command reaches the operator: one line on standard error, and the exit code.

2 for what the operator can correct (usage, config, rules, directory, templates, a database that
cannot be opened), 1 for failures at run time. Error classes of modules a command did not import
cannot have been raised, so they are looked up only among the modules loaded (no import here).
"""

from __future__ import annotations

import sys

from maildesk.errors import ConfigError, MaildeskError

# exceptions that mean "correct the config or its companions", by module, loaded or not
_CONFIG_ERRORS = (
    ("maildesk.rules.model", "RuleError"),
    ("maildesk.people.directory", "DirectoryError"),
    ("maildesk.outbound.templates", "TemplateError"),
)


def _loaded(module: str, name: str) -> type[BaseException] | None:
    found = getattr(sys.modules.get(module), name, None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def is_config_error(exc: BaseException) -> bool:
    if isinstance(exc, ConfigError):
        return True
    return any(cls is not None and isinstance(exc, cls) for cls in (_loaded(m, n) for m, n in _CONFIG_ERRORS))


def one_line(text: object) -> str:
    return "; ".join(" ".join(line.split()) for line in str(text).splitlines() if line.strip())


def describe(exc: BaseException) -> tuple[int, str]:
    """The exit code and the line to print for ``exc``."""
    if is_config_error(exc):
        return 2, f"config error: {one_line(exc)}"
    sqlalchemy_error = _loaded("sqlalchemy.exc", "DBAPIError")
    if sqlalchemy_error is not None and isinstance(exc, sqlalchemy_error):
        from maildesk.store.dberrors import describe_failure

        return 1, f"database error: {describe_failure(exc)}"
    if isinstance(exc, MaildeskError):
        return 1, f"error: {one_line(exc)}"
    detail = one_line(exc) or "(no message)"
    return 1, f"internal error: {type(exc).__name__}: {detail} (set MAILDESK_DEBUG=1 to see where)"
