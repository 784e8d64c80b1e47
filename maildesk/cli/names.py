"""Status names in the desk's language (``language``) for every table; ``--json`` keeps the codes."""

from __future__ import annotations

from maildesk.statuses import DISPLAY_ZH, Status

STATUS_EN: dict[Status, str] = {
    Status.NEW: "new", Status.ASSIGNED: "assigned", Status.IN_PROGRESS: "in progress",
    Status.WAITING_TEAM: "waiting on another team", Status.WAITING_USER: "waiting on the reporter",
    Status.TESTING: "testing", Status.RESOLVED: "resolved", Status.CLOSED: "closed", Status.ARCHIVED: "archived",
}  # fmt: skip

OUTBOX_NAMES: dict[str, dict[str, str]] = {
    "zh": {"pending": "待发送", "sent": "已发送", "failed": "发送失败"},
    "en": {"pending": "pending", "sent": "sent", "failed": "failed"},
}


def status_name(code: str, lang: str) -> str:
    """A ticket status as the desk writes it; an unknown code as it is."""
    try:
        status = Status(code)
    except ValueError:
        return code
    return DISPLAY_ZH[status] if lang == "zh" else STATUS_EN[status]


def outbox_status_name(code: str, lang: str) -> str:
    return OUTBOX_NAMES.get(lang, OUTBOX_NAMES["en"]).get(code, code)
