"""Notebook 09's widget: type a name, choose the blank; h from the left and g from the right meet there.

On top, the seed's picture (helpers.unrolled.bidir_spec): the forward chain h, the backward
chain g, and an output o_t at every step that reads [h_t; g_t] (here the doubled-letter tag),
lit for the blank's step; framed, the two states the cloze guess for the blank reads.
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import ipywidgets as widgets
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from matplotlib.patches import Rectangle

from . import cloze, surnames, unrolled
from .live import InputError, LiveFigure, new_figure

MAX_LETTERS = 13                       # the longest names in the data
COLS = MAX_LETTERS + 2                 # <s> x_1 .. x_L </s>
SHOW_UNITS = 32                        # rows of the heatmaps (the first units of h and g)
SHIFT = unrolled.bidir_spec(1).node("h1").col - 1   # h_t sits left of its column, g_t right of it


def graph_spec(T: int = COLS) -> unrolled.Spec:
    """bidir_spec(T) for tokens <s> x_1 .. x_L </s>: the spec's step p + 1 is token position p.

    The backward chain's zero start is hidden with the steps after the name (set_length),
    and the outputs' weights are named in the widget's caption, not on the edges.
    """
    spec = unrolled.bidir_spec(T)
    nodes = tuple(replace(n, step=T) if n.id == f"g{T + 1}" else n for n in spec.nodes)
    edges = tuple(replace(e, weight="") if e.dst.startswith("o") else e for e in spec.edges)
    return replace(spec, nodes=nodes, edges=edges, names=())


def compute(params: dict, name: str, k: int) -> dict:
    """h, g (L + 2, H); the guesses for letter k (1-based) from h only, g only and both (26,) each;
    and P(doubled) for every letter (L,) with the true tags (L,)."""
    if not 1 <= k <= len(name):
        raise ValueError(f"k must be in 1..{len(name)} for {name!r}, got {k}")
    out = cloze.np_predict(params, name)
    return {"h": out["h"], "g": out["g"], "answer": surnames.ALPHABET.index(name[k - 1]),
            "probs": {head: p[k - 1] for head, p in out["probs"].items() if head != cloze.TAG},
            "p_doubled": out["probs"][cloze.TAG][:, 1], "tags": cloze.doubled(surnames.encode(name)[None])[0]}


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


INK, ORANGE = (17, 24, 39), (234, 88, 12)


@lru_cache(maxsize=8)
def _font(size: int):
    from matplotlib import font_manager

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans Mono"), size)


class TextRow:
    """A strip of the figure whose texts are drawn with PIL into one image artist (fast to redraw)."""

    def __init__(self, fig, x0: int, y0: int, width: int, height: int):
        self.w, self.h = width, height
        self.image = fig.figimage(np.zeros((height, width, 4), np.uint8), xo=x0, yo=y0, origin="upper")

    def draw(self, items) -> None:
        """items: (x in pixels from the strip's left, text, font size, RGB colour), centred there."""
        img = Image.new("RGBA", (self.w, self.h), (255, 255, 255, 0))
        d = ImageDraw.Draw(img)
        for x, text, size, colour in items:
            d.text((x, self.h / 2), text, font=_font(size), anchor="mm", fill=colour)
        self.image.set_data(np.asarray(img))


class BidirWidget(LiveFigure):
    """h_t (left to right) and g_t (right to left) as heatmaps; the three guesses for the blank as bars."""

    def __init__(self, params: dict, name: str = "johnson", k: int = 3):
        super().__init__()
        self.params = params
        H = params["W_hh_f"].shape[1]
        self.rows = min(SHOW_UNITS, H)
        self.fig = new_figure(9.8, 8.2, dpi=80)
        grid = self.fig.add_gridspec(3, 2, width_ratios=[1.25, 1], left=0.06, right=0.985, top=0.49,
                                     bottom=0.07, hspace=0.6, wspace=0.14)
        inner = grid[:, 0].subgridspec(2, 1, hspace=0.62)
        ax_h, ax_g = self.fig.add_subplot(inner[0]), self.fig.add_subplot(inner[1])
        self.axes = (ax_h, ax_g)
        self.images, self.dims, self.marks, self.token_rows = [], [], [], []
        for ax, label in ((ax_h, "h_t: forward state, reads left → right"),
                          (ax_g, "g_t: backward state, reads right → left")):
            im = ax.imshow(np.zeros((self.rows, COLS)), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto",
                           interpolation="nearest", extent=(-0.5, COLS - 0.5, self.rows - 0.5, -0.5))
            ax.set(xticks=[], yticks=[0, self.rows - 1], xlim=(-0.5, COLS - 0.5))
            ax.set_ylabel(f"unit (first {self.rows} of {H})" if self.rows < H else "unit", fontsize=9)
            ax.set_title(label, fontsize=10, loc="left")
            ax.set_xlabel("token (the state after reading it)", fontsize=8, labelpad=23)
            dim = Rectangle((0, -0.5), 0, self.rows, facecolor="white", alpha=0.8, edgecolor="none")
            mark = Rectangle((0, -0.5), 1, self.rows, fill=False, edgecolor="#111827", lw=2.2)
            ax.add_patch(dim)
            ax.add_patch(mark)
            self.images.append(im)
            self.dims.append(dim)
            self.marks.append(mark)
            # the tokens under each heatmap label its columns (drawn with PIL: fifteen matplotlib
            # texts per row would cost more than everything else in an update)
            box = ax.get_window_extent()
            self.token_rows.append(TextRow(self.fig, int(box.x0), int(box.y0) - 20,
                                           int(box.width), 18))
        cax = self.fig.add_axes((0.02, 0.95, 0.13, 0.022))       # top left, beside the title
        self.fig.colorbar(self.images[0], cax=cax, orientation="horizontal", ticks=[-1, 0, 1])
        cax.tick_params(labelsize=7, length=2, pad=1)
        cax.set_xlabel("state value", fontsize=8, labelpad=1)
        self.bars = {}
        letters = np.arange(26)
        for row, head in enumerate(("h", "g", "hg")):
            ax = self.fig.add_subplot(grid[row, 1])
            self.bars[head] = ax.vlines(letters, 0, np.zeros(26), lw=7, color="#6b7280", capstyle="butt")
            ax.set(ylim=(0, 1), xlim=(-0.7, 25.7), xticks=letters, yticks=[0, 0.5, 1])
            ax.set_xticklabels(list(surnames.ALPHABET), fontsize=8, family="monospace")
            ax.tick_params(axis="x", length=0, pad=2)
            ax.set_title(f"guess from {cloze.HEAD_LABELS[head]}", fontsize=10, loc="left")
        self.title = TextRow(self.fig, 0, int(self.fig.bbox.height) - 28, int(self.fig.bbox.width), 26)
        ax_graph = self.fig.add_axes((0.075, 0.585, 0.915, 0.33))
        self.view = unrolled.GraphView(ax_graph, graph_spec(), max_columns=COLS + 3)
        for row, text in ((0, "x"), (1, "h →"), (2, "← g"), (3, "o")):
            y = ax_graph.transLimits.transform((0, row))[1]
            self.fig.text(0.012, 0.585 + 0.33 * y, text, ha="left", va="center", fontsize=11, color="#374151")
        self.graph_frames = [Rectangle((0, 0), 1, 1, fill=False, edgecolor="#111827", lw=2.2, zorder=6)
                             for _ in range(2)]
        for frame in self.graph_frames:
            ax_graph.add_patch(frame)
        self.fig.text(0.5, 0.575, "Graph: o_t = W_o [h_t; g_t] + b_o tags each letter (label: P(doubled)); lit: what "
                      "o_t at the blank's step reads.\nFramed, in graph and heatmaps: the two states the cloze guess "
                      "reads. Faded: steps they have not read. Orange bar: the hidden letter.", ha="center", va="top",
                      fontsize=8.5, color="#374151", linespacing=1.4)
        self.add_layer(*self.view.label_artists)
        self.animate(*self.images, *self.dims, *self.marks, *(row.image for row in self.token_rows), self.title.image,
                     *self.bars.values(), *self.view.step_artists, *self.graph_frames)
        self.controls = {
            "name": widgets.Text(value=name, description="surname", placeholder="e.g. johnson",
                                 continuous_update=True),
            "k": widgets.IntSlider(value=k, min=1, max=MAX_LETTERS, description="blank at"),
        }
        self.controls["name"].observe(self._fit_slider, names="value")  # before connect(): runs first
        self._fit_slider()
        self.connect()
        self.update()

    def _fit_slider(self, _change=None) -> None:
        """Let the blank slider reach exactly the letters of a readable name."""
        name = self.controls["name"].value.strip().lower()
        if 1 <= len(name) <= MAX_LETTERS and all(c in surnames.ALPHABET for c in name):
            self.controls["k"].max = len(name)

    def refresh(self) -> None:
        """Read the name and the blank, recompute h, g and the guesses, move the artists."""
        k = self.controls["k"].value
        name = check_name(self.controls["name"].value, k)
        r = compute(self.params, name, k)
        tokens = ["<s>"] + list(cloze.blanked(name, k)) + ["</s>"]
        T = len(tokens)
        for ax, im, states in zip(self.axes, self.images, (r["h"], r["g"])):
            im.set_data(states[:, :self.rows].T)                  # (units, T): the columns fill the axes
            im.set_extent((-0.5, T - 0.5, self.rows - 0.5, -0.5))
            ax.set_xlim(-0.5, T - 0.5)
        # h_(k-1) has read tokens 0..k-1: fade from column k on; g_(k+1) has read k+1..T-1: fade up to k
        self.dims[0].set_bounds(k - 0.5, -0.5, T - k, self.rows)
        self.dims[1].set_bounds(-0.5, -0.5, k + 1, self.rows)
        self.marks[0].set_x(k - 1.5)
        self.marks[1].set_x(k + 0.5)
        for row in self.token_rows:
            col = row.w / T
            row.draw([((c + 0.5) * col, tok, 10 if len(tok) > 1 else 15, ORANGE if c == k else INK)
                      for c, tok in enumerate(tokens)])
        colours = np.where(np.arange(26) == r["answer"], "#ea580c", "#6b7280")
        for head, lines in self.bars.items():
            p = r["probs"][head]
            lines.set_segments([[(i, 0), (i, v)] for i, v in enumerate(p)])
            lines.set_color(colours)
        self.title.draw([(self.title.w / 2, f"{cloze.blanked(name, k)}   (hidden: {name[k - 1]})", 17, INK)])
        self._draw_graph(name, k, tokens, r)
        self.values = {"name": name, "k": k, **r}

    def _draw_graph(self, name: str, k: int, tokens: list[str], r: dict) -> None:
        """The unrolled graph of this name: states coloured by h and g, tags as labels, the blank's step lit."""
        T, view = len(tokens), self.view
        if name != getattr(self, "_graph_name", None):           # the labels change with the name only, not k
            self._graph_name = name
            labels = {f"x{p + 1}": tok for p, tok in enumerate(["<s>", *name, "</s>"])}
            labels |= {f"o{p + 1}": "" for p in range(COLS)}
            labels |= {f"o{p + 1}": f"{r['p_doubled'][p - 1]:.2f}" for p in range(1, T - 1)}
            view.set_length(T)
            view.set_labels(labels)
            self.refresh_layer()
        zero = np.zeros(r["h"].shape[1])
        view.set_values({"h0": zero, **{f"h{p + 1}": r["h"][p] for p in range(T)},
                         **{f"g{p + 1}": r["g"][p] for p in range(T)}, f"g{COLS + 1}": zero})
        view.set_step(k + 1)                                       # token position k is the spec's step k + 1
        w, hgt = view.box
        for frame, node in zip(self.graph_frames, (view.nodes[f"h{k}"], view.nodes[f"g{k + 2}"])):
            frame.set_bounds(node.col - w / 2 - 0.06, node.row - hgt / 2 - 0.08, w + 0.12, hgt + 0.16)


def demo() -> BidirWidget:
    """The widget on an untrained bidirectional model (for the benchmark: the cost does not depend on training)."""
    return BidirWidget(cloze.to_numpy(cloze.make_model("bi", H=64)))
