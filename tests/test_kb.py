"""The knowledge base: Chinese search, articles from solved tickets, editing, and suggestions in acknowledgements."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from maildesk.app import App
from maildesk.cli import main
from maildesk.daemon import intake_pipeline
from maildesk.desk.tickets import NewTicket, create_ticket
from maildesk.ingest.source import SourceMessage
from maildesk.kb import (
    KbError,
    create_article,
    create_article_from_ticket,
    edit_article,
    search,
    suggest_articles,
)
from maildesk.store.db import Store
from maildesk.store.migrate import upgrade
from maildesk.store.models import Event, Message, OutboxMail, Ticket
from tests.desk import bare_context, desk_settings, mail, write_config

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
TZ = ZoneInfo("Asia/Shanghai")

# (title, problem, solution, tags): a small knowledge base as a support team writes one
ARTICLES = [
    ("OA账号锁定", "连续输错密码五次后OA账号被锁定，无法登录", "在AD管理中心解锁账号，提醒用户30分钟后也会自动解锁",
     ["账号", "OA"]),
    ("邮箱密码重置", "忘记邮箱密码，无法收发邮件", "通过自助门户重置密码，或联系管理员", ["邮箱"]),
    ("打印机卡纸处理", "三楼打印机卡纸，打印任务一直排队", "打开后盖取出卡纸，重启打印机并清空打印队列", ["打印机"]),
    ("VPN无法连接", "在家连接VPN提示错误 809", "检查防火墙是否放行 UDP 500/4500，更新客户端", ["vpn"]),
    ("ERP报表导出失败", "财务ERP导出报表时提示内存不足", "分批导出，或联系ERP管理员调整导出上限", ["erp"]),
    ("申请共享文件夹权限", "需要访问部门共享盘的权限", "提交权限申请单，由部门负责人审批后开通", ["权限"]),
    ("电脑蓝屏", "开机后蓝屏 0x0000007B", "进入BIOS把硬盘模式改回AHCI", ["硬件"]),
    ("Outlook cannot send mail", "Outlook shows error 0x800CCC0F when sending", "Check SMTP port 587", ["mail"]),
]


def _seed(store: Store) -> dict[str, int]:
    with store.session() as s:
        ids = {}
        for i, (title, problem, solution, tags) in enumerate(ARTICLES):
            article = create_article(s, title=title, problem=problem, solution=solution, tags=tags,
                                     author="liu.yang@example.com", now=NOW + timedelta(minutes=i))
            ids[title] = article.id
        return ids


def test_chinese_search_finds_the_article_from_other_words(store: Store) -> None:
    """"账号被锁" finds the article "OA账号锁定" first although the two share no three-character run."""
    ids = _seed(store)
    with store.session() as s:
        hits = search(s, "账号被锁")
        assert hits[0].id == ids["OA账号锁定"]
        assert hits[0].score > 0.5 and all(h.score < hits[0].score for h in hits[1:])
        assert search(s, "打印机卡纸了")[0].id == ids["打印机卡纸处理"]
        assert search(s, "ＯＵＴＬＯＯＫ error")[0].id == ids["Outlook cannot send mail"]  # full-width input
        assert search(s, "会议室投影仪") == [] or search(s, "会议室投影仪")[0].score < 0.1


@pytest.mark.parametrize(("subject", "expected"), [
    ("OA账号被锁了，登录不了", "OA账号锁定"),
    ("打印机不能打印", "打印机卡纸处理"),
    ("共享盘没有权限", "申请共享文件夹权限"),
    ("电脑开机蓝屏了", "电脑蓝屏"),
    ("Outlook error when sending", "Outlook cannot send mail"),
])
def test_suggestions_name_the_matching_article(tmp_path: Path, subject: str, expected: str) -> None:
    """A new ticket's subject that talks about a known problem gets that article suggested first."""
    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    upgrade(store)
    _seed(store)
    with store.session() as s:
        suggested = suggest_articles(s, subject)
    assert suggested and suggested[0]["title"] == expected and len(suggested) <= 3
    store.close()


def test_unrelated_subjects_get_no_suggestion(store: Store) -> None:
    """Subjects the knowledge base knows nothing about suggest nothing rather than a wrong article."""
    _seed(store)
    with store.session() as s:
        for subject in ("会议室投影仪没有信号", "新员工入职开通账号", "网络很慢", "求助", "ERP系统登录提示密码错误"):
            assert suggest_articles(s, subject) == [], subject


def test_article_from_a_solved_ticket_is_linked_masked_and_found(store: Store) -> None:
    """``#kb new``: the ticket's subject and first mail (phone and mail masked) plus the solution become an article."""
    with store.session() as s:
        t = create_ticket(bare_context(s, NOW), NewTicket(subject="回复: [TS-X] OA账号被锁定",
                                                          reporter="li.na@example.com", priority="P3",
                                                          type="software", tags=("oa",)))
        t.subject = f"回复: [{t.number}] OA账号被锁定"
        s.add(Message(ticket_id=t.id, direction="in", message_id="<m1@client>", from_addr=t.reporter,
                      subject=t.subject, text="早上登录OA提示账号锁定，我的手机 13812341188，邮箱 li.na@gmail.com",
                      created_at=NOW))
        s.flush()
        article = create_article_from_ticket(s, t, "在AD里解锁账号", "sun.hao@example.com", NOW)
        number, article_id = t.number, article.id
        assert article.title == "OA账号被锁定"
        assert "138****1188" in article.problem and "13812341188" not in article.problem
        assert "li*@gmail.com" in article.problem and article.solution == "在AD里解锁账号"
        assert article.tags == ["oa", "software"] and article.author == "sun.hao@example.com"
        kb_events = list(s.scalars(select(Event).where(Event.ticket_id == t.id, Event.action == "kb")))
        assert [e.to_value for e in kb_events] == [str(article.id)]
        with pytest.raises(KbError):
            create_article_from_ticket(s, t, "  ", "sun.hao@example.com", NOW)
    with store.session() as s:
        hit = search(s, "账号锁定")[0]
        assert (hit.id, hit.tickets) == (article_id, (number,))


def test_editing_reindexes_and_links_more_tickets(store: Store) -> None:
    """After a new title the old words stop finding the article and the new ones find it; links accumulate."""
    ids = _seed(store)
    aid = ids["电脑蓝屏"]
    with store.session() as s:
        t = create_ticket(bare_context(s, NOW), NewTicket(subject="蓝屏", reporter="li.na@example.com",
                                                          priority="P3", type="hardware"))
        edit_article(s, aid, now=NOW, title="笔记本开机报错 INACCESSIBLE_BOOT_DEVICE", problem="笔记本开机报错",
                     solution="BIOS 改为 AHCI", tags=["硬件"], add_tickets=[t])
        edit_article(s, aid, now=NOW, add_tickets=[t])  # linking twice is harmless
    with store.session() as s:
        assert all(h.id != aid for h in search(s, "蓝屏"))
        hit = search(s, "inaccessible_boot_device 笔记本")[0]
        assert hit.id == aid and len(hit.tickets) == 1
        with pytest.raises(KbError):
            edit_article(s, aid, now=NOW, title="   ")


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_kb_commands_add_search_show_edit(tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The operator adds, finds, shows and edits articles; the JSON shapes are the documented ones."""
    config = str(write_config(tmp_path, desk_settings(db_url)))
    code, out, _ = _cli(["-c", config, "kb", "add", "--title", "OA账号锁定", "--problem", "连续输错密码",
                         "--solution", "AD解锁", "--tags", "账号，OA", "--json"], capsys)
    assert code == 0
    added = json.loads(out)
    assert added["tags"] == ["账号", "OA"] and added["tickets"] == [] and added["created_at"].endswith("+08:00")
    code, out, _ = _cli(["-c", config, "kb", "search", "账号被锁", "--json"], capsys)
    assert code == 0
    results = json.loads(out)
    assert [set(r) for r in results] == [{"id", "title", "score", "tickets"}]
    assert results[0]["id"] == added["id"] and 0 < results[0]["score"] <= 1
    code, out, _ = _cli(["-c", config, "kb", "edit", str(added["id"]), "--solution", "在AD管理中心解锁", "--json"],
                        capsys)
    assert code == 0 and json.loads(out)["solution"] == "在AD管理中心解锁"
    code, out, _ = _cli(["-c", config, "kb", "show", str(added["id"])], capsys)
    assert code == 0 and "在AD管理中心解锁" in out and "OA账号锁定" in out
    assert _cli(["-c", config, "kb", "show", "999"], capsys)[0] == 1
    assert _cli(["-c", config, "kb", "edit", str(added["id"])], capsys)[0] == 2
    code, _, err = _cli(["-c", config, "kb", "add", "--title", "x", "--ticket", "TS-20990101-0001"], capsys)
    assert code == 1 and "TS-20990101-0001" in err


def test_acknowledgement_lists_matching_articles(tmp_path: Path, db_url: str) -> None:
    """A reporter whose problem is in the knowledge base is pointed to the article in the acknowledgement."""
    write_config(tmp_path, desk_settings(db_url))
    app = App.from_config(tmp_path / "maildesk.toml")
    app.upgrade()
    ids = _seed(app.store)
    raws = [mail("li.na@example.com", "OA账号被锁了，登录不了", "输错几次密码就进不去了", message_id="<kb1@client>"),
            mail("li.na@example.com", "会议室投影仪没有信号", "三楼会议室", message_id="<kb2@client>")]
    intake_pipeline(app, lambda: NOW).process([SourceMessage(f"kb:{i}", raw) for i, raw in enumerate(raws)])
    with app.store.session() as s:
        acks = {subject: text for subject, text in s.execute(
            select(Ticket.subject, OutboxMail.text).join(Ticket, Ticket.id == OutboxMail.ticket_id)
            .where(OutboxMail.kind == "ack"))}
    assert f"[{ids['OA账号锁定']}] OA账号锁定" in acks["OA账号被锁了，登录不了"]
    assert "知识库" not in acks["会议室投影仪没有信号"]
    app.close()


@pytest.mark.parametrize("text", [
    "ＯＡ系统打不开了，我的账号被锁", "账号被锁 账号锁定 OA系统打不开 CRM x y the a", "VPN keeps disconnecting",
    "", "日志片段：" + "ABCDEF0123456789" * 30, "打印机" * 3 + " printer printer",
])
def test_weighted_terms_are_the_terms_in_order_with_their_weights(text: str) -> None:
    """The one-pass weighted_terms gives terms()'s terms in terms()'s order (a query keeps its first ones),
    single Chinese characters weighing UNIGRAM_WEIGHT and everything else 1."""
    from maildesk.kb.text import UNIGRAM_WEIGHT, is_unigram, terms, weighted_terms

    expected = {t: UNIGRAM_WEIGHT if is_unigram(t) else 1.0 for t in terms(text)}
    assert list(weighted_terms(text).items()) == list(expected.items())


def test_a_search_leaves_the_kept_terms_of_its_query_as_they_were(store: Store) -> None:
    """A query's terms are kept for the next searches of it (a group's read-ahead asks again for the mails left
    when its transaction ends early); a search adding its context's terms to its own must not add them to what
    is kept, or the next search of the query would weigh them as the query's own."""
    from maildesk.kb.search import _query_terms, scores

    _seed(store)
    query, context = "登录不了", "OA账号被锁了，打印机也卡纸"
    kept = _query_terms(query, context, 0.5)
    before = (dict(kept[0]), dict(kept[1]))
    assert before[1], "the context brings terms of its own"
    with store.session() as s:
        assert scores(s, query, context, 0.5)
    assert _query_terms(query, context, 0.5) is kept
    assert (kept[0], kept[1]) == before


def test_holding_counts_with_one_parameter_as_with_a_list(store: Store) -> None:
    """The count of articles holding each term, asked with the terms as one parameter (SQLite's JSON array,
    PostgreSQL's array), is the count the expanded IN list gives, odd characters and unheld terms included."""
    from maildesk.kb.search import _HOLDING, _holding

    _seed(store)
    asked = ["账号", "号", "打印机", "vpn", "erp", "0x800ccc0f", "809", "500", "没有",
             'a"b', "c\\d", "it's", "[x]", "%", "_"]
    with store.session() as s:
        conn = s.connection()
        expected = {t: int(n) for t, n in conn.execute(_HOLDING, {"terms": asked})}
        assert _holding(conn, asked) == expected
        assert expected["账号"] >= 1 and expected["500"] >= 1 and "没有" not in expected
