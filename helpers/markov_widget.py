"""Notebook 04's Markovization widget: the unrolled graph s_0 -> s_1 -> ... -> s_T over letters you type.

The state is the only path from the past: throw away x_1..x_k, continue from s_k alone, and
every later state is the same, bit for bit. Steps are counted from 1; s_0 is the start.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from . import gates, memory, unrolled
from .live import InputError, LiveFigure, new_figure

T_MAX = 8
PRESETS = ["badcab", "abcdabcd", "ddcb"]
CELLS = {"plain tanh RNN": "rnn", "GRU": "gru"}
H = 8


def clean(text) -> str:
    """Lower-case letters a-d, spaces removed; InputError for empty, too long or other characters."""
    s = "".join(str(text).lower().split())
    if not s:
        raise InputError(f"type 1 to {T_MAX} letters from {', '.join(memory.LETTERS)}, e.g. 'badcab'")
    if len(s) > T_MAX:
        raise InputError(f"at most {T_MAX} letters, got {len(s)}: shorten the sequence")
    bad = sorted({ch for ch in s if ch not in memory.LETTERS})
    if bad:
        raise InputError(f"unknown character {bad[0]!r}: use only the letters {', '.join(memory.LETTERS)}")
    return s


def cell_params(kind: str) -> dict:
    """The random weights the widget runs (seed 0), for a plain tanh RNN ('rnn') or a GRU ('gru')."""
    return gates.init_params(kind, len(memory.SYMBOLS), H, seed=0)


def compute(text: str, kind: str, p: dict, k: int) -> dict:
    """States s_0..s_T of the whole run; with k > 0, s_(k+1).. recomputed from s_k alone.

    Returns states (T+1, H) (the resumed ones after k) and the largest difference between the
    resumed and the whole run over steps k+1..T (0.0 when k = 0 or k >= T).
    """
    X = memory.encode(text)                               # (1, T, 5)
    T = X.shape[1]
    whole = np.vstack([np.zeros((1, H)), gates.run(kind, p, X)["h"][0]])   # (T+1, H): s_0..s_T
    states, diff = whole.copy(), 0.0
    if 0 < k < T:
        resumed = gates.run(kind, p, X[:, k:], state=whole[k][None])["h"][0]   # only s_k and x_(k+1)..x_T
        diff = float(np.max(np.abs(resumed - whole[k + 1:])))
        states[k + 1:] = resumed
    return {"states": states, "diff": diff, "T": T}


class MarkovWidget(LiveFigure):
    """Type letters, pick a cell, scrub t; cut the past at k and watch the future not change."""

    def __init__(self, text: str = PRESETS[0]):
        super().__init__()
        self.params = {kind: cell_params(kind) for kind in CELLS.values()}
        self.fig = new_figure(10.0, 3.4, dpi=72)
        self.view = unrolled.GraphView(self.fig.add_axes((0.01, 0.02, 0.98, 0.72)),
                                       unrolled.rnn_spec(T_MAX, outputs=False, state="s"))
        self.formula = self.fig.text(0.5, 0.93, "", ha="center", fontsize=12, color="#111827")
        self.title = self.fig.text(0.5, 0.83, "", ha="center", fontsize=10.5, color="#1e3a8a")
        self.add_layer(*self.view.static_artists, *self.view.label_artists)   # a pan redraws this layer only
        self.animate(*self.view.step_artists)
        self.cache_text(self.formula, self.title)
        self.shown_text, self.layer_key = None, None
        self.controls = {
            "text": widgets.Combobox(value=text, options=PRESETS, ensure_option=False, description="letters",
                                     placeholder="e.g. badcab", layout=widgets.Layout(width="260px")),
            "cell": widgets.Dropdown(options=list(CELLS), value="plain tanh RNN", description="cell"),
            "t": widgets.IntSlider(value=4, min=1, max=T_MAX, description="step t"),
            "k": widgets.IntSlider(value=0, min=0, max=T_MAX - 1, description="keep only s_k, k ="),
        }
        self.connect()
        self.update()

    def refresh(self) -> None:
        """Read the controls, run the cell (and its resumed copy), colour the graph, light the path into t."""
        c = self.controls
        text = clean(c["text"].value)
        kind = CELLS[c["cell"].value]
        r = compute(text, kind, self.params[kind], int(c["k"].value))
        T, t, k = r["T"], int(c["t"].value), int(c["k"].value)
        if text != self.shown_text:
            self.view.set_labels({f"x{i}": ch for i, ch in enumerate(text, 1)})
            self.view.set_length(T)
            self.shown_text = text
        if t > T:
            self.say(f"the sequence has {T} steps: showing step {T}")
            t = T
        if k >= T:
            self.say(f"k = {k} keeps nothing to continue from: the sequence has {T} steps")
            k = 0
        if (text, k) != self.layer_key:                  # the labels and the cut change rarely: cached
            self.view.set_hidden([f"x{i}" for i in range(1, k + 1)] + [f"s{i}" for i in range(k)])
            self.refresh_layer()
            self.layer_key = (text, k)
        self.view.set_values({f"s{i}": r["states"][i] for i in range(k, t + 1)}, clear=True)
        if self.view.set_step(t):
            self.refresh_layer()
        self.formula.set_text(memory.unrolled_formula(t, start=min(k, t)))
        if k == 0 and t == 1:
            self.title.set_text("step 1 reads the start s_0 and x_1: nothing came before")
        elif k == 0:
            self.title.set_text(f"everything {_inputs(t - 1)} did reaches step {t} only through s_{t - 1}")
        elif k >= t:
            self.title.set_text(f"step {t} comes before the cut at s_{k}: move t past {k}")
        else:
            self.title.set_text(f"{_inputs(k)} thrown away, continued from s_{k} alone: "
                                f"largest difference from the whole run {r['diff']:.1g}")


def _inputs(n: int) -> str:
    """'x_1' or 'x_1..x_n'."""
    return "x_1" if n == 1 else f"x_1..x_{n}"


def demo() -> MarkovWidget:
    """The widget as notebook 04 first shows it (for the benchmark)."""
    return MarkovWidget()
