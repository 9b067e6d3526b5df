"""Notebook 01's widget: the one-step DAG x -> h^(1) -> o -> y drawn as bars, live (h1 in code)."""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from . import onestep
from .live import InputError, LiveFigure, bars, new_figure, set_bars


def compute(params: dict, word: int, scale: float = 1.0, tau: float = onestep.TAU) -> dict:
    """x, h1, o, y for one current word, with W1 and W2 multiplied by scale.  # (V,), (H,), (V,), (V,)"""
    V = params["W1"].shape[1]
    if not 0 <= word < V:
        raise ValueError(f"word index must be in [0, {V}), got {word}")
    scaled = dict(params, W1=params["W1"] * scale, W2=params["W2"] * scale)
    x = np.eye(V)[[word]]                               # (1, V)
    out = onestep.forward(scaled, x, tau)
    return {"x": x[0], "h1": out["h1"][0], "o": out["o"][0], "y": out["y"][0]}


class OneStepWidget(LiveFigure):
    """Pick the current word, scale the weights, change the temperature: see h^(1), o, y."""

    def __init__(self, params: dict, vocab, word: str = "three", tau: float = onestep.TAU):
        super().__init__()
        self.params, self.vocab = params, vocab
        V, H = params["W1"].shape[1], params["W1"].shape[0]
        words = vocab.words
        self.fig = new_figure(9.5, 5.0)
        self.fig.subplots_adjust(left=0.09, right=0.91, top=0.87, bottom=0.08, wspace=0.55)
        ax_x, ax_h, ax_o, ax_y = self.fig.subplots(1, 4, width_ratios=[1, 1.2, 1, 1.4])
        rows = np.arange(V)
        self.x_bars = bars(ax_x, V, horizontal=True, color="#9ca3af", width=8)
        ax_x.set(yticks=rows, yticklabels=words, xlim=(0, 1.1), ylim=(-0.7, V - 0.3),
                 title="x  (one-hot)", xticks=[0, 1])
        self.h_bars = bars(ax_h, H, horizontal=True, color="#7c3aed", width=12)
        ax_h.set(xlim=(-1.05, 1.05), ylim=(-0.7, H - 0.3), yticks=[], title="h⁽¹⁾ = tanh(W1 x + b1)")
        self.o_bars = bars(ax_o, V, horizontal=True, color="#0891b2", width=8)
        ax_o.set(xlim=(-1.05, 1.05), ylim=(-0.7, V - 0.3), yticks=rows, yticklabels=[],
                 title="o = tanh(W2 h⁽¹⁾ + b2)")
        self.y_bars = bars(ax_y, V, horizontal=True, color="#16a34a", width=8)
        ax_y.set(xlim=(0, 1.0), ylim=(-0.7, V - 0.3), yticks=rows, title="y = softmax(o / τ)")
        ax_y.yaxis.tick_right()
        ax_y.set_yticklabels(words)
        for ax in (ax_x, ax_o, ax_y):
            ax.invert_yaxis()
        for ax in (ax_h, ax_o):
            ax.axvline(0, color="k", lw=0.5)
        for a, b in ((ax_x, ax_h), (ax_h, ax_o), (ax_o, ax_y)):  # the DAG's edges
            self.fig.add_artist(_arrow(a, b))
        self.title = self.fig.suptitle("")
        self.animate(self.x_bars, self.h_bars, self.o_bars, self.y_bars, self.title)
        choices = [w for w in words if w != "<eos>"]
        self.controls = {
            "word": widgets.Combobox(value=word, options=choices, placeholder="type a word",
                                     description="current word", ensure_option=False),
            "scale": widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.05, description="weight ×"),
            "tau": widgets.FloatLogSlider(value=tau, base=10, min=-1.5, max=0.5, step=0.05,
                                          description="τ (temp.)"),
        }
        self.connect()
        self.update()

    def refresh(self) -> None:
        """Read the controls, run the DAG, move the bars."""
        c = self.controls
        word = c["word"].value.strip().lower()
        if not word:
            raise InputError("type or pick a word, e.g. 'three' or 'hundred'")
        if word not in self.vocab.index or word == "<eos>":
            close = [w for w in self.vocab.words if w.startswith(word[:2])][:4]
            shown = word if len(word) <= 20 else word[:20] + "…"
            raise InputError(f"'{shown}' is not a word of the number phrases"
                             + (f"; did you mean {', '.join(close)}?" if close else "."))
        r = compute(self.params, self.vocab.index[word], c["scale"].value, c["tau"].value)
        for coll, values in ((self.x_bars, r["x"]), (self.h_bars, r["h1"]),
                             (self.o_bars, r["o"]), (self.y_bars, r["y"])):
            set_bars(coll, values)
        self.x_bars.set_color(["#f59e0b" if v else "#9ca3af" for v in r["x"]])
        self.values = r  # the numbers behind the picture, for readers and tests
        top = np.argsort(r["y"])[::-1][:3]
        self.title.set_text(f"current word '{word}'  →  next word: "
                            + ",  ".join(f"{self.vocab.words[i]} {r['y'][i]:.2f}" for i in top))


def demo() -> OneStepWidget:
    """A widget on untrained weights (for the benchmark: the cost does not depend on training)."""
    from . import numbers

    vocab = numbers.build_vocab()
    return OneStepWidget(onestep.init_params(len(vocab), 16), vocab)


def _arrow(ax_from, ax_to):
    """An arrow in figure coordinates from one panel's right edge to the next one's left."""
    from matplotlib.patches import FancyArrowPatch

    a, b = ax_from.get_position(), ax_to.get_position()
    y = a.y0 + a.height / 2
    return FancyArrowPatch((a.x1 + 0.005, y), (b.x0 - 0.005, y), transform=ax_from.figure.transFigure,
                           arrowstyle="-|>", mutation_scale=14, color="#374151", lw=1.5)
