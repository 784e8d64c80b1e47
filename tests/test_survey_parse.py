"""Reading survey answers and resolution verdicts out of plain replies."""

from __future__ import annotations

import pytest

from maildesk.desk.survey_answers import SurveyScores, parse_survey
from maildesk.desk.verdicts import Confirmation, parse_confirmation


def test_three_scores_then_a_comment() -> None:
    """"5 5 4 很及时" is speed, solving, attitude and the comment, as the survey mail teaches."""
    assert parse_survey("5 5 4 很及时\n\n工程师很耐心") == SurveyScores(
        speed=5, solving=5, attitude=4, overall=4.67, comment="很及时\n工程师很耐心")


def test_labelled_scores_in_chinese() -> None:
    """"速度5 能力4 态度5" names each score."""
    answer = parse_survey("速度5 能力4 态度5")
    assert answer is not None
    assert (answer.speed, answer.solving, answer.attitude, answer.comment) == (5, 4, 5, "")


@pytest.mark.parametrize(("text", "overall"), [("★★★★☆", 4.0), ("⭐⭐⭐⭐⭐ 谢谢", 5.0), ("4/5", 4.0), ("3分", 3.0),
                                                ("5", 5.0)])
def test_a_single_mark_is_an_overall_score(text: str, overall: float) -> None:
    """Stars, "4/5", "3分" or a bare digit give one overall score."""
    answer = parse_survey(text)
    assert answer is not None and answer.overall == overall and answer.speed is None


def test_scores_with_commas_and_the_fen_unit() -> None:
    """"5，4，3" and "5分 4分 3分" read like "5 4 3"."""
    for text in ("5，4，3 一般", "5分 4分 3分 一般"):
        answer = parse_survey(text)
        assert answer is not None and (answer.speed, answer.solving, answer.attitude) == (5, 4, 3)
        assert answer.comment == "一般" and answer.lowest == 3.0


@pytest.mark.parametrize("text", ["谢谢", "5 5 6", "速度9", "3楼打印机又坏了", "123 房间"])
def test_no_scores_no_answer(text: str) -> None:
    """Text without valid scores is not a survey answer (a number outside 1–5 is not guessed at)."""
    assert parse_survey(text) is None


def test_a_complaint_counts_with_or_without_scores() -> None:
    """Complaint words mark the answer, and a complaint without scores is still an answer."""
    scored = parse_survey("5 5 5\n不过上次报修没人理，我要投诉")
    assert scored is not None and scored.complaint
    bare = parse_survey("处理太慢了，很不满意")
    assert bare == SurveyScores(comment="处理太慢了，很不满意", complaint=True)


@pytest.mark.parametrize(("text", "verdict"), [
    ("已解决", Confirmation.SOLVED), ("解决了，谢谢！", Confirmation.SOLVED), ("yes", Confirmation.SOLVED),
    ("OK", Confirmation.SOLVED), ("Solved", Confirmation.SOLVED), ("好了", Confirmation.SOLVED),
    ("仍有问题", Confirmation.STILL), ("没解决，还是卡纸", Confirmation.STILL), ("no", Confirmation.STILL),
    ("Still a problem", Confirmation.STILL), ("not solved yet", Confirmation.STILL),
    ("需进一步优化", Confirmation.IMPROVE), ("Needs improvement", Confirmation.IMPROVE),
    ("已解决，但是打印很慢", Confirmation.UNCLEAR), ("请问什么时候能来？", Confirmation.UNCLEAR),
    ("", Confirmation.UNCLEAR), ("noted", Confirmation.UNCLEAR),
])
def test_resolution_verdicts(text: str, verdict: Confirmation) -> None:
    """The first line says solved, still a problem, needs improvement, or nothing clear."""
    assert parse_confirmation(text) == verdict


def test_only_the_first_line_is_the_verdict() -> None:
    """A later "已解决" in a question does not close the ticket."""
    assert parse_confirmation("还是不行\n你说已解决，但我这里没变化") == Confirmation.STILL
    assert parse_confirmation("收到\n已解决了吗？") == Confirmation.UNCLEAR
