"""helpers.quiz: closing questions are judged soundly, hint in steps and never raise."""
import math

import numpy as np

from helpers import quiz

QS = {"fixed point": quiz.Number(0.5, 0.05, ["nudge", "idea"]),
      "reads": quiz.Choice("h_{k-1}", ["h_{k-1}", "h_k"], ["think"])}


def test_right_answers_pass():
    v = quiz.check({"fixed point": 0.52, "reads": " H_{k-1} "}, QS, name="t1")
    assert v and "2 of 2" in v.message


def test_wrong_answers_never_pass_and_never_raise():
    class Bad:
        def __float__(self):
            raise RuntimeError("no")
    for wrong in (0.7, "0.5x", None, math.nan, math.inf, [0.5], True, Bad(), np.array([1.0, 2.0])):
        v = quiz.check({"fixed point": wrong, "reads": "h_k"}, QS, name="t2")
        assert not v
    for wrong in (3, "g_k", None, ["h_{k-1}"]):
        assert not quiz.check({"fixed point": 0.5, "reads": wrong}, QS, name="t3")
    for not_a_dict in (None, 3, "x", [1]):
        assert not quiz.check(not_a_dict, QS)


def test_hints_come_in_steps_and_reveal_last():
    msgs = [quiz.check({"fixed point": 0.9, "reads": "h_{k-1}"}, QS, name="t4").message for _ in range(4)]
    assert "Hint 1 of 3: nudge" in msgs[0] and "Hint 2 of 3: idea" in msgs[1]
    assert "the answer is 0.5" in msgs[2] and "the answer is 0.5" in msgs[3]
    assert "0.5" not in msgs[0].replace("0.9", "")
