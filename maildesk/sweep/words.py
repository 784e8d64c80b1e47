"""The words sweep mails put into their templates: durations, roles and targets, in Chinese and English."""

from __future__ import annotations

ROLE_NAMES: dict[str, tuple[str, str]] = {
    "assignee": ("处理人", "assignee"),
    "engineer": ("工程师", "engineer"),
    "lead": ("二线组长", "tier-2 lead"),
    "manager": ("技术支持经理", "support manager"),
    "director": ("技术总监", "director"),
    "product": ("产品经理", "product manager"),
}

TARGET_NAMES: dict[str, tuple[str, str]] = {
    "start": ("开始处理", "start of work"),
    "response": ("首次响应", "first response"),
    "resolve": ("解决", "resolution"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def role_name(role: str, lang: str) -> str:
    return _pick(ROLE_NAMES.get(role, (role, role)), lang)


def target_name(target: str, lang: str) -> str:
    """``首次响应`` / ``first response``: what a reminder is about."""
    return _pick(TARGET_NAMES[target], lang)


def missed_name(target: str, lang: str, hours: float = 0) -> str:
    """``首次响应时限`` / ``first response target``; ``4 小时升级时限`` for an escalation threshold."""
    if target == "escalation":
        return f"{hours:g} 小时升级时限" if lang == "zh" else f"{hours:g}-hour escalation threshold"
    return f"{target_name(target, lang)}时限" if lang == "zh" else f"{target_name(target, lang)} target"


def hours_minutes(seconds: float, lang: str) -> str:
    """A span of (business) time: ``2 小时 15 分钟`` / ``2 h 15 min``; under a minute says so."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "不到 1 分钟" if lang == "zh" else "less than a minute"
    h, m = divmod(minutes, 60)
    if lang == "zh":
        return " ".join(part for part in (f"{h} 小时" if h else "", f"{m} 分钟" if m else "") if part)
    return " ".join(part for part in (f"{h} h" if h else "", f"{m} min" if m else "") if part)


def age(seconds: float, lang: str) -> str:
    """How long a ticket has been open, in wall-clock days and hours: ``3 天 4 小时`` / ``3 d 4 h``."""
    hours = int(seconds // 3600)
    d, h = divmod(hours, 24)
    if not d:
        return hours_minutes(seconds, lang)
    if lang == "zh":
        return f"{d} 天 {h} 小时" if h else f"{d} 天"
    return f"{d} d {h} h" if h else f"{d} d"


def working_days(days: int, lang: str) -> str:
    return f"{days} 个工作日" if lang == "zh" else f"{days} working day{'s' if days != 1 else ''}"


def unassigned(lang: str) -> str:
    return "（待分配）" if lang == "zh" else "(not assigned yet)"
