"""The personal data of the masking tests, and how an auditor looks for it in what was sent (no tests here).

A leak is any writing of a value: the digits with any separators between them, full-width
or not, the address in any case, the name as written.
"""

from __future__ import annotations

import email
import re
import unicodedata
from email import policy

NAME = "张伟"  # the reporter, as the sample directory and the From header name him
REPORTER = "zhang.wei@example.com"
MOBILE = "138-1234-5678"
MOBILE_FULL_WIDTH = "１３９　１２３４　５６７８"
LANDLINE = "（010）6234-5678"
RESIDENT_ID = "11010519491231002X"  # right GB 11643 check digit
CARD = "6222 0212 3456 7894"  # Luhn-valid
ADDRESS = "zhangwei.home@163.com"

SUBJECT = f"{NAME}：打印机卡纸，请回电 {MOBILE} 或 {LANDLINE}"
BODY = (f"我是财务部{NAME}，三楼打印机一直卡纸。身份证 {RESIDENT_ID}，报销卡号 {CARD}，"
        f"私人邮箱 {ADDRESS}，手机 {MOBILE_FULL_WIDTH}。")

_SEPARATORS = r"[\s.\-()]*"
_DIGITS = {"mobile": "13812345678", "full-width mobile": "13912345678", "landline": "62345678",
           "resident ID": "11010519491231002[Xx]", "card": "6222021234567894"}
_PATTERNS = {what: re.compile(_SEPARATORS.join(re.findall(r"\[Xx\]|\d", digits)))
             for what, digits in _DIGITS.items()}


def leaks(text: str) -> list[str]:
    """What of the personal data ``text`` shows in any writing."""
    plain = unicodedata.normalize("NFKC", text)
    found = [what for what, pattern in _PATTERNS.items() if pattern.search(plain)]
    lower = plain.casefold()
    found += [what for what, value in (("address", ADDRESS), ("reporter's address", REPORTER))
              if value.split("@")[0] in lower]
    if NAME in plain:
        found.append("name")
    return found


def readable(raw: bytes) -> str:
    """Everything a recipient reads in a mail: its subject and every text part (plain and HTML), decoded."""
    message = email.message_from_bytes(raw, policy=policy.default)
    parts = [str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"]
    return "\n".join([str(message["Subject"]), *parts])
