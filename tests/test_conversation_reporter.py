"""The reporter's side of the conversation: replies, the verdict on a solution, the survey, a new problem."""

from __future__ import annotations

from sqlalchemy import select

from maildesk.store.models import Ticket, TicketLink
from maildesk.store.models_conversation import ReviewTask, SurveyAnswer
from tests.desk import (
    ENGINEER,
    MANAGER,
    REPORTER,
    Helpdesk,
    body_of,
    desk_fixture,  # noqa: F401
    mail,
)


def resolved(desk: Helpdesk) -> Ticket:
    t = desk.open_ticket()
    desk.staff(t, "#状态 已解决\n已更换定影器。")
    return desk.ticket(t.number)


def closed_with_survey(desk: Helpdesk) -> Ticket:
    t = resolved(desk)
    desk.reporter(t, "已解决，谢谢")
    assert desk.ticket(t.number).status == "closed" and len(desk.outbox("survey")) == 1
    return desk.ticket(t.number)


def answers(desk: Helpdesk) -> list[SurveyAnswer]:
    with desk.app.store.session() as s:
        return list(s.scalars(select(SurveyAnswer).order_by(SurveyAnswer.id)))


def test_reply_to_a_ticket_waiting_on_the_reporter_resumes_it_and_reaches_the_assignee(desk: Helpdesk) -> None:
    """The reporter's answer ends the wait and is relayed to the engineer, answerable by replying."""
    t = desk.open_ticket()
    desk.staff(t, "#waiting user\n请问打印机型号是什么？")
    desk.later(hours=2)
    desk.reporter(t, "型号是 HP M404dn。")
    ticket = desk.ticket(t.number)
    assert ticket.status == "in_progress" and ticket.paused_seconds == 7200
    relay = desk.outbox("relay")[-1]
    assert relay.to_addrs == [ENGINEER] and "HP M404dn" in body_of(relay)


def test_solved_closes_and_sends_the_survey(desk: Helpdesk) -> None:
    """"已解决" to the confirm mail closes the ticket, records the confirmation and sends the survey once."""
    t = closed_with_survey(desk)
    assert [e.to_value for e in desk.events(t.number, "confirmed")] == ["solved"]
    [survey] = desk.outbox("survey")
    assert survey.to_addrs == [REPORTER]


def test_still_a_problem_reopens_and_tells_the_assignee(desk: Helpdesk) -> None:
    """"仍有问题" reopens the ticket and the assignee hears it with a notice."""
    t = resolved(desk)
    desk.reporter(t, "仍有问题，还是卡纸")
    ticket = desk.ticket(t.number)
    assert ticket.status == "in_progress" and ticket.reopen_count == 1
    relay = desk.outbox("relay")[-1]
    assert relay.to_addrs == [ENGINEER] and "重新打开" in body_of(relay) and "还是卡纸" in body_of(relay)
    assert desk.events(t.number, "reopened")


def test_needs_improvement_goes_back_to_work_tagged(desk: Helpdesk) -> None:
    """"需进一步优化" puts the ticket back in progress with the tag."""
    t = resolved(desk)
    desk.reporter(t, "需进一步优化：打印速度还是慢")
    ticket = desk.ticket(t.number)
    assert ticket.status == "in_progress" and "需进一步优化" in ticket.tags


def test_an_unclear_answer_changes_nothing(desk: Helpdesk) -> None:
    """A question in reply to the confirm mail leaves the ticket resolved and goes to the engineer."""
    t = resolved(desk)
    desk.reporter(t, "请问硒鼓也需要换吗？")
    assert desk.ticket(t.number).status == "resolved"
    assert "硒鼓" in body_of(desk.outbox("relay")[-1])


def test_reply_to_a_closed_ticket_reopens_but_a_thank_you_to_the_survey_does_not(desk: Helpdesk) -> None:
    """Within the window a reply reopens a closed ticket; one that answers the survey mail never does."""
    t = closed_with_survey(desk)
    survey = desk.outbox("survey")[0]
    desk.reporter(t, "谢谢你们", in_reply_to=f"<{survey.message_id}>")
    assert desk.ticket(t.number).status == "closed"
    desk.reporter(t, "打印机今天又卡纸了")
    assert desk.ticket(t.number).status == "in_progress"


def test_good_scores_complete_the_closure(desk: Helpdesk) -> None:
    """Confirmed and every score ≥ 4: the answer is stored and the closure is complete, nobody is bothered."""
    t = closed_with_survey(desk)
    desk.reporter(t, "5 5 4 很及时")
    [answer] = answers(desk)
    assert (answer.speed, answer.solving, answer.attitude, answer.comment) == (5, 5, 4, "很及时")
    assert desk.events(t.number, "closure_complete") and desk.outbox("review") == []


def test_a_low_score_asks_the_supervisor_for_a_review_within_a_day(desk: Helpdesk) -> None:
    """A score below 4 mails the manager and opens a review task due within 24 hours."""
    t = closed_with_survey(desk)
    desk.reporter(t, "速度2 能力4 态度5 等了两天才有人来")
    [review] = desk.outbox("review")
    assert review.to_addrs == [MANAGER] and "等了两天" in body_of(review) and "复盘" in body_of(review)
    with desk.app.store.session() as s:
        task = s.scalars(select(ReviewTask)).one()
    assert (task.reason, task.owner, task.done_at) == ("low_score", MANAGER, None)
    assert (task.due_at - desk.now).total_seconds() == 24 * 3600
    assert not desk.events(t.number, "closure_complete")


def test_a_complaint_without_scores_reaches_the_supervisor(desk: Helpdesk) -> None:
    """"太慢了，我要投诉" in reply to the survey is a complaint, reviewed like a low score."""
    t = closed_with_survey(desk)
    desk.reporter(t, "太慢了，我要投诉", in_reply_to=f"<{desk.outbox('survey')[0].message_id}>")
    [answer] = answers(desk)
    assert answer.complaint and answer.overall is None
    assert desk.outbox("review")[0].to_addrs == [MANAGER]
    assert desk.ticket(t.number).status == "closed"


def test_survey_formats_by_reply(desk: Helpdesk) -> None:
    """Stars and "4/5" are stored as overall scores."""
    t = closed_with_survey(desk)
    desk.reporter(t, "★★★★☆")
    desk.reporter(t, "4/5 挺好")
    assert [(a.overall, a.comment) for a in answers(desk)] == [(4.0, ""), (4.0, "挺好")]


def test_a_survey_answer_after_the_reopen_window_stays_on_its_ticket(desk: Helpdesk) -> None:
    """Late scores are still scores; any other late reply starts a new ticket linked to the old one."""
    t = closed_with_survey(desk)
    desk.later(days=30)
    outcome = desk.reporter(t, "5 5 5")
    assert outcome.result == "reply" and outcome.ticket == t.number and len(answers(desk)) == 1
    outcome = desk.reporter(t, "打印机又坏了")
    assert outcome.result == "created" and outcome.ticket != t.number


def test_split_in_a_reply_makes_a_linked_ticket(desk: Helpdesk) -> None:
    """"#split" at the top of a reporter's reply files the rest as a new ticket, linked, with its own ack."""
    t = desk.open_ticket()
    outcome = desk.reporter(t, "#split 邮箱登不上\n从昨天开始 Outlook 一直提示密码错误。")
    assert outcome.result == "created" and outcome.ticket and outcome.ticket != t.number
    new = desk.ticket(outcome.ticket)
    assert new.subject == "邮箱登不上" and new.reporter == REPORTER
    with desk.app.store.session() as s:
        assert s.scalars(select(TicketLink.kind).where(TicketLink.ticket_id == new.id)).all() == ["split"]
    assert any(new.number in a.subject for a in desk.outbox("ack"))
    assert desk.ticket(t.number).status == "assigned"


def test_the_reply_address_alone_threads_a_mail(desk: Helpdesk) -> None:
    """A mail with no tag and no In-Reply-To joins the ticket whose reply address it was sent to."""
    t = desk.open_ticket()
    ack = desk.outbox("ack")[0]
    reply_to = str(ack.raw.split(b"Reply-To: ")[1].split(b"\n")[0].decode().strip())
    outcome = desk.feed(mail(REPORTER, "补充截图", "截图见附件。", to=reply_to,
                             cc="chen.jing@example.com, " + reply_to))
    assert outcome.result == "reply" and outcome.ticket == t.number
    assert desk.ticket(t.number).watchers == ["chen.jing@example.com"]
