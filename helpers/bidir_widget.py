"""Notebook 08's widget: type a name, choose the blank; h from the left and g from the right meet there."""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib import colormaps
from matplotlib.patches import Rectangle

from . import cloze, surnames
from .live import InputError, LiveFigure, new_figure

MAX_LETTERS = 13                       # the longest names in the data
COLS = MAX_LETTERS + 2                 # <s> x_1 .. x_L </s>
SHOW_UNITS = 32                        # rows of the heatmaps (the first units of h and g)


def compute(params: dict, name: str, k: int) -> dict:
    """h, g (L + 2, H), and the guesses for letter k (1-based) from h only, g only and both (26,) each."""
    if not 1 <= k <= len(name):
        raise ValueError(f"k must be in 1..{len(name)} for {name!r}, got {k}")
    out = cloze.np_predict(params, name)
    return {"h": out["h"], "g": out["g"], "answer": surnames.ALPHABET.index(name[k - 1]),
            "probs": {head: p[k - 1] for head, p in out["probs"].items()}}


def check_name(text: str, k: int) -> str:
    """The cleaned name, or InputError with a message the learner can act on."""
    name = text.strip().lower()
    if not name:
        raise InputError("type a surname, e.g. 'johnson'")
    bad = sorted({c for c in name if c not in surnames.ALPHABET})
    if bad:
        raise InputError(f"only the letters a-z can be read; remove {' '.join(repr(c) for c in bad)}")
    if len(name) > MAX_LETTERS:
        raise InputError(f"'{name[:20]}…' has {len(name)} letters; the longest names here have {MAX_LETTERS}")
    if k > len(name):
        raise InputError(f"'{name}' has {len(name)} letters: move the blank to a position from 1 to {len(name)}")
    return name


class BidirWidget(LiveFigure):
    """h_t (left to right) and g_t (right to left) as heatmaps; the three guesses for the blank as bars."""

    def __init__(self, params: dict, name: str = "johnson", k: int = 3):
        super().__init__()
        self.params = params
        self.fig = new_figure(9.8, 4.7, dpi=80)
        grid = self.fig.add_gridspec(3, 2, width_ratios=[1.25, 1], left=0.06, right=0.985, top=0.8,
                                     bottom=0.07, hspace=0.6, wspace=0.14)
        inner = grid[:, 0].subgridspec(2, 1, hspace=0.3)
        ax_h, ax_g = self.fig.add_subplot(inner[0]), self.fig.add_subplot(inner[1])
        blank = np.full((SHOW_UNITS, COLS), np.nan)
        self.images, self.dims, self.marks = [], [], []
        for ax, label in ((ax_h, "h_t: forward state, reads left → right"),
                          (ax_g, "g_t: backward state, reads right → left")):
            im = ax.imshow(blank, cmap=colormaps["RdBu_r"].with_extremes(bad="#f3f4f6"), vmin=-1, vmax=1, aspect="auto", interpolation="nearest",
                           extent=(-0.5, COLS - 0.5, SHOW_UNITS - 0.5, -0.5))
            ax.set(xticks=[], yticks=[0, SHOW_UNITS - 1], xlim=(-0.5, COLS - 0.5))
            ax.set_ylabel(f"unit (first {SHOW_UNITS})", fontsize=9)
            ax.set_title(label, fontsize=10, loc="left")
            dim = Rectangle((0, -0.5), 0, SHOW_UNITS, facecolor="white", alpha=0.8, edgecolor="none")
            mark = Rectangle((0, -0.5), 1, SHOW_UNITS, fill=False, edgecolor="#111827", lw=2.2)
            ax.add_patch(dim)
            ax.add_patch(mark)
            self.images.append(im)
            self.dims.append(dim)
            self.marks.append(mark)
        # one row of tokens between the two heatmaps labels the columns of both
        self.chars = [ax_h.text(c, -0.03, "", transform=ax_h.get_xaxis_transform(), ha="center", va="top",
                                fontsize=11, family="monospace") for c in range(COLS)]
        self.bars = {}
        letters = np.arange(26)
        for row, head in enumerate(("h", "g", "hg")):
            ax = self.fig.add_subplot(grid[row, 1])
            self.bars[head] = ax.vlines(letters, 0, np.zeros(26), lw=7, color="#6b7280", capstyle="butt")
            ax.set(ylim=(0, 1), xlim=(-0.7, 25.7), xticks=letters, yticks=[0, 0.5, 1])
            ax.set_xticklabels(list(surnames.ALPHABET), fontsize=8, family="monospace")
            ax.tick_params(axis="x", length=0, pad=2)
            ax.set_title(f"guess from {cloze.HEAD_LABELS[head]}", fontsize=10, loc="left")
        self.title = self.fig.text(0.5, 0.975, "", ha="center", va="top", fontsize=13, family="monospace")
        self.fig.text(0.5, 0.915, "Framed: the states the guess reads, h at the letter before the blank and g at the "
                      "letter after it.\nFaded: steps those states have not read.   Orange bar: the hidden letter.",
                      ha="center", va="top", fontsize=9, color="#374151", linespacing=1.4)
        self.animate(*self.images, *self.dims, *self.marks, *self.chars, self.title,
                     *self.bars.values())
        self.controls = {
            "name": widgets.Text(value=name, description="surname", placeholder="e.g. johnson",
                                 continuous_update=True),
            "k": widgets.IntSlider(value=k, min=1, max=MAX_LETTERS, description="blank at"),
        }
        self.connect()
        self.update()

    def refresh(self) -> None:
        """Read the name and the blank, recompute h, g and the guesses, move the artists."""
        k = self.controls["k"].value
        name = check_name(self.controls["name"].value, k)
        r = compute(self.params, name, k)
        tokens = ["<s>"] + list(cloze.blanked(name, k)) + ["</s>"]
        T = len(tokens)
        for im, states in zip(self.images, (r["h"], r["g"])):
            data = np.full((SHOW_UNITS, COLS), np.nan)
            data[:, :T] = states[:, :SHOW_UNITS].T
            im.set_data(data)
        # h_(k-1) has read tokens 0..k-1: fade from column k on; g_(k+1) has read k+1..T-1: fade up to k
        self.dims[0].set_bounds(k - 0.5, -0.5, T - k, SHOW_UNITS)
        self.dims[1].set_bounds(-0.5, -0.5, k + 1, SHOW_UNITS)
        self.marks[0].set_x(k - 1.5)
        self.marks[1].set_x(k + 0.5)
        for c, text in enumerate(self.chars):
            text.set_text(tokens[c] if c < T else "")
            text.set_fontsize(8 if c < T and len(tokens[c]) > 1 else 11)
            text.set_color("#ea580c" if c == k else "#111827")
        colours = np.where(np.arange(26) == r["answer"], "#ea580c", "#6b7280")
        for head, lines in self.bars.items():
            p = r["probs"][head]
            lines.set_segments([[(i, 0), (i, v)] for i, v in enumerate(p)])
            lines.set_color(colours)
        self.title.set_text(f"{cloze.blanked(name, k)}   (hidden: {name[k - 1]})")


def demo() -> BidirWidget:
    """The widget on an untrained bidirectional model (for the benchmark: the cost does not depend on training)."""
    return BidirWidget(cloze.to_numpy(cloze.make_model("bi", H=64)))
