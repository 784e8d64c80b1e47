"""Benchmark: 200 generated rules over 10,000 varied mails (Chinese and English); prints mails/s.

Run: python bench/rules.py [--rules 200] [--mails 10000] [--seed 7]
The target is more than 2,000 mails/s with 200 rules on one core.
"""

from __future__ import annotations

import argparse
import random
import time

from maildesk.mail import Address, Attachment, InboundMail
from maildesk.people.directory import Person
from maildesk.rules.engine import evaluate
from maildesk.rules.loader import parse_rules
from maildesk.rules.model import Defaults

TYPES = ["hardware", "software", "permission", "business", "consultation", "requirement", "other"]
TEAMS = ["hardware", "software", "business", "product"]
PRIORITIES = ["P1", "P2", "P3", "P4"]
DEPARTMENTS = ["财务部", "销售部", "人力资源部", "市场部", "研发部", "行政部", "采购部", "法务部"]
ZH_WORDS = [
    "打印机",
    "蓝屏",
    "显示器",
    "键盘",
    "鼠标",
    "无法开机",
    "报错",
    "崩溃",
    "闪退",
    "无法登录",
    "权限",
    "开通账号",
    "ERP",
    "OA",
    "CRM",
    "财务系统",
    "报销",
    "考勤",
    "咨询",
    "如何",
    "怎么",
    "需求",
    "新功能",
    "建议",
    "紧急",
    "全部",
    "所有人",
    "生产环境",
    "宕机",
    "网络",
    "VPN",
    "邮箱",
    "密码",
    "会议室",
    "投影仪",
    "合同",
    "审批",
    "发票",
    "凭证",
    "报表",
    "数据库",
    "服务器",
    "硬盘",
    "内存",
    "升级",
    "安装",
    "驱动",
    "插件",
    "浏览器",
    "证书",
    "短信",
    "验证码",
    "客户",
    "订单",
    "库存",
]
EN_WORDS = [
    "printer",
    "bluescreen",
    "monitor",
    "keyboard",
    "mouse",
    "crash",
    "error",
    "exception",
    "login",
    "access",
    "request",
    "permission",
    "erp",
    "crm",
    "invoice",
    "report",
    "database",
    "server",
    "disk",
    "memory",
    "upgrade",
    "install",
    "driver",
    "plugin",
    "browser",
    "certificate",
    "customer",
    "order",
    "inventory",
    "how",
    "to",
    "question",
    "feature",
    "request",
    "urgent",
    "outage",
    "production",
    "down",
    "vpn",
    "mailbox",
]
# Real rule sets of this size route by system and device names, so most rules carry
# words few mails contain; these generated names give the pool that long tail.
ZH_WORDS += [f"{name}{n}" for name in ("工单系统", "门禁", "产线", "机房", "分公司") for n in range(40)]
EN_WORDS += [f"{name}-{n}" for name in ("sys", "hp", "vm", "app", "db") for n in range(40)]
FILLER_ZH = "您好，麻烦帮忙看一下，今天上午开始出现这个问题，已经重启过电脑但是没有用，谢谢！"
FILLER_EN = "Hello team, since this morning we see the problem below; a restart did not help. Thanks, "


def make_rules(n: int, rng: random.Random) -> str:
    """TOML for n rules mixing every field and operator the engine offers."""
    out: list[str] = []
    for i in range(n):
        kind = i % 8
        words = rng.sample(ZH_WORDS, 3) + rng.sample(EN_WORDS, 2)
        quoted = ", ".join(f'"{w}"' for w in words)
        if kind == 0:
            conds = [f'{{ field = "subject", op = "contains_any", value = [{quoted}] }}']
        elif kind == 1:
            conds = [f'{{ field = "subject_or_body", op = "contains_any", value = [{quoted}] }}']
        elif kind == 2:
            alt = "|".join(rng.sample(EN_WORDS, 3))
            conds = [f'{{ field = "body", op = "regex", value = \'(?<![a-z])({alt})(?![a-z])\' }}']
        elif kind == 3:
            dep = rng.choice(DEPARTMENTS)
            conds = [
                f'{{ field = "department", op = "equals", value = "{dep}" }}',
                f'{{ field = "subject", op = "contains", value = "{words[0]}" }}',
            ]
        elif kind == 4:
            conds = [
                f'{{ field = "sender", op = "glob", value = "*{rng.randint(0, 9)}@example.com" }}',
                f'{{ field = "body", op = "contains", value = "{words[1]}", not = true }}',
            ]
        elif kind == 5:
            conds = [
                '{ field = "attachment_name", op = "regex", value = \'\\.(log|txt|png)$\' }',
                f'{{ field = "subject_or_body", op = "contains_any", value = [{quoted}] }}',
            ]
        elif kind == 6:
            conds = [
                '{ field = "header:X-Priority", op = "in", value = ["1", "2"] }',
                '{ field = "business_hours", op = "is", value = false }',
            ]
        else:
            conds = [
                f'{{ field = "cc", op = "glob", value = "*{rng.choice(TEAMS)}*" }}',
                f'{{ field = "subject", op = "regex", value = "{words[2]}|{words[3]}" }}',
            ]
        # "any" only where both conditions are specific; "any" with a negated or
        # clock condition would hit most mails, which no real rule set does.
        match = "any" if kind in (5, 7) and i % 3 == 0 else "all"
        out.append(
            f'[[rule]]\nname = "r{i:03d}"\nmatch = "{match}"\nconditions = [\n  '
            + ",\n  ".join(conds)
            + f'\n]\n[rule.actions]\ntype = "{rng.choice(TYPES)}"\npriority = "{rng.choice(PRIORITIES)}"\n'
            + f'team = "{rng.choice(TEAMS)}"\ntags = ["t{i % 17}"]\n'
        )
    return "\n".join(out)


def make_mail(i: int, rng: random.Random) -> InboundMail:
    chinese = i % 3 != 2  # two thirds Chinese: the normal case
    words = rng.sample(ZH_WORDS if chinese else EN_WORDS, 3)
    subject = ("【求助】" if chinese else "Help: ") + " ".join(words)
    filler = FILLER_ZH if chinese else FILLER_EN
    body = filler * rng.randint(1, 12) + " ".join(rng.sample(ZH_WORDS + EN_WORDS, 8))
    attachments = (Attachment("error.log", "text/plain", b"x" * 100),) if i % 4 == 0 else ()
    headers = {"x-priority": ("1",)} if i % 10 == 0 else {}
    return InboundMail(
        raw=b"",
        message_id=f"bench-{i}@example.com",
        subject=subject,
        from_addr=Address("", f"user{i % 50}@example.com"),
        to=(Address("", "support@example.com"),),
        cc=(Address("", f"{rng.choice(TEAMS)}@example.com"),) if i % 5 == 0 else (),
        text=body,
        attachments=attachments,
        headers=headers,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rules = parse_rules(make_rules(args.rules, rng), source="bench", types=TYPES, priorities=PRIORITIES, teams=TEAMS)
    mails = [make_mail(i, rng) for i in range(args.mails)]
    people = {
        f"user{i}@example.com": Person(f"user{i}@example.com", f"用户{i}", DEPARTMENTS[i % len(DEPARTMENTS)])
        for i in range(50)
    }
    defaults = Defaults()
    start = time.perf_counter()
    hits = 0
    for n, mail in enumerate(mails):
        decision = evaluate(rules, mail, people.get(mail.sender), in_business_hours=n % 2 == 0, defaults=defaults)
        hits += len(decision.hits)
    elapsed = time.perf_counter() - start
    print(
        f"{len(mails)} mails x {len(rules)} rules in {elapsed:.2f} s: {len(mails) / elapsed:,.0f} mails/s "
        f"({hits / len(mails):.1f} hits per mail)"
    )


if __name__ == "__main__":
    main()
