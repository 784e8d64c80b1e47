"""Reading command lines out of a staff reply, and the proofs a staff mail can carry."""

from __future__ import annotations

from maildesk.desk.commands import Command, parse_commands, split_request
from maildesk.desk.proof import MailAuth, header_fields, mail_auth, trusted_results


def test_english_and_chinese_commands_at_the_top_are_taken_and_removed() -> None:
    """Commands in both languages at the top become commands; the text below is what the reporter reads."""
    parsed = parse_commands("#status resolved\n#优先级 P1\n\n已更换硒鼓，请再试一次。\n谢谢")
    assert parsed.commands == (
        Command("status", "resolved", "#status resolved"),
        Command("priority", "P1", "#优先级 P1"),
    )
    assert parsed.unknown == ()
    assert parsed.body == "已更换硒鼓，请再试一次。\n谢谢"


def test_chinese_commands_need_no_space_and_accept_full_width_marks() -> None:
    """"#状态已解决", "＃备注：…" and "#状态：已解决" are read the way a Chinese input method types them."""
    parsed = parse_commands("#状态已解决\n＃备注：已联系厂家\n#类型：硬件故障\n#内部备注 先别告诉用户")
    assert [(c.name, c.arg) for c in parsed.commands] == [
        ("status", "已解决"), ("note", "已联系厂家"), ("type", "硬件故障"), ("note", "先别告诉用户"),
    ]
    assert parsed.body == ""


def test_unknown_command_at_the_top_is_an_error_not_text() -> None:
    """A mistyped command at the top is reported, and never relayed to the reporter."""
    parsed = parse_commands("#stauts resolved\n您好，问题已处理。")
    assert parsed.commands == ()
    assert parsed.unknown == ("#stauts resolved",)
    assert parsed.body == "您好，问题已处理。"


def test_known_commands_below_the_text_are_still_removed_but_other_hash_lines_stay() -> None:
    """A "#note" typed under the greeting never reaches the reporter; "#1 …" and "# 标题" are text."""
    parsed = parse_commands("您好：\n#1 先重启电脑\n#note 用户的电脑是旧型号\n# 原因\n驱动过旧。")
    assert [c.name for c in parsed.commands] == ["note"]
    assert parsed.unknown == ()
    assert parsed.body == "您好：\n#1 先重启电脑\n# 原因\n驱动过旧。"
    assert "旧型号" not in parsed.body


def test_every_command_has_an_english_and_a_chinese_name() -> None:
    """Each command of the issue parses in both languages to the same canonical name."""
    pairs = [("#status x", "#状态 x"), ("#priority P1", "#优先级 P1"), ("#assign a@b.c", "#指派 a@b.c"),
             ("#type t", "#类型 t"), ("#note n", "#备注 n"), ("#kb 12", "#知识库 12"),
             ("#link TS-1", "#关联 TS-1"), ("#merge TS-1", "#合并 TS-1"), ("#escalate", "#升级"),
             ("#close", "#关闭"), ("#waiting user", "#等待 用户"), ("#split", "#拆分")]
    for english, chinese in pairs:
        [a], [b] = parse_commands(english).commands, parse_commands(chinese).commands
        assert a.name == b.name, (english, chinese)


def test_split_request_takes_the_first_line_only() -> None:
    """A reply that starts with #split gives the new ticket's subject and description; elsewhere it is text."""
    assert split_request("#split 邮箱也登不上\n从昨天开始 Outlook 提示密码错误。") == (
        "邮箱也登不上", "从昨天开始 Outlook 提示密码错误。")
    assert split_request("#拆分\n另外投影仪也坏了") == ("", "另外投影仪也坏了")
    assert split_request("谢谢！\n#split 另一个问题") is None


def test_authentication_results_count_only_from_a_trusted_server_and_for_the_senders_domain() -> None:
    """DKIM/DMARC pass proves the sender only in our own server's header and for the From domain."""
    trusted = ["mx.example.com"]
    sender = "liu.yang@example.com"

    def auth(*results: str, trusted_ids: list[str] = trusted) -> MailAuth:
        top = "".join(f"Authentication-Results: {r}\r\n" for r in results)
        raw = (top + "Received: from mail.example.com by mx.example.com\r\nFrom: liu.yang@example.com\r\n"
               "Subject: x\r\n\r\nbody").encode()
        return mail_auth(raw, trusted_ids, sender)

    ok = "mx.example.com; spf=pass smtp.mailfrom=example.com; dkim=pass (2048-bit key) header.d=example.com"
    assert auth(ok).passed == "dkim"
    assert auth("MX.example.com 1; dmarc=pass (p=reject) header.from=example.com").passed == "dmarc"
    assert auth(ok.replace("mx.", "evil.")) == MailAuth()
    assert auth(ok.replace("dkim=pass", "dkim=fail")) == MailAuth()
    assert auth("mx.example.com; dkim=pass header.d=attacker.example.net") == MailAuth()
    assert auth(ok, trusted_ids=[]) == MailAuth()
    assert auth("mx.example.com; dmarc=fail header.from=example.com").failed == "dmarc=fail"
    assert auth("mx.example.com; spf=fail smtp.mailfrom=example.com; dkim=none").failed == "spf=fail"


def test_only_the_topmost_results_of_our_server_count() -> None:
    """RFC 8601: a trusted-looking header below our server's own, or among the sender's fields, is ignored."""
    fields = [("return-path", "<x@example.com>"), ("authentication-results", "mx.example.com; dkim=fail"),
              ("received", "from a by mx.example.com"), ("authentication-results", "mx.example.com; dkim=pass"),
              ("from", "x@example.com")]
    assert trusted_results(fields, ["mx.example.com"]) == ["mx.example.com; dkim=fail"]
    sender_written = [("received", "from a by mx.example.com"), ("from", "x@example.com"),
                      ("authentication-results", "mx.example.com; dkim=pass")]
    assert trusted_results(sender_written, ["mx.example.com"]) == []
    two = [("authentication-results", "mx.example.com; dkim=pass header.d=example.com"),
           ("authentication-results", "mx.example.com; dmarc=pass header.from=example.com"), ("received", "x")]
    assert len(trusted_results(two, ["mx.example.com"])) == 2
    raw = b"Authentication-Results: mx.example.com;\r\n\tdkim=pass header.d=example.com\r\nFrom: a@b\r\n\r\nx"
    assert header_fields(raw)[0] == ("authentication-results", "mx.example.com; dkim=pass header.d=example.com")
