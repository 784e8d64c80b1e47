"""Masking (脱敏): real-world writings of phones, ID and card numbers, addresses and names, and what stays untouched."""

from __future__ import annotations

import pytest

from maildesk.masking import (
    Masker,
    luhn_valid,
    mask_email,
    mask_name,
    mask_phone,
    mask_text,
    resident_id_valid,
)

# (as people write it, as an outsider reads it); the check digits and Luhn sums of the numbers are right
MASKED = [
    # mobile phones
    ("13812345678", "138****5678"),
    ("138 1234 5678", "138****5678"),
    ("138-1234-5678", "138****5678"),
    ("138.1234.5678", "138****5678"),
    ("+86 138 1234 5678", "138****5678"),
    ("+86-138-1234-5678", "138****5678"),
    ("+8613812345678", "138****5678"),
    ("0086 13812345678", "138****5678"),
    ("(+86)13812345678", "138****5678"),
    ("（+86）138 1234 5678", "138****5678"),
    ("１３８１２３４５６７８", "138****5678"),
    ("１３８－１２３４－５６７８", "138****5678"),
    ("手机：19912345678，谢谢", "手机：199****5678，谢谢"),
    ("电话13912345678请回电", "电话139****5678请回电"),
    ("电话：１３８１２３４５６７８。", "电话：138****5678。"),
    # landlines: area code and last four digits, the extension as written
    ("(010)12345678", "010-****5678"),
    ("（010）1234-5678", "010-****5678"),
    ("010-12345678", "010-****5678"),
    ("010-6234-5678", "010-****5678"),
    ("0755 8888 6666", "0755-****6666"),
    ("0755-88886666", "0755-****6666"),
    ("021-62345678-8021", "021-****5678-8021"),
    ("021-62345678 转 8021", "021-****5678 转 8021"),
    ("+86 10 6234 5678", "010-****5678"),
    ("Tel: +86 (0)21 6234 5678", "Tel: 021-****5678"),
    ("02162345678", "021-****5678"),
    ("（０２１）６２３４５６７８", "021-****5678"),
    ("0571-8765432", "0571-****5432"),  # seven digits after a four-digit area code
    # 身份证 (GB 11643 check digit), and the old 15-digit form
    ("11010519491231002X", "110105********002X"),
    ("身份证11010519491231002x号", "身份证110105********002x号"),
    ("身份证号码：320106198511112018", "身份证号码：320106********2018"),
    ("110105 19491231 002X", "110105********002X"),
    ("１１０１０５１９４９１２３１００２Ｘ", "110105********002X"),
    ("110105491231002", "110105*****1002"),
    # bank cards (Luhn)
    ("6222021234567894", "622202******7894"),
    ("6222 0212 3456 7894", "622202******7894"),
    ("6222-0212-3456-7894", "622202******7894"),
    ("6217001234567890122", "621700*********0122"),
    ("卡号 6217 0012 3456 7890 122", "卡号 621700*********0122"),
    ("4111 1111 1111 1111", "411111******1111"),
    ("6222 0212 3456 7894 1 次", "622202******7894 1 次"),
    # mail addresses
    ("zhang.wei@qq.com", "zhang*@qq.com"),
    ("zhangwei＠163.com", "zhang*@163.com"),
    ("12345678@qq.com", "123*@qq.com"),
    ("Wang_Fang-HR@corp.example.com.cn", "Wang*@corp.example.com.cn"),
    ("li (at) example.com", "l*@example.com"),
    ("13812345678@163.com", "138*@163.com"),
    # WeChat and QQ ids after their label
    ("微信：zhangwei_88", "微信：zhang*"),
    ("微信号 wx_zhang2024", "微信号 wx_zha*"),
    ("QQ 12345678", "QQ 1234*"),
    ("wxid_abcdef123", "wxid_*"),
    # several in one line, the text between them untouched
    ("手机 138 1234 5678 / 座机 0755-8888 6666 / 邮箱 wang.fang@163.com",
     "手机 138****5678 / 座机 0755-****6666 / 邮箱 wang*@163.com"),
]

UNTOUCHED = [
    "TS-20261122-0007",
    "[TS-20261122-0007] 打印机卡纸",
    "ticket TS-20261122-0007 at 2026-11-22T10:30:00+08:00",
    "2026-11-22 10:30:00",
    "2026年11月22日 14:05",
    "20261122",
    "20261122103000",
    "192.168.1.100",
    "10.0.138.12",
    "fe80::1",
    "订单号 2026112212345678",  # 16 digits, fails Luhn
    "110105194912310021",  # wrong check digit, fails Luhn
    "订单 2026-1122-1234-5678",
    "IMEI 490154203237518",  # 15 digits, no birth date inside
    "uid 86138123456789",
    "INC-0101234567",  # 010 with seven digits is no Beijing number
    "1380013800",  # 10 digits
    "138001380001",  # 12 digits
    "工号 E1001 分机 8101",
    "SN: 5CG1234XYZ",
    "价格 12,345.67 元",
    "版本 13.8.1234",
    "wxWidgets 3.2",
    "MAC 00:1A:2B:3C:4D:5E",
    "错误码 0x80070005",
    "端口 8080",
    "100 台电脑，12 个显示器",
    "会议室 3-405",
    "rev 1234-5678",
    "email me @ noon",
    "QQ群里说的",
    "（无意见）",
    "张伟",  # a name is found only when it is known
]


@pytest.mark.parametrize(("written", "masked"), MASKED)
def test_real_world_writings_are_masked(written: str, masked: str) -> None:
    """Each writing of a contact detail, ID or card number reads as its masked form, the rest as written."""
    assert mask_text(written) == masked


@pytest.mark.parametrize("text", UNTOUCHED)
def test_numbers_that_are_not_personal_stay_as_written(text: str) -> None:
    """Ticket numbers, dates, times, IP addresses and numbers that fail the checks are left alone."""
    assert mask_text(text) == text


def test_the_table_is_big_enough() -> None:
    """At least 30 real-world writings and as many non-matches (the brief of the masking work)."""
    assert len(MASKED) >= 30 and len(UNTOUCHED) >= 30


@pytest.mark.parametrize(("name", "masked"), [
    ("张伟", "张*"), ("张小伟", "张**"), ("欧阳娜娜", "欧阳**"), ("司马光", "司马*"), ("张", "*"),
    ("迪丽热巴·迪力木拉提", "迪***·*****"), ("Wei Zhang", "W* Zhang"), ("Mary Ann Smith", "M* A* Smith"),
    ("Zhang", "Z*"), ("  张伟 ", "张*"), ("", ""), ("zhang.wei@example.com", "zhang*@example.com"),
])
def test_names_keep_the_surname(name: str, masked: str) -> None:
    """Chinese names keep the surname (compound ones whole), Latin ones the last word and initials."""
    assert mask_name(name) == masked


def test_known_names_are_masked_in_free_text_longest_first() -> None:
    """Directory names and the reporter's name are masked where they appear; 王伟明 is not cut at 王伟."""
    masker = Masker(["王伟", "王伟明", "李娜", "Wei Zhang", "x", ""])
    text = "王伟明说李娜和王伟都试过，Wei Zhang and wei  zhang too; 王伟明"
    assert masker.text(text) == "王**说李*和王*都试过，W* Zhang and w* zhang too; 王**"
    assert masker.text("张伟的电话 13812345678", ["张伟"]) == "张*的电话 138****5678"
    assert masker.text("Weizhang and Wei Zhangs stay") == "Weizhang and Wei Zhangs stay"


def test_address_and_phone_helpers() -> None:
    """The helpers used for name and address fields mask one value each."""
    assert mask_email("zhang.wei@qq.com") == "zhang*@qq.com"
    assert mask_email("zhangwei@qq.com") == "zhang*@qq.com"
    assert mask_email("zhang@qq.com") == "zh*@qq.com"
    assert mask_email("１２３４５６７８＠qq.com") == "123*@qq.com"
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_phone("(010)12345678") == "010-****5678"
    assert mask_phone("8101") == "****"
    assert mask_phone("123456") == "**3456"


def test_checks() -> None:
    """The Luhn and GB 11643 checks accept real numbers and refuse a changed digit."""
    assert luhn_valid("6222021234567894") and not luhn_valid("6222021234567895")
    assert resident_id_valid("11010519491231002X") and resident_id_valid("11010519491231002x")
    assert not resident_id_valid("110105194912310021")
