"""Exercise checks: run a learner's function on test cases, answer with a pass or a hint.

Every checker (one per exercise, in the module of its notebook) calls :func:`compare` and
returns a :class:`Verdict` (shown as a coloured line in a notebook, truthy when passed). The
machinery here makes every checker sound in the same way:

- the reference answers are computed first, on deep copies of the arguments, and the
  learner's function gets its own deep copies (dicts and nested arrays too), so it can change
  neither the reference nor the next case; a function that changes its inputs is told so;
- the learner's function runs under a time limit (:func:`run_limited`), so a loop that never
  ends is stopped and reported;
- whatever it returns (a string, None, a tuple of the wrong length) or raises is turned into a
  hint, never a traceback;
- hints come in steps, counted per checker: a nudge, then the formula, then the answer; and
  common mistakes get a diagnosis of their own (NaN or inf, a wrong shape, outputs swapped, or
  a match with a known wrong version such as W where W.T was needed).
"""
from __future__ import annotations

import copy
import ctypes
import html
import signal
import threading
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

TIME_LIMIT = 1.0        # seconds for one call of a learner's function on one (tiny) test case
_attempts: dict = {}    # checker name -> wrong answers since its last pass, for the stepped hints


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


class OutOfTime(BaseException):
    """Raised inside a learner's function that runs past the time limit (not an Exception: a
    bare `except Exception` in the learner's loop cannot swallow it)."""


class Stop(BaseException):
    """Raised by a checker's own helper (say, a step function called too often) to stop a
    learner's function; its message is the diagnosis."""


@dataclass
class Case:
    """One test case: the arguments, and a note said when this case fails (what is special about it)."""

    args: tuple
    note: str = ""


@dataclass
class Mistake:
    """A known wrong version of the exercise (same signature) and the diagnosis when an answer matches it."""

    wrong: Callable
    says: str


def reset_hints(name: str | None = None) -> None:
    """Forget the wrong attempts counted for one checker (or all): the hints start at the nudge again."""
    if name is None:
        _attempts.clear()
    else:
        _attempts.pop(name, None)


# -- running a learner's function -------------------------------------------------------
def run_limited(fn, args: tuple, seconds: float = TIME_LIMIT):
    """Call fn(*args) under a time limit: ('ok', value), ('raised', exception) or ('timeout', None).

    On the main thread (a notebook cell, a test) a SIGALRM timer interrupts the call; elsewhere
    (or without SIGALRM) it runs in a thread that is sent OutOfTime when the time is up.
    """
    def quiet_call():
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args)

    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        return _run_with_alarm(quiet_call, seconds)
    return _run_in_thread(quiet_call, seconds)


def _outcome(call):
    """Run call(): ('ok', value), ('raised', error) or ('timeout', None)."""
    try:
        return "ok", call()
    except OutOfTime:
        return "timeout", None
    except BaseException as err:  # noqa: BLE001 - the learner's error, reported as a hint
        if isinstance(err, KeyboardInterrupt):   # the learner pressed stop: stop
            raise
        return "raised", err


def _run_with_alarm(call, seconds: float):
    """run_limited on the main thread: a SIGALRM timer, the caller's own timer given back."""
    armed = [True]

    def on_alarm(_signum, _frame):
        if armed[0]:
            raise OutOfTime()

    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    old_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        try:
            return _outcome(call)
        finally:
            armed[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    except OutOfTime:  # the alarm rang between the return and the disarm: the call used its time
        return "timeout", None
    finally:
        signal.signal(signal.SIGALRM, old_handler)
        if old_timer[0] > 0:  # someone else's timer was running: give it back what is left
            left = max(old_timer[0] - (time.monotonic() - start), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, old_timer[1])


def _run_in_thread(call, seconds: float):
    """run_limited anywhere else: a daemon thread, sent OutOfTime when the time is up."""
    box = {}

    def target():
        try:
            box["out"] = _outcome(call)
        except OutOfTime:  # arrived just after the call returned
            pass

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():  # interrupt a Python loop; a call stuck in C finishes on its own, ignored
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(OutOfTime))
        thread.join(0.2)
        return "timeout", None
    return box.get("out", ("timeout", None))


# -- comparing ------------------------------------------------------------------------------
def changed_input(before, after, path: str) -> str | None:
    """The first place (like "params['W_hh']") where `after` differs from `before`, or None."""
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or before.shape != after.shape:
            return path
        try:
            same = np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
        except TypeError:
            same = np.array_equal(before, after)
        return None if same else path
    if isinstance(before, dict):
        if not isinstance(after, dict) or before.keys() != after.keys():
            return path
        for key in before:
            where = changed_input(before[key], after[key], f"{path}[{key!r}]")
            if where:
                return where
        return None
    if isinstance(before, (list, tuple)):
        if type(before) is not type(after) or len(before) != len(after):
            return path
        for i, (b, a) in enumerate(zip(before, after)):
            where = changed_input(b, a, f"{path}[{i}]")
            if where:
                return where
        return None
    if isinstance(before, (int, float, complex, str, bytes, np.generic, type(None))):
        try:
            same = before == after or (before != before and after != after)
        except Exception:  # noqa: BLE001
            same = False
        return None if same else path
    return None  # functions and other objects are not compared


def as_numbers(value, what: str) -> np.ndarray:
    """value as a float array, or ValueError with a sentence saying what it is instead."""
    if value is None:
        raise ValueError(f"{what} is None: did you forget `return`?")
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{what} is a string ({str(value)[:30]!r}), not numbers")
    if isinstance(value, dict):
        raise ValueError(f"{what} is a dict, not an array of numbers")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.asarray(value, dtype=float)
    except Exception:  # noqa: BLE001 - ragged lists, objects, tensors that need grad...
        raise ValueError(f"{what} ({type(value).__name__}) could not be read as an array of numbers") from None
    return arr


def _shape_problem(got: np.ndarray, want: np.ndarray, what: str) -> str:
    """What is wrong with got's shape, in words (expected and actual, and a guess why)."""
    if want.ndim == 0:
        return f"{what} should be one number, got an array of shape {got.shape}"
    if got.ndim == want.ndim == 1:
        return f"{what} has {got.size} values, expected {want.size}"
    text = f"{what} has shape {got.shape}, expected {want.shape}"
    if got.ndim == 2 and got.T.shape == want.shape:
        text += " (transposed? rows are examples)"
    elif got.size == want.size:
        text += " (the right number of values, arranged differently)"
    return text


def _outputs(got, want, names):
    """Pair the learner's outputs with the reference's: [(name, got, want)], or ValueError."""
    if isinstance(want, tuple):
        wanted = "(" + ", ".join(names) + ")"
        if got is None:
            raise ValueError(f"it returned None: did you forget `return {', '.join(names)}`?")
        if not isinstance(got, (tuple, list)) or isinstance(got, str):
            raise ValueError(f"it returned one {type(got).__name__}; return a tuple of {len(want)}: {wanted}")
        if len(got) != len(want):
            raise ValueError(f"it returned {len(got)} values; return exactly {len(want)}: {wanted}")
        return list(zip(names, got, want))
    if isinstance(got, tuple):
        raise ValueError(f"it returned a tuple of {len(got)} values; return one array")
    return [("the result", got, want)]


def _differs(got: np.ndarray, want: np.ndarray, atol: float) -> bool:
    """True unless got has want's shape and values (within atol)."""
    return got.shape != want.shape or not np.allclose(got, want, atol=atol, rtol=1e-5, equal_nan=False)


def _problem(got, want, names, atol: float, overflow: bool) -> str:
    """'' if got matches want, else what is wrong with it (one sentence)."""
    pairs = _outputs(got, want, names)
    arrays = []
    for what, g, w in pairs:
        g, w = as_numbers(g, what), np.asarray(w, dtype=float)
        if g.shape != w.shape:
            if len(pairs) == 1 and not g.shape and w.shape:
                return f"it returned a single number; expected an array of shape {w.shape}"
            return _shape_problem(g, w, what)
        arrays.append((what, g, w))
    if len(arrays) == 2 and all(_differs(g, w, atol) for _, g, w in arrays):
        (n1, g1, w1), (n2, g2, w2) = arrays
        if g1.shape == w2.shape and g2.shape == w1.shape and not _differs(g1, w2, atol) and not _differs(g2, w1, atol):
            return f"its outputs are swapped: return ({n1}, {n2}), in that order"
    for what, g, w in arrays:
        if not np.all(np.isfinite(g)) and np.all(np.isfinite(w)):
            text = f"{what} has NaN or inf where the answer is finite"
            if overflow:
                text += (": an overflow? np.exp(1000) is inf; subtract the largest score first "
                         "(it does not change the softmax)")
            return text
        if _differs(g, w, atol):
            err = float(np.max(np.abs(np.nan_to_num(g - w, nan=np.inf))))
            return f"{what} is off by up to {err:.3g}" if len(arrays) > 1 else f"off by up to {err:.3g}"
    return ""


def _matches(got, want, names, atol: float) -> bool:
    """True if got is an acceptable answer where want is right."""
    try:
        return not _problem(got, want, names, atol, False)
    except Exception:  # noqa: BLE001
        return False


def _error_line(err: BaseException) -> str:
    """'ValueError: ...', the last line of an error, short."""
    return traceback.format_exception_only(type(err), err)[-1].strip()[:160]


# -- the check -----------------------------------------------------------------------------
def compare(student, reference, cases, hints, name: str = "your function", mistakes=(),
            outputs: tuple = ("the result",), atol: float = 1e-6, overflow: bool = False,
            explain=None, time_limit: float | None = None) -> Verdict:
    """Run student and reference on every case; pass if all agree within atol. Never raises.

    cases: tuples of arguments or Case objects. hints: (nudge, formula, answer), shown one
    step further at each wrong attempt. mistakes: Mistake objects, known wrong versions.
    outputs: names of the outputs when the reference returns a tuple. overflow: NaN/inf hints
    mention subtracting the max. explain(got, want, args) -> a diagnosis or None, for the
    mistakes a known wrong version cannot express.
    """
    if student is None:
        return Verdict(False, f"{name} is still None: write it in the cell above, then run this cell.")
    if not callable(student):
        return Verdict(False, f"pass the function itself, {name}, not a {type(student).__name__} "
                              f"(no parentheses after its name).")
    try:
        cases = [c if isinstance(c, Case) else Case(tuple(c)) for c in cases]
        wants = [reference(*copy.deepcopy(c.args)) for c in cases]   # the answers, before the learner runs
    except Exception as err:  # noqa: BLE001 - a bug in the checker itself, still not a traceback
        return Verdict(False, f"the check itself failed ({_error_line(err)}); please report it.")
    limit = TIME_LIMIT if time_limit is None else time_limit
    for i, (case, want) in enumerate(zip(cases, wants)):
        mine, pristine = copy.deepcopy(case.args), copy.deepcopy(case.args)
        status, got = run_limited(student, mine, limit)
        where = f"test case {i + 1} of {len(cases)}"
        if status == "raised" and isinstance(got, NotImplementedError):
            return Verdict(False, f"{name} raises NotImplementedError: replace that line with your code.")
        if status == "timeout":
            problem = (f"{name} ran longer than {limit:g} s on a tiny input: a loop that never ends? "
                       f"Check what makes each loop stop")
        elif status == "raised" and isinstance(got, Stop):
            problem = str(got)
        elif status == "raised":
            problem = f"{name} raised {_error_line(got)}"
        else:
            changed = changed_input(pristine, mine, "")
            if changed is not None:
                problem = (f"{name} changed its input {_argument(reference, changed)} in place; leave the "
                           f"inputs as they are and build new arrays (x = x + 1, not x += 1)")
            else:
                try:
                    problem = _problem(got, want, outputs, atol, overflow)
                except ValueError as err:
                    problem = str(err)
                if problem:
                    problem = _sentence(problem) + " " + _diagnosis(got, want, case, mistakes, outputs, atol, explain)
        if problem:
            return _not_yet(name, _sentence(f"{where}: {problem.strip()}"), case.note, hints)
    _attempts[name] = 0
    return Verdict(True, f"{name} matches the reference on all {len(cases)} test cases.")


def _argument(reference, path: str) -> str:
    """'[0]['W_hh']' -> "params['W_hh']", naming the argument as the reference does."""
    import inspect

    try:
        index, rest = int(path[1:path.index("]")]), path[path.index("]") + 1:]
        names = list(inspect.signature(reference).parameters)
        return f"`{names[index]}{rest}`" if index < len(names) else f"number {index + 1}"
    except (ValueError, TypeError):
        return "arguments"


def _diagnosis(got, want, case: Case, mistakes, outputs, atol, explain) -> str:
    """A sentence naming the mistake got shows (explain's, or a known wrong version's), or ''."""
    if explain is not None:
        try:
            said = explain(got, want, copy.deepcopy(case.args))
        except Exception:  # noqa: BLE001
            said = None
        if said:
            return _sentence(said)
    for m in mistakes:
        try:
            wrong = m.wrong(*copy.deepcopy(case.args))
        except Exception:  # noqa: BLE001 - a known mistake that does not even run on this case
            continue
        if _matches(wrong, want, outputs, atol):
            continue                       # this case cannot tell the mistake apart
        if _matches(got, wrong, outputs, atol):
            return _sentence(f"It looks like this: {m.says}")
    return ""


def _sentence(text: str) -> str:
    """text with a full stop at the end (unless it ends in one, or in ? or !)."""
    text = text.strip()
    return text if not text or text[-1] in ".?!" else text + "."


def _not_yet(name: str, problem: str, note: str, hints) -> Verdict:
    """Count a wrong attempt and answer with the problem, the case's note and the hint of this step."""
    n = _attempts[name] = _attempts.get(name, 0) + 1
    k = min(n, len(hints))
    step = f"Hint {k} of {len(hints)}" + (" (the answer)" if k == len(hints) > 1 else "")
    return Verdict(False, " ".join(p for p in (problem, note, f"{step}: {hints[k - 1]}") if p))
