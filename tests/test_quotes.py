"""Stripping the quoted conversation from replies, as Chinese and English mail clients write them."""

from __future__ import annotations

import pytest

from maildesk.ingest.quotes import strip_quoted

OUTLOOK_ZH = """已重置密码，请用新密码登录后修改。

李工
技术支持部

________________________________
发件人: 王喆 <wangzhe@corp.example.cn>
发送时间: 2026年11月22日 9:30
收件人: support <support@corp.example.cn>
主题: [TS-20261122-0007] 报销系统无法登录

您好：
    今天上午9点开始，财务部的报销系统无法登录。
"""

OUTLOOK_EN = """Password reset done, please try again.

From: Wang Zhe <wangzhe@corp.example.cn>
Sent: Sunday, November 22, 2026 9:30 AM
To: support <support@corp.example.cn>
Cc: Zhao Min <zhaomin@corp.example.cn>
Subject: RE: [TS-20261122-0007] Cannot log in to the expense system

Hello, since 9 am nobody in finance can log in.
"""

OUTLOOK_ORIGINAL_MESSAGE = """好的，明天上午我过去看一下打印机。

-----Original Message-----
From: 赵敏 [mailto:zhaomin@corp.example.cn]
Sent: Monday, November 23, 2026 10:05 AM
Subject: 打印机卡纸
"""

OUTLOOK_2010_ZH = """已处理。

-----邮件原件-----
发件人: 赵敏 [mailto:zhaomin@corp.example.cn]
发送时间: 2026年11月23日 10:05
"""

FOXMAIL = """已经可以登录了，谢谢！

王喆 财务部
\x20
From: support
Date: 2026-11-22 10:15
To: 王喆
Subject: [TS-20261122-0007] 报销系统无法登录
您好，已为您重置密码。
"""

FOXMAIL_ZH = """问题依旧，截图见附件。

发件人：技术支持
发送时间：2026-11-22 10:15
收件人：王喆
主题：[TS-20261122-0007] 报销系统无法登录
您好，已为您重置密码。
"""

QQ_MAIL = """收到，谢谢！


------------------\xa0原始邮件\xa0------------------
发件人: "技术支持"<support@corp.example.cn>;
发送时间:\xa02026年11月25日(星期三) 上午9:30
收件人:\xa0"李娜"<12345678@qq.com>;
主题:\xa0[TS-20261125-0003] OA账号被锁定

已解锁，请重新登录。
"""

GMAIL_EN = """Still failing with the same error after the restart.

On Tue, Nov 24, 2026 at 2:30 PM Support Team <support@corp.example.cn> wrote:

> Please restart the order service and tell us if it helps.
>
> Li Gong
"""

GMAIL_WRAPPED = """重启后恢复了。

On Tue, Nov 24, 2026 at 2:30 PM 技术支持 <
support@corp.example.cn> wrote:

> 请重启订单服务后再试。
"""

GMAIL_ZH = """重启后恢复正常了，感谢！

技术支持 <support@corp.example.cn> 于2026年11月24日周二 下午2:30写道：

> 请重启订单服务后再试。
"""

NETEASE_163 = """好的。

在 2026-11-22 10:15:00，"技术支持" <support@corp.example.cn> 写道：
>您好，已为您重置密码。
"""

THUNDERBIRD_ZH = """日志已上传到共享目录 \\\\fs01\\support\\TS-0009。

在 2026/11/25 10:30, 技术支持 写道:
> 请把应用服务器的错误日志发给我们。
"""

APPLE_MAIL = """收到，下午测试。

发自我的iPhone

> 在 2026年11月27日，11:40，技术支持 <support@corp.example.cn> 写道：
>
> 新版本客户端已发布，请升级后再试。
"""

INLINE_ANSWERS = """> 1. 报错时间？
上午9点左右。
> 2. 影响多少人？
整个财务部，大约20人。
"""

SIGNATURE = """已解决，可以关闭工单。

--\x20
王喆
财务部 | 分机 8021
"""


@pytest.mark.parametrize(
    ("client", "reply", "expected"),
    [
        ("Outlook (Chinese)", OUTLOOK_ZH, "已重置密码，请用新密码登录后修改。\n\n李工\n技术支持部"),
        ("Outlook (English)", OUTLOOK_EN, "Password reset done, please try again."),
        ("Outlook Original Message", OUTLOOK_ORIGINAL_MESSAGE, "好的，明天上午我过去看一下打印机。"),
        ("Outlook 2010 (Chinese)", OUTLOOK_2010_ZH, "已处理。"),
        ("Foxmail", FOXMAIL, "已经可以登录了，谢谢！\n\n王喆 财务部"),
        ("Foxmail (Chinese fields)", FOXMAIL_ZH, "问题依旧，截图见附件。"),
        ("QQ Mail", QQ_MAIL, "收到，谢谢！"),
        ("Gmail (English)", GMAIL_EN, "Still failing with the same error after the restart."),
        ("Gmail (wrapped attribution)", GMAIL_WRAPPED, "重启后恢复了。"),
        ("Gmail (Chinese)", GMAIL_ZH, "重启后恢复正常了，感谢！"),
        ("163 Mail", NETEASE_163, "好的。"),
        ("Thunderbird (Chinese)", THUNDERBIRD_ZH, "日志已上传到共享目录 \\\\fs01\\support\\TS-0009。"),
        ("Apple Mail", APPLE_MAIL, "收到，下午测试。\n\n发自我的iPhone"),
        ("inline answers", INLINE_ANSWERS, "上午9点左右。\n整个财务部，大约20人。"),
        ("signature", SIGNATURE, "已解决，可以关闭工单。"),
    ],
)
def test_reply_keeps_only_what_the_person_wrote(client: str, reply: str, expected: str) -> None:
    """The stored progress text is the new part of a reply, without the quoted mail or signature."""
    assert strip_quoted(reply) == expected, client


@pytest.mark.parametrize(
    "text",
    [
        "他在日志里写道：连接超时。\n请帮忙看看。",
        "From: 2026-11-20 to today the VPN drops every hour.",
        "步骤：\n1. 打开报销系统\n2. 输入工号\n--------\n3. 点击登录，提示错误",
        "He wrote: the server is down.",
        "会议室A的投影仪无法连接笔记本。",
    ],
)
def test_text_without_quotes_is_kept(text: str) -> None:
    """A mail with nothing quoted comes back unchanged, even when it mentions "写道" or "From:"."""
    assert strip_quoted(text) == text


def test_everything_quoted_returns_the_original() -> None:
    """A reply that is only quotes is not emptied: the original text comes back, stripped."""
    text = "\n> 请重启订单服务后再试。\n> 李工\n"
    assert strip_quoted(text) == text.strip()


def test_windows_line_endings() -> None:
    """CRLF text is handled like LF text."""
    assert strip_quoted(GMAIL_ZH.replace("\n", "\r\n")) == "重启后恢复正常了，感谢！"


def test_empty_text() -> None:
    """Empty or blank text stays empty."""
    assert strip_quoted("") == ""
    assert strip_quoted(" \n ") == ""
