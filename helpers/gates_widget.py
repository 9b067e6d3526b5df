"""Notebook 05's gate widget: a trained GRU's (or LSTM's) gates and state over a sequence you type."""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from . import gates, memory
from .live import InputError, LiveFigure, new_figure

T_MAX = 32
PRESETS = ["bcadbdacdbca?", "d?", "caaaaaaaaaaaaaaaaaaa?", "abcdabcdabcdabcdabcdabcdabcd?", "dbbb?dbbb?"]
SHOWN = {  # menu entry -> (cell, gate)
    "GRU: update gate z (1 = keep)": ("gru", "z"),
    "GRU: reset gate r": ("gru", "r"),
    "LSTM: forget gate f (1 = keep)": ("lstm", "f"),
    "LSTM: input gate i": ("lstm", "i"),
    "LSTM: output gate o": ("lstm", "o"),
}
KEEP_GATE = {"gru": "z", "lstm": "f"}
GATE_LABEL = {"z": "update gate z", "r": "reset gate r", "f": "forget gate f", "i": "input gate i",
              "o": "output gate o"}


def clean(text: str) -> str:
    """Lower-case, spaces removed; InputError for empty, too long or unknown characters."""
    s = "".join(text.lower().split())
    if not s:
        raise InputError("type a sequence, e.g. 'bcadbca?': a letter to remember, distractors, then '?'")
    if len(s) > T_MAX:
        raise InputError(f"at most {T_MAX} characters, got {len(s)}: shorten the sequence")
    bad = sorted({ch for ch in s if ch not in memory.SYMBOLS})
    if bad:
        raise InputError(f"unknown character {bad[0]!r}: use only the letters "
                         f"{', '.join(memory.LETTERS)} and '?'")
    return s


def compute(text: str, cell: tuple, gate: str) -> dict:
    """Gate values, states and the readout's answer at every step of text.

    cell = (kind, params, W_hy (4, H), b_y (4,)) as memory.numpy_cell returns it.
    Returns the gate (T, H), h (T, H), the keep gate (T, H), probs (T, 4) and the unit that
    holds best (highest mean keep-gate value after the first step).
    """
    kind, p, W_hy, b_y = cell
    if gate not in gates.GATE_NAMES[kind]:
        raise ValueError(f"a {kind} has gates {gates.GATE_NAMES[kind]}, not {gate!r}")
    r = gates.run(kind, p, memory.encode(text))
    h = r["h"][0]                                         # (T, H)
    scores = h @ W_hy.T + b_y                             # (T, 4)
    probs = np.exp(scores - scores.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    keep = r[KEEP_GATE[kind]][0]
    gap = keep[1:] if len(keep) > 1 else keep
    return {"gate": r[gate][0], "h": h, "keep": keep, "probs": probs,
            "unit": int(np.argmax(gap.mean(0)))}


class GatesWidget(LiveFigure):
    """Type a sequence; see a gate and the state of every unit at every step, and the answer."""

    def __init__(self, cells: dict, text: str = PRESETS[0]):
        super().__init__()
        self.cells = cells                                # {"gru": numpy_cell(...), "lstm": ...}
        H = next(iter(cells.values()))[1]["W_hh"].shape[1]
        self.fig = new_figure(9.6, 5.8, dpi=80)
        grid = self.fig.add_gridspec(3, 2, width_ratios=[4.2, 1], height_ratios=[1, 1, 0.9],
                                     left=0.06, right=0.98, top=0.84, bottom=0.08, hspace=0.42, wspace=0.25)
        ax_g, ax_h = self.fig.add_subplot(grid[0, 0]), self.fig.add_subplot(grid[1, 0])
        ax_u, ax_p = self.fig.add_subplot(grid[2, 0]), self.fig.add_subplot(grid[1:, 1])
        blank = np.full((H, T_MAX), np.nan)
        self.gate_img = ax_g.imshow(blank, aspect="auto", vmin=0, vmax=1, cmap="YlGn", interpolation="nearest")
        self.h_img = ax_h.imshow(blank, aspect="auto", vmin=-1, vmax=1, cmap="RdBu_r", interpolation="nearest")
        for ax, label in ((ax_g, "unit"), (ax_h, "unit")):
            ax.set(yticks=range(H), ylabel=label, xticks=[], xlim=(-0.5, T_MAX - 0.5))
            ax.tick_params(labelsize=7)
        self.gate_title = ax_g.set_title("", fontsize=10, loc="left", pad=16)
        ax_h.set_title("state h_t of every unit (red +, blue −) at every step", fontsize=10, loc="left")
        # the characters above the columns: one marker line per symbol (much faster than 32 texts)
        self.tokens = {ch: ax_g.plot([], [], ls="none", marker=_glyph(ch), ms=13, mew=0, color="#111827",
                                     clip_on=False)[0] for ch in memory.SYMBOLS}
        from matplotlib.patches import Rectangle

        self.boxes = [ax.add_patch(Rectangle((-0.5, -0.5), T_MAX, 1, fill=False, ec="#111827", lw=1.5))
                      for ax in (ax_g, ax_h)]
        t = np.arange(T_MAX)
        (self.keep_line,) = ax_u.plot(t, np.full(T_MAX, np.nan), "o-", color="#15803d", ms=3,
                                      label="keep gate (z or f)")
        (self.h_line,) = ax_u.plot(t, np.full(T_MAX, np.nan), "o-", color="#b91c1c", ms=3, label="state h_t")
        ax_u.axhline(0, color="k", lw=0.5)
        ax_u.set(xlim=(-0.5, T_MAX - 0.5), ylim=(-1.1, 1.1), xlabel="step t (one character per step)")
        ax_u.tick_params(labelsize=7)
        ax_u.legend(loc="lower right", fontsize=7, ncol=2)
        self.unit_title = ax_u.set_title("", fontsize=10, loc="left")
        self.bars = ax_p.bar(range(memory.K_RECALL), np.zeros(memory.K_RECALL), color="#7c3aed")
        ax_p.set(xticks=range(memory.K_RECALL), xticklabels=list(memory.LETTERS), ylim=(0, 1))
        ax_p.set_title("answer at the last step:\np(first letter)", fontsize=10)
        for ax, img in ((ax_g, self.gate_img), (ax_h, self.h_img)):
            cbar = self.fig.colorbar(img, cax=ax.inset_axes([1.01, 0, 0.015, 1]))
            cbar.ax.tick_params(labelsize=7)
        self.title = self.fig.suptitle("", fontsize=11)
        self.animate(self.gate_img, self.h_img, *self.tokens.values(), *self.boxes, self.keep_line, self.h_line,
                     *self.bars)
        self.cache_text(self.gate_title, self.unit_title, self.title)
        choices = [m for m in SHOWN if SHOWN[m][0] in cells]
        self.controls = {
            "text": widgets.Combobox(value=text, options=PRESETS, ensure_option=False, description="sequence",
                                     placeholder="e.g. bcadbca?", layout=widgets.Layout(width="340px")),
            "show": widgets.Dropdown(options=choices, value=choices[0], description="show"),
            "unit": widgets.Dropdown(options=["auto: the unit that holds best"] + list(range(H)),
                                     value="auto: the unit that holds best", description="unit"),
        }
        self.connect()
        self.update()

    def refresh(self) -> None:
        """Read the controls, run the trained cell over the text, redraw heatmaps, lines and bars."""
        c = self.controls
        text = clean(c["text"].value)
        kind, gate = SHOWN[c["show"].value]
        r = compute(text, self.cells[kind], gate)
        T, H = r["h"].shape
        pad = np.full((H, T_MAX - T), np.nan)
        self.gate_img.set_data(np.hstack([r["gate"].T, pad]))
        self.h_img.set_data(np.hstack([r["h"].T, pad]))
        chars = np.array(list(text))
        for ch, marks in self.tokens.items():
            where = np.flatnonzero(chars == ch)
            marks.set_data(where, np.full(len(where), -1.1))
        unit = r["unit"] if isinstance(c["unit"].value, str) else int(c["unit"].value)
        for box in self.boxes:
            box.set_y(unit - 0.5)
        self.keep_line.set_ydata(np.r_[r["keep"][:, unit], np.full(T_MAX - T, np.nan)])
        self.h_line.set_ydata(np.r_[r["h"][:, unit], np.full(T_MAX - T, np.nan)])
        self.unit_title.set_text(f"unit {unit}")
        self.gate_title.set_text(f"{kind.upper()} {GATE_LABEL[gate]}")
        last = r["probs"][-1]
        for bar, v in zip(self.bars, last):
            bar.set_height(v)
        guess = memory.LETTERS[int(np.argmax(last))]
        if text[0] == memory.QUERY:
            self.title.set_text("start with a letter to remember")
        elif text[-1] == memory.QUERY:
            self.title.set_text(f"first letter '{text[0]}': the {kind.upper()} answers '{guess}' "
                                f"(p = {last.max():.2f})")
        else:
            self.title.set_text("end with '?' to ask (the answer is trained only at a '?')")


def _glyph(ch: str):
    """A character as a marker path, all characters drawn at one scale (markers are rescaled to fit)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.path import Path
    from matplotlib.textpath import TextPath

    path = TextPath((0, 0), ch, size=1, prop=FontProperties(family="DejaVu Sans Mono", weight="bold"))
    v = path.vertices - [0.3, 0.35]                       # centre of a monospace cell
    frame = np.array([[-0.5, -0.5], [0.5, 0.5]])          # invisible moves that fix the scale
    return Path(np.vstack([v, frame]), np.r_[path.codes, [Path.MOVETO, Path.MOVETO]])


def random_cells(H: int = 8, seed: int = 0) -> dict:
    """Untrained GRU and LSTM cells with random readouts, in memory.numpy_cell's format."""
    rng = np.random.default_rng(seed)
    I = len(memory.SYMBOLS)
    return {kind: (kind, gates.init_params(kind, I, H, seed), rng.normal(0, 0.5, (memory.K_RECALL, H)),
                   np.zeros(memory.K_RECALL)) for kind in ("gru", "lstm")}


def demo() -> GatesWidget:
    """A widget on untrained cells (for the benchmark: the drawing cost does not depend on training)."""
    return GatesWidget(random_cells())
