"""Recurring problems: the same problem in other words is grouped within its type; different problems are not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from maildesk.masking import Masker
from maildesk.reports.recurring import Item, find_groups

T0 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)

# (type, subject, opening of the first mail), as reporters write them
WEEK = [
    ("hardware", "三楼打印机卡纸", "您好，三楼的打印机又卡纸了，打不出来。"),
    ("hardware", "打印机又卡纸了", "打印机卡纸，麻烦来看一下"),
    ("hardware", "打印机卡纸无法打印", "财务部打印机卡纸，急用"),
    ("hardware", "2楼打印机不出纸", "2楼打印机一直卡纸，打印任务排队"),
    ("hardware", "显示器不亮", "我的显示器开机后不亮，电源灯是橙色"),
    ("hardware", "电脑开不了机", "按电源键没反应"),
    ("software", "OA账号被锁", "输错密码后OA账号被锁定，无法登录"),
    ("software", "OA账号锁定了", "OA登录提示账号已锁定"),
    ("software", "OA登录不了", "提示账号被锁"),
    ("software", "ERP报表导出报错", "导出报表时提示内存不足"),
    ("software", "邮箱无法登录", "Outlook 一直提示输入密码"),
    ("software", "打印机驱动安装失败", "安装打印机驱动时报错 0x0000007e"),
    ("permission", "申请共享盘权限", "需要访问财务共享盘"),
    ("permission", "申请ERP权限", "新同事需要开通ERP报表权限"),
    ("consultation", "如何设置邮件签名", "Outlook 里怎么加签名"),
    ("business", "报销系统审批流卡住", "报销单提交后一直停在部门审批"),
]


def _items(rows: list[tuple[str, str, str]]) -> list[Item]:
    return [Item(f"TS-20261116-{i + 1:04d}", t, s, b, T0 + timedelta(hours=i)) for i, (t, s, b) in enumerate(rows)]


def test_paraphrases_of_one_problem_are_grouped_and_others_are_not() -> None:
    """Four printer jams and three locked OA accounts form two groups, largest first; nothing else groups."""
    groups = find_groups(_items(WEEK))
    assert [(g.type, g.count, g.title) for g in groups] == [("hardware", 4, "三楼打印机卡纸"),
                                                           ("software", 3, "OA账号被锁")]
    assert groups[0].tickets == ("TS-20261116-0001", "TS-20261116-0002", "TS-20261116-0003", "TS-20261116-0004")
    assert groups[0].as_json()["tickets"] == list(groups[0].tickets)


def test_the_same_words_in_another_type_are_another_problem() -> None:
    """A printer-driver error (software) does not join the printer jams (hardware) although both say 打印机."""
    groups = find_groups(_items(WEEK))
    assert all("TS-20261116-0012" not in g.tickets for g in groups)


def test_group_titles_mask_contact_details_and_drop_reply_prefixes() -> None:
    """A group is named after its first ticket's subject without Re: and with phone numbers masked."""
    rows = [("software", "Re: VPN连不上 回电13812341188", "在家VPN连不上，错误809"),
            ("software", "VPN连不上", "VPN一直连不上，提示错误809")]
    groups = find_groups(_items(rows))
    assert [g.title for g in groups] == ["VPN连不上 回电138****1188"]


def test_group_titles_mask_the_reporter_and_the_directory_names() -> None:
    """The title masks the first ticket's reporter by name, and any name the desk's masker knows."""
    rows = [("software", "张伟：VPN连不上，李娜也不行", "在家VPN连不上，错误809"),
            ("software", "VPN连不上", "VPN一直连不上，提示错误809")]
    items = [Item(i.number, i.type, i.subject, i.text, i.created_at, reporter_name="张伟") for i in _items(rows)]
    groups = find_groups(items, masker=Masker(["李娜"]))
    assert [g.title for g in groups] == ["张*：VPN连不上，李*也不行"]


def test_a_busy_months_tickets_are_grouped_whole() -> None:
    """2,000 tickets (a busy month): each week's problems 125 times over, each mail with an order number of its own.
    Each problem is one group of all its tickets, the printer jams and the locked accounts in every wording, and no
    two problems join. (How long it takes is measured by bench/kb.py with the month's other report figures.)"""
    rows = [(t, s, f"{b} 订单号 {1000000 + i * 7}") for i in range(125) for t, s, b in WEEK]
    groups = find_groups(_items(rows))
    assert [(g.title, g.count) for g in groups[:2]] == [("三楼打印机卡纸", 500), ("OA账号被锁", 375)]
    alone = [s for _, s, _ in WEEK[4:6] + WEEK[9:]]  # the week's problems that are no other's
    assert sorted((g.title, g.count) for g in groups[2:]) == sorted((s, 125) for s in alone)
