"""helpers.markov_widget: notebook 04's unrolled graph with the state as the only path from the past."""
import numpy as np
import pytest

from helpers import gates, markov_widget, memory


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_continuing_from_s_k_changes_nothing(kind):
    p = markov_widget.cell_params(kind)
    whole = markov_widget.compute("badcabdd", kind, p, 0)
    assert whole["states"].shape == (9, markov_widget.H) and whole["diff"] == 0.0
    np.testing.assert_array_equal(whole["states"][1:], gates.run(kind, p, memory.encode("badcabdd"))["h"][0])
    for k in range(1, 8):
        r = markov_widget.compute("badcabdd", kind, p, k)
        assert r["diff"] == 0.0
        np.testing.assert_array_equal(r["states"], whole["states"])


def test_clean_answers_bad_input():
    assert markov_widget.clean(" B a d ") == "bad"
    for bad, words in (("", "type"), ("abx", "'x'"), ("a" * 9, "at most"), ("ab?", "'?'"), (None, "unknown character")):
        with pytest.raises(markov_widget.InputError, match=words):
            markov_widget.clean(bad)


def test_try_this_steps_and_the_cut():
    w = markov_widget.demo()
    assert w.formula.get_text() == memory.unrolled_formula(4) and "only through s_3" in w.title.get_text()
    for t in range(1, 7):                                 # the path into s_t comes from s_(t-1) only
        w.controls["t"].value = t
        roles = w.view.roles()
        assert roles[f"s{t}"] == "now" and (t == 1 or roles[f"s{t - 1}"] == "done")
        assert all(roles[f"s{i}"] == "later" for i in range(t + 1, 7))
    assert w.formula.get_text().startswith("s_6 = f(f(f(f(f(f(s_0")
    w.controls["k"].value = 3
    assert "x_1..x_3 thrown away" in w.title.get_text() and "difference from the whole run 0" in w.title.get_text()
    assert {"x1", "x2", "x3", "s0", "s1", "s2"} <= w.view.hidden and "s3" not in w.view.hidden
    assert w.formula.get_text() == memory.unrolled_formula(6, start=3)
    w.controls["cell"].value = "GRU"
    assert "difference from the whole run 0" in w.title.get_text()
    assert w.message.value == ""


def test_try_this_the_first_letter_reaches_step_6():
    p = markov_widget.cell_params("rnn")
    a = markov_widget.compute("badcab", "rnn", p, 0)["states"]
    b = markov_widget.compute("dadcab", "rnn", p, 0)["states"]
    assert np.max(np.abs(a[6] - b[6])) > 1e-3
    w = markov_widget.demo()
    w.controls["t"].value = 6
    before = w.image.value
    w.controls["text"].value = "dadcab"
    assert w.image.value != before and w.message.value == ""


def test_widget_answers_every_bad_input_with_a_message():
    w = markov_widget.demo()
    for bad in ("", "hello", "abcdabcda"):
        w.controls["text"].value = bad
        assert w.message.value != "", bad
    w.controls["text"].value = "ab"
    w.controls["t"].value = 6
    assert "2 steps" in w.message.value
    w.controls["t"].value = 2
    w.controls["k"].value = 5
    assert "keeps nothing" in w.message.value
    w.controls["k"].value = 1
    w.controls["t"].value = 1
    assert "before the cut" in w.title.get_text()


def test_any_control_value_gets_a_message_never_a_traceback():
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    w = markov_widget.demo()
    values = {"text": st.text(max_size=12), "cell": st.sampled_from(list(markov_widget.CELLS) + [None]),
              "t": st.integers(-10**6, 10**6), "k": st.integers(-10**6, 10**6)}

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(list(values)), st.data())
    def one_change(name, data):
        try:
            w.controls[name].value = data.draw(values[name])
        except Exception:  # noqa: BLE001 - refused by the control itself (a trait error)
            return
        assert w.errors == [] and len(w.message.value) < 600

    one_change()
