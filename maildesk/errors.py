"""The one exception hierarchy of maildesk; the CLI maps it to exit codes."""

from __future__ import annotations


class MaildeskError(Exception):
    """Base of every error maildesk raises on purpose."""


class ConfigError(MaildeskError):
    """A configuration file or value is wrong; the message names the dotted key."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}" if key else problem)


class NotFoundError(MaildeskError):
    """A ticket, article or outbox row that was asked for does not exist."""


class TransitionError(MaildeskError):
    """A ticket cannot move from its status to the one asked for."""

    def __init__(self, number: str, current: str, target: str, allowed: list[str]) -> None:
        self.number, self.current, self.target = number, current, target
        allowed_text = ", ".join(allowed) or "none"
        super().__init__(
            f"{number}: cannot change status from {current} to {target} (allowed: {allowed_text})"
        )
