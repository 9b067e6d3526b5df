"""Widgets of notebooks 00 and 01, driven from Python: the update path, in place, and bad input."""
import numpy as np

from helpers import numbers, onestep, tiny
from helpers.onestep_widget import OneStepWidget, compute


def test_tiny_run_is_the_recurrence():
    x = np.array([1.0, 0.0, 0.0])
    hs = tiny.run(0.5, 2.0, x)
    assert hs[0] == np.tanh(2.0) and hs[1] == np.tanh(0.5 * hs[0]) and hs[2] == np.tanh(0.5 * hs[1])
    assert np.all(tiny.run(0.0, 1.0, np.eye(5)[0])[1:] == 0)  # w = 0: no memory


def test_tiny_widget_updates_in_place():
    w = tiny.TinyRNNWidget()
    fig, first = w.fig, w.image.value
    w.controls["w"].value = 1.5
    assert w.image.value != first and w.fig is fig
    assert np.allclose(w.h_line.get_ydata(), tiny.run(1.5, 1.0, np.eye(20)[0]))
    w.controls["input"].value = "constant 1"
    assert len(w.latencies_ms) == 3 and w.message.value == ""


def test_tiny_widget_slider_ends_are_fine():
    w = tiny.TinyRNNWidget()
    for v in (w.controls["w"].min, w.controls["w"].max):
        w.controls["w"].value = v
        assert w.message.value == "" and np.all(np.abs(w.h_line.get_ydata()) <= 1)


def _onestep_widget():
    vocab = numbers.build_vocab(999)
    return OneStepWidget(onestep.init_params(len(vocab), 8), vocab), vocab


def test_onestep_compute_is_the_forward_pass():
    vocab = numbers.build_vocab(999)
    params = onestep.init_params(len(vocab), 8)
    r = compute(params, 3, scale=1.0)
    assert np.allclose(r["y"], onestep.forward(params, np.eye(len(vocab))[[3]])["y"][0])
    assert r["x"][3] == 1 and r["x"].sum() == 1
    r0 = compute(params, 3, scale=0.0)
    assert np.allclose(r0["h1"], 0)  # zero weights, zero biases


def test_onestep_widget_redraws_for_a_new_word_and_temperature():
    w, vocab = _onestep_widget()
    before = w.image.value
    w.controls["word"].value = "hundred"
    assert w.image.value != before
    assert list(w.values["x"]).index(1.0) == vocab.index["hundred"]
    assert w.x_bars.get_segments()[vocab.index["hundred"]][1][0] == 1.0  # the drawn bar
    y_before = w.values["y"].copy()
    w.controls["tau"].value = 1.0
    assert not np.allclose(w.values["y"], y_before)
    assert np.allclose([s[1][0] for s in w.y_bars.get_segments()], w.values["y"])
    assert "hundred" in w.title.get_text()


def test_onestep_widget_answers_bad_input_with_a_message():
    w, _ = _onestep_widget()
    w.controls["word"].value = "eleventy"
    assert "not a word" in w.message.value
    w.controls["word"].value = ""
    assert "type or pick" in w.message.value
    w.controls["word"].value = "Three "
    assert w.message.value == ""
    w.controls["word"].value = "x" * 10000
    assert "not a word" in w.message.value and len(w.message.value) < 400


def test_fast_png_encoder_round_trips():
    import io

    from PIL import Image

    from helpers.live import encode_png

    rgba = np.random.default_rng(0).integers(0, 256, (7, 5, 4), dtype=np.uint8)
    img = Image.open(io.BytesIO(encode_png(rgba)))
    assert img.size == (5, 7) and img.mode == "RGBA"
    assert np.array_equal(np.asarray(img), rgba)


# -- notebook 00's "Try this" and closing questions ---------------------------------
def test_tiny_try_this_claims():
    pulse, alt = tiny.INPUTS["one pulse at t=1"](20), tiny.INPUTS["alternating +1/-1"](20)
    assert tiny.run(0.0, 1.0, pulse)[1] == 0                           # w = 0: h_2 = 0
    fast, slow = tiny.run(0.5, 1.0, pulse), tiny.run(0.9, 1.0, pulse)
    assert np.all(np.diff(slow) < 0) and np.all(fast[1:6] < slow[1:6])  # fades, faster for smaller w
    assert abs(tiny.run(1.5, 1.0, pulse)[-1] - 0.86) < 0.005           # settles near 0.86
    assert np.all(np.abs(np.diff(tiny.run(1.5, 1.0, pulse)[-10:])) < 1e-4)   # ... and stays there
    flips = np.sign(tiny.run(-0.9, 1.0, pulse)[:10])
    assert np.all(flips[1:] == -flips[:-1])                            # w = -0.9: sign flips every step
    weak, strong = tiny.run(1.5, 0.5, alt), tiny.run(1.5, 2.0, alt)
    assert np.all(weak > 0) and weak[-1] > 0.5                         # climbs, wobbles, never flips
    assert np.all(np.sign(strong[1:]) == -np.sign(strong[:-1]))        # u = 2 flips it every step


def test_tiny_widget_labels_say_which_weight_is_which():
    w = tiny.TinyRNNWidget()
    assert w.controls["w"].description == "w = W_hh" and w.controls["u"].description == "u = W_xh"


def test_00_understanding_right_and_wrong_answers():
    from helpers import quiz

    qs = tiny.understanding()
    right = {"fixed point, w = 1.5": 0.86, "h_3, w = 0.5, u = 1, one pulse": 0.18,
             "sign of h_4, w = -0.9, one pulse": "negative"}
    assert quiz.check(right, qs, name="t00")
    for key, wrong in (("fixed point, w = 1.5", 1.0), ("fixed point, w = 1.5", 0.0),
                       ("h_3, w = 0.5, u = 1, one pulse", 0.76), ("sign of h_4, w = -0.9, one pulse", "positive"),
                       ("sign of h_4, w = -0.9, one pulse", None), ("fixed point, w = 1.5", "x")):
        assert not quiz.check(dict(right, **{key: wrong}), qs, name="t00w")
    assert abs(tiny.fixed_point(1.5) - np.tanh(1.5 * tiny.fixed_point(1.5))) < 1e-9


def test_01_understanding_right_and_wrong_answers():
    from helpers import quiz

    qs = onestep.understanding(32)
    right = {"largest y at tau = 1": 0.19, "largest y at tau = 0.2": 0.999,
             "weight scale 0: does y depend on the word?": "no"}
    assert quiz.check(right, qs, name="t01")
    assert abs(qs["largest y at tau = 1"].value - np.e / (np.e + 31 / np.e)) < 1e-12
    for key, wrong in (("largest y at tau = 1", 1 / 32), ("largest y at tau = 0.2", 0.19),
                       ("weight scale 0: does y depend on the word?", "yes"), ("largest y at tau = 1", [0.19])):
        assert not quiz.check(dict(right, **{key: wrong}), qs, name="t01w")


def test_onestep_widget_labels_the_layer_h_superscript_1():
    w, _ = _onestep_widget()
    titles = [ax.get_title() for ax in w.fig.axes]
    assert "h⁽¹⁾ = tanh(W1 x + b1)" in titles and "o = tanh(W2 h⁽¹⁾ + b2)" in titles
