"""Notebook 00: the smallest RNN there is, one unit, h_t = tanh(w h_{t-1} + u x_t).

w is the 1 x 1 W_hh and u the 1 x 1 W_xh of the larger networks; there is no bias.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from .live import InputError, LiveFigure, new_figure

T = 20
INPUTS = {
    "one pulse at t=1": lambda T: np.eye(T)[0],
    "constant 1": lambda T: np.ones(T),
    "pulse at t=1 and t=10": lambda T: np.eye(T)[0] + np.eye(T)[9],
    "alternating +1/-1": lambda T: np.where(np.arange(T) % 2 == 0, 1.0, -1.0),
}


def run(w: float, u: float, x: np.ndarray, h0: float = 0.0) -> np.ndarray:
    """States h_1..h_T of the 1-unit RNN for inputs x (T,)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"x must have shape (T,), got {x.shape}")
    h, hs = h0, np.empty(len(x))
    for t, x_t in enumerate(x):
        h = np.tanh(w * h + u * x_t)
        hs[t] = h
    return hs


def fixed_point(w: float, h: float = 1.0, steps: int = 1000) -> float:
    """Where the state settles without input: repeat h = tanh(w h) from h until it stops moving."""
    for _ in range(steps):
        h = np.tanh(w * h)
    return float(h)


def understanding() -> dict:
    """Notebook 00's closing questions, with answers computed by the code above."""
    from .quiz import Choice, Number

    pulse = INPUTS["one pulse at t=1"](T)
    h4 = run(-0.9, 1.0, pulse)[3]
    return {
        "fixed point, w = 1.5": Number(fixed_point(1.5), 0.02, [
            "After the pulse there is no input, so each step is h = tanh(1.5 h): the state stops where both "
            "sides are equal.",
            "Try h = 0.8 and h = 0.9: is tanh(1.5 h) above or below h? The answer lies between them."]),
        "h_3, w = 0.5, u = 1, one pulse": Number(run(0.5, 1.0, pulse)[2], 0.01, [
            "Step by step from h_0 = 0: h_1 = tanh(0.5 * 0 + 1 * 1); after that x_t = 0.",
            "h_2 = tanh(0.5 * h_1), h_3 = tanh(0.5 * h_2)."]),
        "sign of h_4, w = -0.9, one pulse": Choice("negative" if h4 < 0 else "positive",
                                                   ["positive", "negative", "zero"], [
            "h_1 = tanh(1) is positive; each later step multiplies by -0.9 before the tanh.",
            "tanh keeps the sign: count the sign flips from h_1 to h_4."]),
    }


class TinyRNNWidget(LiveFigure):
    """Sliders for w and u, a choice of input; the inputs x_t and states h_t over 20 steps."""

    def __init__(self, w: float = 0.9, u: float = 1.0):
        super().__init__()
        self.fig = new_figure(7.0, 3.2)
        ax_x, ax_h = self.fig.subplots(2, 1, sharex=True, height_ratios=[1, 2])
        self.fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.14, hspace=0.1)
        t = np.arange(1, T + 1)
        self.x_bars = ax_x.bar(t, np.zeros(T), color="#9ca3af")
        ax_x.set(ylim=(-1.2, 2.2), ylabel="x_t")
        (self.h_line,) = ax_h.plot(t, np.zeros(T), "o-", color="#2563eb")
        ax_h.axhline(0, color="k", lw=0.5)
        ax_h.set(ylim=(-1.05, 1.05), xlabel="step t", ylabel="h_t", xticks=t)
        self.title = ax_x.set_title("")
        self.animate(*self.x_bars, self.h_line, self.title)
        self.controls = {
            "w": widgets.FloatSlider(value=w, min=-2, max=2, step=0.05, description="w = W_hh"),
            "u": widgets.FloatSlider(value=u, min=-2, max=2, step=0.05, description="u = W_xh"),
            "input": widgets.Dropdown(options=list(INPUTS), value="one pulse at t=1", description="input"),
        }
        self.connect()
        self.update()

    def refresh(self) -> None:
        """Recompute h_t from the controls and move the bars and the line."""
        c = self.controls
        if c["input"].value not in INPUTS:
            raise InputError(f"choose an input from the list, not {c['input'].value!r}")
        x = INPUTS[c["input"].value](T)
        hs = run(c["w"].value, c["u"].value, x)
        for bar, v in zip(self.x_bars, x):
            bar.set_height(v)
        self.h_line.set_ydata(hs)
        self.title.set_text(f"h_t = tanh({c['w'].value:+.2f}·h_(t-1) {c['u'].value:+.2f}·x_t)    "
                            f"h_20 = {hs[-1]:+.3f}")


def demo() -> TinyRNNWidget:
    """The widget as notebook 00 shows it (for the benchmark)."""
    return TinyRNNWidget()
