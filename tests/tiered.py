"""A desk with support tiers and an on-call rota, for the urgent-incident tests (shared by test_tiers and
test_urgent_e2e)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maildesk.app import App
from tests.desk import Helpdesk, desk_settings, make_app

TIER1 = "sun.hao@example.com"  # 孙浩, software, tier 1
TIER2 = "ma.jun@example.com"  # 马骏, software, tier 2
LEAD = "wu.qiang@example.com"  # 吴强, software lead, tier 2
RD = "qian.feng@example.com"  # 钱峰, R&D: tier 3 (config tier3)
ON_CALL = "liu.yang@example.com"  # 刘洋, hardware, on call on weeknights and weekends
MANAGER = "zheng.li@example.com"
PEOPLE = """address,name,department,employee_id,extension,phone,role,team,away,tier
zhang.wei@example.com,张伟,财务部,E1001,8101,13800138001,reporter,,no,
li.na@example.com,李娜,销售部,E1002,8102,13912345678,reporter,,no,
liu.yang@example.com,刘洋,技术支持部,E2001,8201,13811112222,engineer,hardware,no,1
sun.hao@example.com,孙浩,技术支持部,E2003,8203,13833334444,engineer,software,no,1
ma.jun@example.com,马骏,技术支持部,E2006,8206,13833335555,engineer,software,no,2
wu.qiang@example.com,吴强,研发部,E2005,8205,13855556666,lead,software,no,2
qian.feng@example.com,钱峰,研发部,E4001,8401,13899990000,engineer,rd,no,3
zhou.min@example.com,周敏,技术支持部,E2004,8204,13844445555,engineer,business,no,1
zheng.li@example.com,郑丽,技术支持部,E3001,8301,13866667777,manager,,no,
huang.gang@example.com,黄刚,信息中心,E3002,8302,13877778888,director,,no,
"""
ROTA = """\
[[weekly]]
who = "liu.yang@example.com"
days = [1, 2, 3, 4, 5]
start = "18:00"
end = "09:00"
[[weekly]]
who = "liu.yang@example.com"
days = [6, 7]
start = "09:00"
end = "09:00"
"""


def tiered_desk(folder: Path, db_url: str, **settings: Any) -> Helpdesk:
    """The sample desk with tiers (software: 孙浩 tier 1, 马骏 and 吴强 tier 2; 钱峰 is R&D) and the rota."""
    intake = {"trusted_authserv_ids": ["mx.example.com"], **settings.pop("intake", {})}
    written = make_app(folder, desk_settings(db_url, oncall="oncall.toml", tier3=RD, intake=intake, **settings))
    written.close()
    (folder / "people.csv").write_text(PEOPLE, encoding="utf-8")
    (folder / "oncall.toml").write_text(ROTA, encoding="utf-8")
    app = App(written.settings)  # reads the people and the rota written above
    app.upgrade()
    return Helpdesk(app)
