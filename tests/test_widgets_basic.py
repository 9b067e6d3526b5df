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
    assert img.size == (5, 7) and img.mode == "RGB"
    assert np.array_equal(np.asarray(img), rgba[:, :, :3])
