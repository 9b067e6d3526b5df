"""Notebook 02's widget: type a phrase, scrub the step t, watch h_t, the unrolled graph and y_t."""
from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import FancyArrowPatch

from . import numbers, rnn, unrolled
from .live import InputError, LiveFigure, new_figure

MAX_WORDS = 9                  # longest phrase the widget draws (the data's longest has 7)
MAX_STEPS = MAX_WORDS + 1      # <bos> + the words
NOW = unrolled.NOW                                   # the colour of step t
XLIM, YLIM = (-0.5, MAX_STEPS + 0.5), (-0.4, 2.65)   # x axis of the graph and the heatmap: slot i at x = i
SMALL, MEDIUM, LARGE = 10, 11.5, 13                  # font sizes (points; the figure is drawn at 72 dpi)
EXAMPLES = ["three thousand, three hundred and thirty-three", "three hundred and three", "three",
            "seven thousand and seven", "twenty-three", "nine thousand, nine hundred and ninety-nine",
            "one hundred and eleven", "four thousand"]


def parse_phrase(text: str, vocab: numbers.Vocab) -> list[str]:
    """The words of a typed phrase (digits like '305' are written out); InputError if unusable."""
    text = (text or "").strip()
    if not text:
        raise InputError("type a number phrase, e.g. 'three hundred and five' (or just 305)")
    if text.isdigit():
        if not 1 <= int(text) <= numbers.MAX_NUMBER:
            raise InputError(f"numbers from 1 to {numbers.MAX_NUMBER} only, not {text}")
        text = numbers.phrase(int(text))
    words = numbers.tokenize(text)
    if len(words) > MAX_WORDS:
        raise InputError(f"that is {len(words)} words; the widget draws at most {MAX_WORDS}")
    for w in words:
        if w not in vocab.index or w in (numbers.BOS, numbers.EOS):
            close = [v for v in vocab.words[2:] if v.startswith(w[:3])][:3]
            raise InputError(f"'{w}' is not a word of the number phrases"
                             + (f"; did you mean {', '.join(close)}?" if close else
                                " (they use one ... nineteen, twenty ... ninety, hundred, thousand, and)"))
    return words


def compute(params: dict, ids: np.ndarray, t: int) -> dict[str, np.ndarray]:
    """States h (T, H), next-word distributions y (T, V), their top words (T,) and y_t at step t (1-based)."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or not 1 <= t <= len(ids):
        raise ValueError(f"need ids of shape (T,) and 1 <= t <= T, got {ids.shape} and t={t}")
    out = rnn.predict_next(params, ids)
    return {"h": out["h"], "y": out["y"], "top": out["y"].argmax(axis=1), "y_t": out["y"][t - 1]}


class UnrolledGraph:
    """The unrolled graph h_0 -> h_1 -> ... of one phrase (helpers.unrolled), with step t lit.

    Slot 0 holds h_0; slot i (1..T) holds x_i below h_i and the top word of y_i above it; each
    h_i shows its state as coloured cells. Two layers: `phrase_artists` (the words; they change
    with the phrase) and `step_artists` (colours, cells, veils and the lit column; they change with t).
    """

    def __init__(self, ax):
        self.view = unrolled.GraphView(ax, unrolled.rnn_spec(MAX_STEPS), xlim=XLIM, ylim=YLIM)
        self.x_text = [self.view.texts[f"x{i}"] for i in range(1, MAX_STEPS + 1)]
        self.y_text = [self.view.texts[f"y{i}"] for i in range(1, MAX_STEPS + 1)]
        self.phrase_artists = self.view.label_artists
        self.step_artists = self.view.step_artists

    def set_phrase(self, words: list[str], tops: list[str], correct: np.ndarray) -> None:
        """Inputs under each step and the top predicted word above it (green: right, red: wrong)."""
        self.view.set_labels({f"x{i}": w for i, w in enumerate(words, 1)} | {f"y{i}": w for i, w in enumerate(tops, 1)},
                             colors={f"y{i}": "#15803d" if ok else "#dc2626" for i, ok in enumerate(correct, 1)})
        self.view.set_length(len(words))

    def set_step(self, t: int, h: np.ndarray | None = None) -> None:
        """Light the path into step t; h (t + 1, H): the states h_0 .. h_t, drawn as cells."""
        if h is not None:
            self.view.set_values({f"h{i}": state for i, state in enumerate(h)}, clear=True)
        self.view.set_step(t)


def _draw_folded(ax) -> None:
    """The folded loop: x -> [h] (with its own arrow back) -> y, drawn once."""
    ax.set(xlim=(0, 1), ylim=YLIM)
    ax.axis("off")
    ax.text(0.45, 2.5, "folded", ha="center", va="bottom", fontsize=MEDIUM, weight="bold")
    ax.text(0.45, 0, "x", ha="center", va="center", fontsize=LARGE)
    ax.scatter([0.45], [1], s=330, fc="#bfdbfe", ec="k", zorder=3)
    ax.text(0.45, 1, "h", ha="center", va="center", fontsize=LARGE, zorder=4)
    ax.text(0.45, 2, "y", ha="center", va="center", fontsize=LARGE)
    arrow = dict(arrowstyle="-|>", mutation_scale=10, lw=1.2, color="#374151")
    ax.add_patch(FancyArrowPatch((0.45, 0.2), (0.45, 0.78), **arrow))
    ax.add_patch(FancyArrowPatch((0.45, 1.22), (0.45, 1.8), **arrow))
    ax.add_patch(FancyArrowPatch((0.55, 1.12), (0.55, 0.88), connectionstyle="arc3,rad=-2.5", **arrow))
    ax.text(0.78, 1.3, "$W_{hh}$", ha="left", va="bottom", fontsize=SMALL)
    ax.text(0.39, 0.5, "$W_{xh}$", ha="right", va="center", fontsize=SMALL)
    ax.text(0.39, 1.5, "$W_{hy}$", ha="right", va="center", fontsize=SMALL)
    ax.text(1.12, 1, "=", ha="center", va="center", fontsize=16, clip_on=False)


class RNNWidget(LiveFigure):
    """Type or pick a phrase, scrub t: h_t as a growing heatmap, the unrolled graph lit at t, y_t as bars."""

    def __init__(self, params: dict, vocab: numbers.Vocab, phrase: str = EXAMPLES[0],
                 onestep_probs: np.ndarray | None = None, splits: dict | None = None, t: int | None = None):
        super().__init__()
        self.params, self.vocab = params, vocab
        self.onestep, self.splits = onestep_probs, splits or {}
        H = params["W_hh"].shape[0]
        self.fig = new_figure(12.0, 8.4, dpi=72)
        left, width = 0.12, 0.82
        _draw_folded(self.fig.add_axes((0.01, 0.61, 0.095, 0.32)))
        self.graph = UnrolledGraph(self.fig.add_axes((left, 0.61, width, 0.32)))
        self.heat, self.frame, self.heat_end = self._heatmap(self.fig.add_axes((left, 0.385, width, 0.205)),
                                                             self.fig.add_axes((left + width + 0.01, 0.385,
                                                                                0.012, 0.205)), H)
        self.bars, self.marks = self._bars(self.fig.add_axes((left, 0.11, width, 0.18)))
        self.title = self.fig.text(0.01, 0.99, "", fontsize=LARGE, va="top", weight="bold")
        self.readout = widgets.HTML()   # the step's equation and numbers (text is slow to draw)
        # three layers: the figure (drawn once), the phrase's words, then what changes with t
        # (the heatmap's end is drawn over the heatmap, so it is in the last layer)
        self.phrase_artists = [*self.graph.phrase_artists, self.title]
        self.add_layer(*self.phrase_artists)
        self.animate(*self.graph.step_artists, self.heat, *self.heat_end, self.frame, self.bars, self.marks)
        self.controls = {
            "phrase": widgets.Combobox(value=phrase, options=EXAMPLES, description="phrase",
                                       placeholder="type words or a number, then Enter",
                                       style={"description_width": "initial"},
                                       ensure_option=False, continuous_update=False,
                                       layout=widgets.Layout(width="420px")),
            "t": widgets.IntSlider(value=1, min=1, max=MAX_STEPS, description="step t",
                                   style={"description_width": "initial"}),
        }
        self.play = widgets.Play(value=1, min=1, max=MAX_STEPS, interval=700, description="play")
        widgets.jslink((self.play, "value"), (self.controls["t"], "value"))
        self._words, self._syncing, self._first_t = None, False, t   # t: the first step shown
        self.connect()
        self.update()

    def _heatmap(self, ax, cax, H: int):
        """h_0 .. h_T as columns under the graph's nodes; columns after t stay blank."""
        from matplotlib.patches import Rectangle

        from matplotlib import colormaps

        cmap = colormaps["RdBu_r"].with_extremes(bad="#f1f5f9")
        heat = ax.imshow(np.full((H, MAX_STEPS + 1), np.nan), cmap=cmap, vmin=-1, vmax=1,
                         aspect="auto", interpolation="nearest",
                         extent=(-0.5, MAX_STEPS + 0.5, H - 0.5, -0.5))
        ax.set(xlim=XLIM, yticks=[0, H - 1])
        ax.set_xticks(np.arange(MAX_STEPS + 1), ["h_0"] + [f"t={i}" for i in range(1, MAX_STEPS + 1)])
        ax.set_ylabel(f"h_t: {H} units,\none column per step", fontsize=SMALL)
        ax.tick_params(labelsize=SMALL)
        self.fig.colorbar(heat, cax=cax).ax.tick_params(labelsize=SMALL)
        frame = ax.add_patch(Rectangle((0.5, -0.5), 1, H, fill=False, ec=NOW, lw=2.5))
        # the heatmap ends after h_T: a white cover hides later slots (and their tick labels), a line closes it
        xy = ax.get_xaxis_transform()                 # x in steps, y in axes fractions
        cover = ax.add_patch(Rectangle((MAX_STEPS + 0.5, -0.25), 0, 1.3, transform=xy, clip_on=False,
                                       fc="white", lw=0, zorder=5))
        (end,) = ax.plot([MAX_STEPS + 0.5] * 2, [0, 1], transform=xy, clip_on=False, color="k", lw=0.8,
                         zorder=6)
        return heat, frame, (cover, end)

    def _end_heatmap(self, T: int) -> None:
        """Show the columns h_0 .. h_T only."""
        cover, end = self.heat_end
        cover.set_x(T + 0.5)
        cover.set_width(MAX_STEPS - T + 0.08)         # up to just past the axes' right edge
        end.set_xdata([T + 0.5] * 2)

    def _bars(self, ax):
        """y_t over every word but <bos> (never predicted), with the one-step model's guess as marks."""
        from matplotlib.collections import PolyCollection
        from matplotlib.patches import Patch

        words = self.vocab.words[1:]
        pos = np.arange(len(words))
        bars = ax.add_collection(PolyCollection(_bar_verts(np.zeros(len(words))), facecolors="#60a5fa"))
        (marks,) = ax.plot(pos, np.full(len(words), np.nan), "_", color="k", ms=11, mew=2)
        ax.set(xlim=(-0.6, len(words) - 0.4), ylim=(0, 1.08), ylabel="probability")
        ax.set_xticks(pos, words, rotation=60, ha="right", rotation_mode="anchor", fontsize=SMALL)
        ax.tick_params(axis="y", labelsize=SMALL)
        ax.grid(axis="y", alpha=0.3)
        handles = [Patch(color="#60a5fa", label="RNN: y_t"), Patch(color="#16a34a", label="the actual next word")]
        if self.onestep is not None:
            marks.set_label("one-step model (01), same current word")
            handles.append(marks)
        ax.legend(handles=handles, loc="upper right", fontsize=SMALL, ncol=3, frameon=False,
                  bbox_to_anchor=(1, 1.25))
        ax.set_title("y_t at the lit step t", fontsize=MEDIUM, loc="left", pad=16)
        return bars, marks

    def _on_change(self, change=None) -> None:
        if not self._syncing:
            self.update()

    def layout(self) -> widgets.Widget:
        """Phrase box, play button and t slider above the picture."""
        c = self.controls
        return widgets.VBox([widgets.HBox([c["phrase"], self.play, c["t"]],
                                          layout=widgets.Layout(flex_flow="row wrap")),
                             self.message, self.readout, self.image])

    def _sync_t(self, T: int) -> int:
        """A new phrase: the slider runs 1..T and jumps to T (the whole phrase), or to the first t asked for."""
        t = self.controls["t"]
        value = min(self._first_t or T, T)
        self._first_t = None
        self._syncing = True
        try:
            t.max = self.play.max = T
            t.value = value
        finally:
            self._syncing = False
        return value

    def refresh(self) -> None:
        """Read phrase and t, run the RNN, move every artist."""
        words = parse_phrase(self.controls["phrase"].value, self.vocab)
        T = len(words) + 1
        new_phrase = words != self._words
        t = self._sync_t(T) if new_phrase else min(self.controls["t"].value, T)
        self._words = words
        inputs = [numbers.BOS] + words
        ids = self.vocab.encode(inputs)
        nxt = self.vocab.encode(words + [numbers.EOS])            # what actually comes next
        r = compute(self.params, ids, t)
        if new_phrase:
            self._set_phrase(words, inputs, r, nxt)
        data = np.full((r["h"].shape[1], MAX_STEPS + 1), np.nan)
        data[:, 0] = 0.0                                           # h_0 = 0
        data[:, 1:t + 1] = r["h"][:t].T
        self.graph.set_step(t, data[:, :t + 1].T)
        self.heat.set_data(data)
        self.frame.set_x(t - 0.5)
        self.bars.set_verts(_bar_verts(r["y_t"][1:]))
        self.bars.set_facecolors(np.where(np.arange(1, len(self.vocab)) == nxt[t - 1], "#16a34a", "#60a5fa"))
        if self.onestep is not None:
            self.marks.set_ydata(self.onestep[ids[t - 1], 1:])
        x_t, actual = inputs[t - 1], self.vocab.words[nxt[t - 1]]
        top = self.vocab.words[r["top"][t - 1]]
        self.readout.value = (
            f"<b>step t = {t}</b>: h<sub>{t}</sub> = tanh(W<sub>xh</sub> x<sub>{t}</sub> + W<sub>hh</sub> "
            f"h<sub>{t - 1}</sub> + b<sub>h</sub>) with x<sub>{t}</sub> = '{html.escape(x_t)}'; "
            f"y<sub>{t}</sub> = softmax(W<sub>hy</sub> h<sub>{t}</sub> + b<sub>y</sub>): top word "
            f"'{html.escape(top)}' ({r['y_t'][r['top'][t - 1]]:.2f}), actual next word "
            f"'{html.escape(actual)}' ({r['y_t'][nxt[t - 1]]:.2f})")

    def _set_phrase(self, words, inputs, r, nxt) -> None:
        """A new phrase: its words and top predictions in the graph, the title; redraw that layer."""
        T = len(inputs)
        probs = r["y"][np.arange(T), r["top"]]
        tops = [f"{self.vocab.words[i]}\n{p:.2f}" for i, p in zip(r["top"], probs)]
        self.graph.set_phrase(inputs, tops, r["top"] == nxt)
        text = " ".join(words)
        kind = {"train": "a training phrase", "held_out": "a held-out phrase, never trained on"}.get(
            self.splits.get(text), "not one of the data's phrases")
        self.title.set_text(f"'{text}'  ({kind}):  T = {T} steps")
        self._end_heatmap(T)
        self.refresh_layer()


def _bar_verts(heights: np.ndarray, width: float = 0.75) -> list:
    """Rectangles (as vertex lists) for bars of these heights at 0, 1, 2, ..."""
    x = np.arange(len(heights))[:, None] + np.array([-1, -1, 1, 1]) * width / 2
    y = np.zeros((len(heights), 4))
    y[:, 1:3] = np.asarray(heights)[:, None]
    return list(np.stack([x, y], axis=-1))


def unrolled_png(words: list[str], t: int, tops: list[str] | None = None) -> bytes:
    """A picture of the folded loop and the unrolled graph of <bos> + words, with step t lit."""
    from .live import figure_png

    T = len(words) + 1
    if len(words) > MAX_WORDS or not 1 <= t <= T:
        raise ValueError(f"need at most {MAX_WORDS} words and 1 <= t <= {T}, got {len(words)} and {t}")
    fig = new_figure(12.0, 2.7, dpi=72)
    _draw_folded(fig.add_axes((0.01, 0.02, 0.095, 0.9)))
    graph = UnrolledGraph(fig.add_axes((0.12, 0.02, 0.82, 0.9)))
    graph.set_phrase([numbers.BOS] + words, tops or [f"y_{i}" for i in range(1, T + 1)], np.ones(T, bool))
    for text in graph.y_text:
        text.set_color("#374151")
    graph.set_step(t)
    return figure_png(fig, dpi=72)


def demo() -> RNNWidget:
    """A widget on untrained weights (for the benchmark: the cost does not depend on training)."""
    vocab = numbers.build_vocab()
    return RNNWidget(rnn.init_params(len(vocab), 32), vocab, t=4)
