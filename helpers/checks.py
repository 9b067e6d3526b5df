"""Exercise checks: run a learner's function on test cases, answer with a pass or a hint.

Every checker (one per exercise, in the module of its notebook) returns a :class:`Verdict` (shown as a coloured line in a notebook and
truthy when passed); none raises on a wrong answer.
"""
from __future__ import annotations

import html
import traceback

import numpy as np


class Verdict:
    """The outcome of a check: passed or not, and a message for the learner."""

    def __init__(self, passed: bool, message: str):
        self.passed, self.message = passed, message

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return ("PASS: " if self.passed else "NOT YET: ") + self.message

    def _repr_html_(self) -> str:
        colour, mark = ("#15803d", "&#10004; Well done") if self.passed else ("#b45309", "&#10008; Not yet")
        return f'<div style="color:{colour}"><b>{mark}.</b> {html.escape(self.message)}</div>'


def compare(student, reference, cases, hint: str, atol: float = 1e-6, name: str = "your function") -> Verdict:
    """Call student(*case) and reference(*case) on each case; pass if all agree within atol."""
    if student is None:
        return Verdict(False, f"{name} is still None: write it in the cell above, then run this cell.")
    for i, case in enumerate(cases):
        args = tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in case)
        try:
            got = student(*args)
        except NotImplementedError:
            return Verdict(False, f"{name} raises NotImplementedError: replace that line with your code.")
        except Exception as err:  # the learner's bug, reported briefly
            last = traceback.format_exception_only(type(err), err)[-1].strip()
            return Verdict(False, f"{name} raised {last} on test case {i + 1}. Hint: {hint}")
        want = reference(*case)
        got_arr, want_arr = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
        if got_arr.shape != want_arr.shape:
            return Verdict(False, f"test case {i + 1}: expected shape {want_arr.shape}, got {got_arr.shape}. "
                                  f"Hint: {hint}")
        if not np.allclose(got_arr, want_arr, atol=atol, rtol=1e-5, equal_nan=False):
            err = float(np.max(np.abs(got_arr - want_arr)))
            return Verdict(False, f"test case {i + 1}: off by up to {err:.3g}. Hint: {hint}")
    return Verdict(True, f"{name} matches the reference on all {len(cases)} test cases.")
