"""Check your understanding: a notebook's closing questions, answered in code and checked.

A notebook ends with two or three questions. The learner writes answers into a dict and
calls :func:`check`; the expected answers are computed by the notebook's helper module (so
the notebook never prints them). A wrong answer gets hints in steps: a nudge first, then
the idea, and the answer only at the third try.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .checks import Verdict

_tries: dict = {}   # (quiz name, question) -> wrong answers so far, for the stepped hints


@dataclass
class Number:
    """A question whose answer is a number, right within `tol`."""

    value: float
    tol: float
    hints: list[str] = field(default_factory=list)

    def judge(self, answer) -> tuple[bool, str]:
        """(right?, what was wrong with the form of the answer, or '')."""
        if isinstance(answer, bool) or not isinstance(answer, (int, float)):
            try:
                answer = float(answer)
            except (TypeError, ValueError):
                return False, f"expected a number, got {type(answer).__name__} {str(answer)[:40]!r}"
        answer = float(answer)
        if not math.isfinite(answer):
            return False, f"expected a finite number, got {answer}"
        return abs(answer - self.value) <= self.tol, ""

    def reveal(self) -> str:
        """The answer, for the last hint."""
        return f"{self.value:.3g}"


@dataclass
class Choice:
    """A question whose answer is one of `options` (compared as text, case and spaces ignored)."""

    answer: str
    options: list[str]
    hints: list[str] = field(default_factory=list)

    def judge(self, answer) -> tuple[bool, str]:
        """(right?, what was wrong with the form of the answer, or '')."""
        norm = lambda s: "".join(str(s).lower().split())
        if not isinstance(answer, str):
            return False, f"expected one of {self.options} as a string, got {type(answer).__name__}"
        if norm(answer) not in [norm(o) for o in self.options]:
            return False, f"{answer[:40]!r} is not one of the options {self.options}"
        return norm(answer) == norm(self.answer), ""

    def reveal(self) -> str:
        """The answer, for the last hint."""
        return repr(self.answer)


def check(answers, questions: dict, name: str = "quiz") -> Verdict:
    """Judge every answer in `answers` (a dict: question -> answer); never raises."""
    if not isinstance(answers, dict):
        return Verdict(False, f"answers should be a dict like {{{next(iter(questions))!r}: ...}}, "
                              f"got {type(answers).__name__}")
    lines, right = [], 0
    for key, q in questions.items():
        if key not in answers or answers[key] is None:
            lines.append(f"'{key}': no answer yet.")
            continue
        try:
            ok, problem = q.judge(answers[key])
        except Exception as err:  # an answer object that misbehaves is still only a wrong answer
            ok, problem = False, f"could not read that answer ({type(err).__name__})"
        if ok:
            right += 1
            lines.append(f"'{key}': right.")
            continue
        if problem:
            lines.append(f"'{key}': {problem}.")
            continue
        n = _tries[name, key] = _tries.get((name, key), 0) + 1
        steps = list(q.hints) + [f"the answer is {q.reveal()}"]
        lines.append(f"'{key}': not yet. Hint {min(n, len(steps))} of {len(steps)}: {steps[min(n, len(steps)) - 1]}")
    return Verdict(right == len(questions), f"{right} of {len(questions)} right. " + " ".join(lines))
