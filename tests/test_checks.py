"""Every exercise checker: passes the course's own answer, rejects every kind of wrong answer
without raising or hanging, and hints in steps (helpers.checks)."""
import threading
import time

import numpy as np
import pytest

from helpers import bidirectional as bd
from helpers import captioning, checks, decoding, gates, onestep, padding, rnn
from helpers import charmodel as cm
from helpers import seq2seq as s2s


@pytest.fixture(autouse=True)
def fresh_hints():
    """Each test starts (and leaves the next file) with the hints at step 1."""
    checks.reset_hints()
    yield
    checks.reset_hints()


def _forever_step(step, state, bos, eos, max_len):          # never stops (no eos, no max_len, no step)
    token = bos
    while token != eos:
        token = bos
    return [], 0.0


def _greedy_ignores_max_len(step, state, bos, eos, max_len):
    tokens, score, token = [], 0.0, bos
    while True:
        log_probs, state = step(state, token)
        token = int(np.argmax(log_probs))
        score += float(log_probs[token])
        if token == eos:
            return tokens, score
        tokens.append(token)


def _rows_loop_forgets_increment(out, lengths):
    rows, b = [], 0
    while b < len(lengths):
        rows.append(out[b, lengths[b] - 1])
    return np.array(rows)


def _mean_loop_forgets_increment(losses, lengths):
    total, count, b = 0.0, 0, 0
    while b < len(lengths):
        total, count = total + losses[b, :lengths[b]].sum(), count + lengths[b]
    return total / count


def _softmax_loop(o):
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    s = e.sum(axis=-1, keepdims=True)
    while np.any(s != 1):                                    # "renormalise until it sums to 1": never
        s = s + 0.0
    return e / s


def _lstm_zeroes_W_hh(p, x, h, c):                          # changes params and ignores h
    p["W_hh"][:] = 0
    return gates._lstm_reference(p, x, np.zeros_like(h), c)


def _rnn_zeroes_W_hh(p, h, x):
    p["W_hh"][:] = 0
    return np.tanh(x @ p["W_xh"].T + p["b_h"])


def _recurse(*args):
    return _recurse(*args)


def _loop(*_):
    while True:
        pass


# checker: (the course's answer, a subtly wrong formula, a wrong version with a loop that never ends)
CHECKERS = {
    "softmax": (onestep.check_softmax, onestep.softmax,
                lambda o: np.exp(o) / np.exp(o).sum(axis=-1, keepdims=True), _softmax_loop),
    "tanh_backward": (onestep.check_tanh_backward, lambda h, dh: dh * (1 - h**2),
                      lambda h, dh: dh * (1 - h), _loop),
    "rnn_step": (rnn.check_rnn_step, rnn.rnn_step,
                 lambda p, h, x: np.tanh(x @ p["W_xh"].T + h @ p["W_hh"] + p["b_h"]), _loop),
    "step_back": (rnn.check_step_back, rnn.step_back, lambda W, h, dh: (dh * (1 - h**2)) @ W.T, _loop),
    "lstm_step": (gates.check_lstm_step, gates._lstm_reference, gates._lstm_variant("figo"), _loop),
    "next_char_probs": (cm.check_next_char_probs, cm.next_char_probs,
                        lambda o, t=1.0, k=None: cm.next_char_probs(o, t, None), _loop),
    "greedy": (captioning.check_greedy, decoding.greedy,
               lambda step, state, bos, eos, max_len: decoding.greedy(step, state, bos, eos, max_len - 1),
               _greedy_ignores_max_len),
    "attention_weights": (s2s.check_attention_weights, s2s.attention_weights,
                          lambda s, enc, W, m: s2s.attention_weights(s, enc, W.T, m), _loop),
    "cloze_features": (bd.check_cloze_features, bd.cloze_features,
                       lambda h, g: np.concatenate([h[:, 1:-1], g[:, 1:-1]], -1), _loop),
    "last_states": (padding.check_last_states, padding.last_states,
                    lambda out, lengths: out[:, -1], _rows_loop_forgets_increment),
    "masked_mean": (padding.check_masked_mean, padding.masked_mean,
                    lambda losses, lengths: float(losses.mean()), _mean_loop_forgets_increment),
}


def _first_array(x):
    if isinstance(x, np.ndarray):
        return x
    for v in (x.values() if isinstance(x, dict) else x if isinstance(x, (list, tuple)) else ()):
        found = _first_array(v)
        if found is not None:
            return found
    return None


def _wrong_answers(right, subtle, loop):
    """Every kind of wrong answer, built around the right one."""
    def wrong_length(*a):
        out = right(*a)
        return out + (0.0,) if isinstance(out, tuple) else (out, out, out)

    def mutates(*a):                                        # the right answer, but an input changed
        out = right(*a)
        _first_array(a)[...] += 1.0
        return out

    def raises(*a):
        return 1 / 0

    return {"string": lambda *a: "the answer", "None": lambda *a: None, "wrong-length tuple": wrong_length,
            "raises": raises, "mutates its input": mutates, "subtle formula": subtle, "endless loop": loop,
            "NaN": lambda *a: np.full(np.shape(right(*a)), np.nan), "a dict": lambda *a: {"h": 1}}


@pytest.mark.parametrize("name", list(CHECKERS))
def test_the_course_answer_passes(name):
    check, right, _, _ = CHECKERS[name]
    verdict = check(right)
    assert isinstance(verdict, checks.Verdict) and verdict, verdict.message


@pytest.mark.parametrize("name", list(CHECKERS))
def test_every_kind_of_wrong_answer_is_rejected_fast_and_quietly(name):
    check, right, subtle, loop = CHECKERS[name]
    for kind, wrong in _wrong_answers(right, subtle, loop).items():
        start = time.perf_counter()
        verdict = check(wrong)                               # raises nothing
        seconds = time.perf_counter() - start
        assert isinstance(verdict, checks.Verdict) and not verdict, f"{name} accepted a {kind} answer"
        assert "Hint" in verdict.message or "NotImplementedError" in verdict.message, (kind, verdict.message)
        assert seconds < 2.0, f"{name} took {seconds:.1f} s on a {kind} answer"
    assert not check(None) and "None" in check(None).message
    assert not check(42) and "function itself" in check(42).message
    assert "SystemExit" in check(lambda *a: exit()).message
    assert "RecursionError" in check(_recurse).message
    stub = check(lambda *a: (_ for _ in ()).throw(NotImplementedError))
    assert not stub and "NotImplementedError" in stub.message


@pytest.mark.parametrize("name", ["rnn_step", "lstm_step"])
def test_a_function_that_zeroes_W_hh_and_ignores_h_is_caught(name):
    check, wrong = {"rnn_step": (rnn.check_rnn_step, _rnn_zeroes_W_hh),
                    "lstm_step": (gates.check_lstm_step, _lstm_zeroes_W_hh)}[name]
    verdict = check(wrong)
    assert not verdict and "changed its input" in verdict.message and "['W_hh']" in verdict.message


def test_the_helpers_own_lstm_step_gets_a_hint_not_a_traceback():
    verdict = gates.check_lstm_step(gates.lstm_step)        # returns (h, c, gates): one value too many
    assert not verdict and "returned 3 values" in verdict.message and "(h_new, c_new)" in verdict.message


def test_hints_come_in_steps_and_restart_after_a_pass():
    wrong = lambda out, lengths: out[:, -1]                   # noqa: E731
    first, second, third, fourth = (padding.check_last_states(wrong) for _ in range(4))
    assert "Hint 1 of 3:" in first.message and "lengths[b] - 1" in first.message
    assert "np.arange" not in first.message                    # a nudge: no code yet
    assert "Hint 2 of 3:" in second.message and "out[np.arange(B), lengths - 1]" in second.message
    assert "return" not in second.message                      # the formula, not yet the answer
    assert "Hint 3 of 3 (the answer):" in third.message and "return out[" in third.message
    assert "Hint 3 of 3" in fourth.message
    assert "PAD" in first.message and "PAD" in third.message   # the diagnosis comes at every step
    assert padding.check_last_states(padding.last_states)
    assert "Hint 1 of 3" in padding.check_last_states(wrong).message
    assert "Hint 1 of 3" in padding.check_masked_mean(lambda l, L: 0.0).message   # counted per checker


def test_common_mistakes_get_their_own_diagnosis():
    naive = onestep.check_softmax(lambda o: np.exp(o) / np.exp(o).sum(axis=-1, keepdims=True))
    assert "NaN or inf" in naive.message and "subtract the largest score" in naive.message

    def c_h(p, x, h, c):
        h_new, c_new = gates._lstm_reference(p, x, h, c)
        return c_new, h_new
    assert "swapped: return (h_new, c_new)" in gates.check_lstm_step(c_h).message

    def keeps_eos(step, state, bos, eos, max_len):
        tokens, score = decoding.greedy(step, state, bos, eos, max_len)
        return tokens + [eos], score
    assert "keeps <eos>" in captioning.check_greedy(keeps_eos).message
    one_more = captioning.check_greedy(lambda st, s, b, e, m: decoding.greedy(st, s, b, e, m + 1))
    assert "more than max_len = 3 times" in one_more.message
    short = captioning.check_greedy(lambda st, s, b, e, m: decoding.greedy(st, s, b, e, m - 1))
    assert not short and "test case 4 of 7" in short.message    # <eos> comes exactly at step max_len there
    assert "misses a step" in short.message
    assert "longer than 1 s" in captioning.check_greedy(_forever_step).message   # a loop that never calls step
    assert "W_hh.T where W_hh is needed" in rnn.check_step_back(CHECKERS["step_back"][2]).message
    assert "uses W_hh where W_hh.T is needed" in rnn.check_rnn_step(CHECKERS["rnn_step"][2]).message
    assert "W_a.T where W_a is needed" in s2s.check_attention_weights(CHECKERS["attention_weights"][2]).message
    transposed = onestep.check_softmax(lambda o: onestep.softmax(o).T)
    assert "shape (5, 4), expected (4, 5)" in transposed.message and "transposed" in transposed.message
    assert "ignores h_prev" in rnn.check_rnn_step(lambda p, h, x: np.tanh(x @ p["W_xh"].T + p["b_h"])).message


def test_most_greedy_cases_reach_eos():
    reached = 0
    for seed, max_len in captioning._GREEDY_CASES:
        step, h0 = captioning._random_decoder(seed)
        tokens, _ = decoding.greedy(step, h0, 0, 1, max_len)
        reached += len(tokens) < max_len
    assert reached >= len(captioning._GREEDY_CASES) - 2


def test_the_time_limit_works_off_the_main_thread_too():
    box = {}

    def run():
        start = time.perf_counter()
        box["status"], _ = checks.run_limited(_loop, (), 0.3)
        box["seconds"] = time.perf_counter() - start
        box["ok"] = checks.run_limited(lambda a: a + 1, (1,), 0.3)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(5)
    assert box["status"] == "timeout" and box["seconds"] < 1.5 and box["ok"] == ("ok", 2)


def test_an_outer_timer_survives_a_check():
    import signal

    fired = []
    old = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 1.5)
        assert checks.run_limited(_loop, (), 0.2)[0] == "timeout"
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 1.5     # given back, minus the time used
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_a_check_stops_an_endless_loop_inside_a_jupyter_kernel():
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        code = ("from helpers import onestep\n"
                "def my_softmax(o):\n    while True:\n        pass\n"
                "v = onestep.check_softmax(my_softmax)\nprint(bool(v), 'longer than' in v.message)")
        out = []
        kc.execute_interactive(code, timeout=30,
                               output_hook=lambda m: out.append(m["content"].get("text", "")))
        assert "False True" in "".join(out)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
