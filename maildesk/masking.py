"""Masking personal contact details (脱敏) before they reach reports, digests and the knowledge base.

Mobile numbers keep the first three and last four digits (138****1188), mail
addresses the start of the local part (zhang*@example.com): enough for a
supervisor to tell two people apart, not enough to call or write to them.
"""

from __future__ import annotations

import re

__all__ = ["mask_email", "mask_phone", "mask_text"]

# A mainland mobile number, optionally with +86/86 in front, not inside a longer run of digits.
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?(1[3-9][0-9])[- ]?([0-9]{4})[- ]?([0-9]{4})(?![0-9])")
# A landline with area code: 010-12345678, 0755 8888 6666.
_LANDLINE = re.compile(r"(?<![0-9])(0[1-9][0-9]{1,2})[- ]([0-9]{3,4})[- ]?([0-9]{4})(?![0-9])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_LOCAL_SPLIT = re.compile(r"[._+\-]")


def mask_phone(phone: str) -> str:
    """138****1188 from 13812341188; other numbers keep their last four digits only."""
    digits = re.sub(r"[^0-9]", "", phone)
    if len(digits) >= 11 and digits[-11] == "1":
        return f"{digits[-11:-8]}****{digits[-4:]}"
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_email(address: str) -> str:
    """zhang*@example.com from zhang.wei@example.com: the first part of the local name, at most 5 characters."""
    local, at, domain = address.partition("@")
    if not at:
        return mask_phone(address) if any(c.isdigit() for c in address) else address
    head = _LOCAL_SPLIT.split(local, maxsplit=1)[0][:5]
    if len(head) >= len(local):  # nothing would be hidden: keep at most half
        head = local[: max(1, len(local) // 2)]
    return f"{head}*@{domain}"


def mask_text(text: str) -> str:
    """``text`` with every mail address and phone number in it masked."""
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)
