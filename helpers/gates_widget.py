"""Notebook 05's gate widget: a trained GRU's (or LSTM's) gates, cell state and states over a sequence you type.

Steps are counted from 1 (the first character is step 1); units from 0, as in the weight matrices.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from . import gates, memory
from .live import InputError, LiveFigure, new_figure

T_MAX = 32
PRESETS = ["bcadbdacdbca?", "d?", "caaaaaaaaaaaaaaaaaaa?", "abcdabcdabcdabcdabcdabcdabcd?", "dbbb?dbbb?"]
SHOWN = {  # menu entry -> (cell, what the top heatmap shows)
    "GRU: update gate z (1 = keep)": ("gru", "z"),
    "GRU: reset gate r": ("gru", "r"),
    "LSTM: forget gate f (1 = keep)": ("lstm", "f"),
    "LSTM: input gate i": ("lstm", "i"),
    "LSTM: output gate o": ("lstm", "o"),
    "LSTM: cell state c_t": ("lstm", "c"),
}
KEEP_GATE = {"gru": "z", "lstm": "f"}
GATE_LABEL = {"z": "update gate z", "r": "reset gate r", "f": "forget gate f", "i": "input gate i",
              "o": "output gate o", "c": "cell state c_t (red +, blue −)"}
AUTO_A, AUTO_B = "auto: holds by its gate", "auto: holds another way"
ROLE_TEXT = {"gate": "holds by its gate (keep gate near 1)",
             "saturation": "holds by saturation (keep gate low, |h| near 1)",
             "mixed": "holds the letter (keep gate in between)",
             "none": "does not hold the letter"}


def clean(text: str) -> str:
    """Lower-case, spaces removed; InputError for empty, too long or unknown characters."""
    s = "".join(str(text).lower().split())
    if not s:
        raise InputError("type a sequence, e.g. 'bcadbca?': a letter to remember, distractors, then '?'")
    if len(s) > T_MAX:
        raise InputError(f"at most {T_MAX} characters, got {len(s)}: shorten the sequence")
    bad = sorted({ch for ch in s if ch not in memory.SYMBOLS})
    if bad:
        raise InputError(f"unknown character {bad[0]!r}: use only the letters "
                         f"{', '.join(memory.LETTERS)} and '?'")
    return s


def unit_roles(cell: tuple, delay: int = 12, n: int = 64, seed: int = 0) -> dict:
    """How each unit of a trained cell holds the first letter, read once from the weights.

    On n fixed sequences 'letter, delay-1 distractors' (no '?'): the mean keep gate (z or f)
    over steps 2..delay, the mean |h_t| there, and how far apart the four letters leave the
    unit at step delay (the range of its per-letter mean). A unit holds the letter when that
    range is at least 0.5; it holds by its gate when its keep gate averages at least 0.8, by
    saturation when the gate averages below 0.6 and |h_t| at least 0.8.
    Returns keep, absh, spread (H,) arrays, role (H,) strings, and the units a and b to show.
    """
    kind, p, _, _ = cell
    X, y, _ = memory.recall_batch(np.full(n, delay), np.random.default_rng(seed))
    r = gates.run(kind, p, X[:, :delay])                  # letter and distractors: steps 1..delay
    keep = r[KEEP_GATE[kind]][:, 1:].mean((0, 1))         # (H,) steps 2..delay
    absh = np.abs(r["h"][:, 1:]).mean((0, 1))
    last = np.array([r["h"][y == k, -1].mean(0) for k in range(memory.K_RECALL) if np.any(y == k)])
    spread = last.max(0) - last.min(0)                    # (H,)
    role = np.where(spread < 0.5, "none", np.where(keep >= 0.8, "gate",
                    np.where((keep < 0.6) & (absh >= 0.8), "saturation", "mixed")))
    holders = np.flatnonzero(role != "none")
    pool = holders if len(holders) else np.arange(len(keep))
    a = int(pool[np.argmax(keep[pool])])                  # the unit that leans most on its gate
    rest = pool[pool != a] if len(pool) > 1 else pool
    saturated = rest[role[rest] == "saturation"]
    rest = saturated if len(saturated) else rest          # a saturated holder if there is one
    b = int(rest[np.argmin(keep[rest])])                  # the holder that leans least on its gate
    return {"keep": keep, "absh": absh, "spread": spread, "role": role, "a": a, "b": b}


def compute(text: str, cell: tuple, show: str) -> dict:
    """Gate values (or the LSTM's c_t), states and the readout's answer at every step of text.

    cell = (kind, params, W_hy (4, H), b_y (4,)) as memory.numpy_cell returns it.
    Returns shown (T, H), h (T, H), c (T, H) or None, the keep gate (T, H) and probs (T, 4).
    """
    kind, p, W_hy, b_y = cell
    if show not in gates.GATE_NAMES[kind] and not (kind == "lstm" and show == "c"):
        raise ValueError(f"a {kind} has gates {gates.GATE_NAMES[kind]}, not {show!r}")
    r = gates.run(kind, p, memory.encode(text))
    h = r["h"][0]                                         # (T, H)
    scores = h @ W_hy.T + b_y                             # (T, 4)
    probs = np.exp(scores - scores.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    return {"shown": r[show][0], "h": h, "c": r["c"][0] if kind == "lstm" else None,
            "keep": r[KEEP_GATE[kind]][0], "probs": probs}


class GatesWidget(LiveFigure):
    """Type a sequence; see a gate (or c_t) and the state of every unit at every step, two units up close."""

    def __init__(self, cells: dict, text: str = PRESETS[0]):
        super().__init__()
        self.cells = cells                                # {"gru": numpy_cell(...), "lstm": ...}
        self.roles = {kind: unit_roles(cell) for kind, cell in cells.items()}
        self.c_lim = {kind: float(np.ceil(np.abs(gates.run(kind, cell[1], memory.recall_batch(
            np.full(16, 20), np.random.default_rng(0))[0])["c"]).max())) if kind == "lstm" else 1.0
            for kind, cell in cells.items()}
        H = next(iter(cells.values()))[1]["W_hh"].shape[1]
        self.H, self.kind_drawn, self.backgrounds = H, None, {}
        self.fig = new_figure(9.6, 6.4, dpi=80)
        grid = self.fig.add_gridspec(3, 3, width_ratios=[2.2, 2.2, 1], height_ratios=[1, 1, 1.1],
                                     left=0.06, right=0.94, top=0.87, bottom=0.08, hspace=0.55, wspace=0.28)
        ax_g, ax_h = self.fig.add_subplot(grid[0, :]), self.fig.add_subplot(grid[1, :])
        self.ax_units = [self.fig.add_subplot(grid[2, 0]), self.fig.add_subplot(grid[2, 1])]
        ax_p = self.fig.add_subplot(grid[2, 2])
        self.ax_g = ax_g
        blank = np.full((H, T_MAX), np.nan)
        ext = (0.5, T_MAX + 0.5, H - 0.5, -0.5)           # column t sits at x = t: steps count from 1
        self.gate_img = ax_g.imshow(blank, aspect="auto", vmin=0, vmax=1, cmap="YlGn", interpolation="nearest",
                                    extent=ext)
        self.h_img = ax_h.imshow(blank, aspect="auto", vmin=-1, vmax=1, cmap="RdBu_r", interpolation="nearest",
                                 extent=ext)
        for ax in (ax_g, ax_h):
            ax.set(yticks=range(H), ylabel="unit", xticks=[1, 5, 10, 15, 20, 25, 30], xlim=(0.5, T_MAX + 0.5))
            ax.tick_params(labelsize=7)
        self.gate_title = ax_g.set_title("", fontsize=10, loc="left", pad=16)
        ax_h.set_title("state h_t of every unit (red +, blue −) at every step t", fontsize=10, loc="left")
        # the characters above the columns: one marker line per symbol (much faster than 32 texts)
        self.tokens = {ch: ax_g.plot([], [], ls="none", marker=_glyph(ch), ms=13, mew=0, color="#111827",
                                     clip_on=False)[0] for ch in memory.SYMBOLS}
        from matplotlib.patches import Rectangle

        self.boxes = [ax.add_patch(Rectangle((0.5, -0.5), T_MAX, 1, fill=False, ec=ec, lw=1.5))
                      for ax in (ax_g, ax_h) for ec in ("#111827", "#7c3aed")]
        t = np.arange(1, T_MAX + 1)
        self.unit_lines, self.unit_titles, self.twins = [], [], []
        for ax, ec in zip(self.ax_units, ("#111827", "#7c3aed")):
            keep = ax.plot(t, np.full(T_MAX, np.nan), "o-", color="#15803d", ms=2.5, lw=1.2, label="keep gate")[0]
            h = ax.plot(t, np.full(T_MAX, np.nan), "o-", color="#b91c1c", ms=2.5, lw=1.2, label="h_t")[0]
            twin = ax.twinx()                             # the LSTM's c_t on its own scale (right)
            twin.tick_params(labelsize=7, colors="#7c3aed")
            c = twin.plot(t, np.full(T_MAX, np.nan), "--", color="#7c3aed", lw=1.2, label="c_t (LSTM, right scale)")[0]
            self.twins.append(twin)
            self.unit_lines.append((keep, h, c))
            ax.axhline(0, color="k", lw=0.5)
            ax.set(xlim=(0.5, T_MAX + 0.5), ylim=(-1.1, 1.1), xlabel="step t")
            ax.tick_params(labelsize=7)
            for side in ax.spines.values():
                side.set_edgecolor(ec)
            self.unit_titles.append(ax.set_title("", fontsize=8.5, loc="left"))
        self.ax_units[0].legend(self.unit_lines[0], [ln.get_label() for ln in self.unit_lines[0]],
                                loc="lower left", fontsize=6.5, ncol=3, handlelength=1.5)
        self.bars = ax_p.bar(range(memory.K_RECALL), np.zeros(memory.K_RECALL), color="#7c3aed")
        ax_p.set(xticks=range(memory.K_RECALL), xticklabels=list(memory.LETTERS), ylim=(0, 1))
        ax_p.set_title("answer at the last step", fontsize=9)
        ax_p.tick_params(labelsize=7)
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        c_max = max(self.c_lim.values())
        self.cbar = self.fig.colorbar(self.gate_img, cax=ax_g.inset_axes([1.01, 0, 0.015, 1]))
        self.cbar_c = self.fig.colorbar(ScalarMappable(Normalize(-c_max, c_max), "RdBu_r"),
                                        cax=ax_g.inset_axes([1.01, 0, 0.015, 1]))
        cbar = self.fig.colorbar(self.h_img, cax=ax_h.inset_axes([1.01, 0, 0.015, 1]))
        for cb in (self.cbar, self.cbar_c, cbar):
            cb.ax.tick_params(labelsize=7)
        for twin in self.twins:
            twin.set_ylim(-c_max, c_max)
        self.title = self.fig.suptitle("", fontsize=11)
        self.animate(self.gate_img, self.h_img, *self.tokens.values(), *self.boxes,
                     *[line for lines in self.unit_lines for line in lines], *self.bars)
        self.cache_text(self.gate_title, *self.unit_titles, self.title)
        choices = [m for m in SHOWN if SHOWN[m][0] in cells]
        self.controls = {
            "text": widgets.Combobox(value=text, options=PRESETS, ensure_option=False, description="sequence",
                                     placeholder="e.g. bcadbca?", layout=widgets.Layout(width="340px")),
            "show": widgets.Dropdown(options=choices, value=choices[0], description="show"),
            "unit": widgets.Dropdown(options=[AUTO_A] + list(range(H)), value=AUTO_A, description="left unit"),
            "compare": widgets.Dropdown(options=[AUTO_B] + list(range(H)), value=AUTO_B, description="right unit"),
        }
        self.backgrounds = {}                             # one static picture per view: drawn once, here
        for kind, show in {(SHOWN[m][0], SHOWN[m][1] == "c") for m in choices}:
            self._restyle(kind, "c" if show else "")
            self.render()
        self.connect()
        self.update()

    def render(self) -> bytes:
        """LiveFigure.render, keeping the static picture of each view (gate or c_t, GRU or LSTM)."""
        png = super().render()
        self.backgrounds[self.kind_drawn] = self._background
        return png

    def units(self, kind: str) -> tuple[int, int]:
        """The two units drawn up close: pinned by the menus, or chosen from the weights (never from the text)."""
        roles, c = self.roles[kind], self.controls
        a = roles["a"] if isinstance(c["unit"].value, str) else int(c["unit"].value)
        b = roles["b"] if isinstance(c["compare"].value, str) else int(c["compare"].value)
        return a, b

    def _restyle(self, kind: str, show: str) -> None:
        """A gate (0..1, green) or the cell state c_t (red/blue): colours, colour bar, c_t's scale shown or not."""
        drawn = (kind, show == "c")
        if drawn == self.kind_drawn:
            return
        self.kind_drawn = drawn
        c_max = max(self.c_lim.values())
        if show == "c":
            self.gate_img.set_cmap("RdBu_r")
            self.gate_img.set_clim(-c_max, c_max)
        else:
            self.gate_img.set_cmap("YlGn")
            self.gate_img.set_clim(0, 1)
        self.cbar.ax.set_visible(show != "c")
        self.cbar_c.ax.set_visible(show == "c")
        for twin in self.twins:
            twin.set_visible(kind == "lstm")
        self._background = self.backgrounds.get(drawn)   # None: drawn in full on the next render

    def refresh(self) -> None:
        """Read the controls, run the trained cell over the text, redraw heatmaps, unit lines and bars."""
        c = self.controls
        text = clean(c["text"].value)
        kind, show = SHOWN[c["show"].value]
        self._restyle(kind, show)
        r = compute(text, self.cells[kind], show)
        T, H = r["h"].shape
        pad = np.full((H, T_MAX - T), np.nan)
        self.gate_img.set_data(np.hstack([r["shown"].T, pad]))
        self.h_img.set_data(np.hstack([r["h"].T, pad]))
        chars = np.array(list(text))
        for ch, marks in self.tokens.items():
            where = np.flatnonzero(chars == ch)
            marks.set_data(where + 1, np.full(len(where), -1.1))
        roles, tail = self.roles[kind], np.full(T_MAX - T, np.nan)
        for i, unit in enumerate(self.units(kind)):
            self.boxes[i].set_y(unit - 0.5)
            self.boxes[2 + i].set_y(unit - 0.5)
            keep, h, cl = self.unit_lines[i]
            keep.set_ydata(np.r_[r["keep"][:, unit], tail])
            h.set_ydata(np.r_[r["h"][:, unit], tail])
            cl.set_ydata(np.r_[r["c"][:, unit], tail] if r["c"] is not None else np.full(T_MAX, np.nan))
            self.unit_titles[i].set_text(f"unit {unit}: {ROLE_TEXT[roles['role'][unit]]}")
        self.gate_title.set_text(f"{kind.upper()} {GATE_LABEL[show]}")
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
