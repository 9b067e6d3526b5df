"""Notebook 06's widget: type a prefix, scrub through it, see the GRU's state and its next-symbol bars."""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import Rectangle

from . import charmodel as cm
from .live import InputError, LiveFigure, bars, new_figure, set_bars
from .surnames import ALPHABET, CHARS, EOS, INDEX

MAX_PREFIX = 14                                   # letters; the longest census surname has 13
COLS = MAX_PREFIX + 1                             # states: after <s>, then after each letter
SHOWN = list(ALPHABET) + [EOS]                    # the 27 symbols that can come next
SHOWN_IDS = np.array([INDEX[c] for c in SHOWN])
SHORT = {"position in name": "position", "vowel just read": "vowel", "letters left": "letters left",
         "name ends next": "ends next"}


def unit_label(row: dict, width: int = 26) -> str:
    """'unit 18: position,\nletters left, ends next': a by_unit row as a label, wrapped between properties."""
    import textwrap

    names = [SHORT.get(p, p).replace(" ", "\u00a0") for p in row["properties"]]   # no break inside a name
    return textwrap.fill(f"unit {row['unit']}: " + ", ".join(names), width).replace("\u00a0", " ")


def clean_prefix(text: str) -> str:
    """Lower-cased prefix, or InputError with a message for empty, too long or non a-z input."""
    prefix = text.strip().lower()
    if not prefix:
        raise InputError("type the start of a surname, e.g. 'mac' or 'sch'")
    bad = sorted({c for c in prefix if c not in ALPHABET})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise InputError(f"the census names use only the letters a-z: remove {shown}")
    if len(prefix) > MAX_PREFIX:
        raise InputError(f"at most {MAX_PREFIX} letters (the longest census surname has 13)")
    return prefix


def compute(params: dict, prefix: str, temperature: float = 1.0, top_k: int | None = None) -> dict:
    """States and next-symbol distributions after <s> and after each letter of the prefix.

    Returns hs (T+1, H) and probs (T+1, V), T = len(prefix).
    """
    bad = [c for c in prefix if c not in ALPHABET]
    if bad:
        raise ValueError(f"prefix must use only a-z, got {prefix!r}")
    ids = np.array([INDEX["<s>"]] + [INDEX[c] for c in prefix])
    hs = cm.run(params, ids[None, :])[0]                     # (T+1, H)
    probs = cm.next_char_probs(cm.scores(params, hs), temperature, top_k)   # (T+1, V)
    return {"hs": hs, "probs": probs}


class CharModelWidget(LiveFigure):
    """Type a prefix; scrub to a position; see the hidden state and the next-symbol distribution."""

    def __init__(self, params: dict, units: list[dict] | None = None, prefix: str = "mac",
                 temperature: float = 1.0, seed: int = 0):
        super().__init__()
        self.params, self.rng = params, np.random.default_rng(seed)
        H = params["W_hh"].shape[1]
        self.units = cm.by_unit(units or [])             # one row per unit, with all it tracks
        self._syncing, self._last_prefix, self._want_sample = False, None, False
        self.fig = new_figure(10.0, 5.0, dpi=80)
        grid = self.fig.add_gridspec(2, 2, width_ratios=[2.1, 1], height_ratios=[1.6, 5],
                                     left=0.25, right=0.97, top=0.92, bottom=0.1, wspace=0.2, hspace=0.08)
        ax_u, ax_h, ax_p = self.fig.add_subplot(grid[0, 0]), self.fig.add_subplot(grid[1, 0]), \
            self.fig.add_subplot(grid[:, 1])
        kw = dict(cmap="RdBu_r", vmin=-1, vmax=1)              # a mesh redraws far faster than imshow
        cols = np.arange(COLS + 1) - 0.5
        self.img_h = ax_h.pcolormesh(cols, np.arange(H + 1) - 0.5, np.ma.masked_all((H, COLS)), **kw)
        ax_h.set(ylabel=f"all {H} hidden units", xticks=[], ylim=(H - 0.5, -0.5))
        ax_h.set_xlabel("state after each symbol read", labelpad=16)
        cax = self.fig.add_axes((0.03, 0.955, 0.14, 0.022))      # top left, clear of the unit labels
        self.fig.colorbar(self.img_h, cax=cax, orientation="horizontal", ticks=[-1, 0, 1])
        cax.tick_params(labelsize=8, length=2, pad=1)
        cax.set_xlabel("state value", fontsize=8, labelpad=1)
        ax_h.set_yticks(np.arange(0, H, 16))
        n_u = max(len(self.units), 1)
        self.img_u = ax_u.pcolormesh(cols, np.arange(n_u + 1) - 0.5, np.ma.masked_all((n_u, COLS)), **kw)
        ax_u.set(xticks=[], yticks=np.arange(len(self.units)), ylim=(n_u - 0.5, -0.5),
                 yticklabels=[unit_label(u) for u in self.units])
        ax_u.tick_params(axis="y", labelsize=9)
        ax_u.set_title("state h_t after each symbol (blue −1, red +1); frame: scrubbed step",
                       fontsize=9, loc="left")
        self.col_labels = [ax_h.text(j, H - 0.5 + 0.03 * H, "", ha="center", va="top", fontsize=10,
                                     family="monospace", clip_on=False) for j in range(COLS)]
        # a Rectangle up the axes (y in axes units), not axvspan: its set_x works on every matplotlib
        self.cursors = [ax.add_patch(Rectangle((-0.5, 0), 1, 1, transform=ax.get_xaxis_transform(), fill=False,
                                               ec="#111827", lw=2)) for ax in (ax_u, ax_h)]
        y = np.arange(len(SHOWN))
        self.bars = bars(ax_p, len(SHOWN), horizontal=True, width=6, colors=["#2563eb"] * 26 + ["#ea580c"])
        ax_p.set(yticks=y, yticklabels=SHOWN, xlim=(0, 1),         # the last one is </s>, as in the text
                 ylim=(len(SHOWN) - 0.5, -0.5), xlabel="probability")
        ax_p.tick_params(axis="y", labelsize=8.5)
        ax_p.set_title("next symbol after the frame", fontsize=9)
        self.samples = widgets.HTML(value="")
        self.animate(self.img_u, self.img_h, *self.cursors, *self.col_labels, self.bars)
        wide = {"style": {"description_width": "initial"}}       # full labels, not "temperat..."
        self.controls = {
            "prefix": widgets.Text(value=prefix, description="prefix", continuous_update=True, **wide),
            "at": widgets.IntSlider(value=len(prefix), min=0, max=max(len(prefix), 1),
                                    description="after letter", **wide),
            "temperature": widgets.FloatSlider(value=temperature, min=0.0, max=2.0, step=0.05,
                                               description="temperature", **wide),
            "top_k": widgets.IntSlider(value=len(SHOWN), min=1, max=len(SHOWN), description="top-k", **wide),
            "sample": widgets.Button(description="sample from here", icon="random",
                                     layout=widgets.Layout(width="auto")),
        }
        self.controls["sample"].on_click(self._on_sample)
        self.connect()
        self.update()

    def _on_change(self, _change=None) -> None:
        if not self._syncing:          # the scrub slider moved by refresh itself: no second update
            self.update()

    def _on_sample(self, _button=None) -> None:
        self._want_sample = True
        self.update()

    def _sync_scrub(self, prefix: str) -> None:
        """A new prefix: the scrub slider spans it and jumps to its end."""
        if prefix == self._last_prefix:
            return
        at = self.controls["at"]
        self._syncing = True
        try:
            at.max = max(len(prefix), 1)
            at.value = len(prefix)
        finally:
            self._syncing = False
        self._last_prefix = prefix

    def refresh(self) -> None:
        """Read the controls, run the GRU over the prefix, redraw the state and the bars."""
        want_sample, self._want_sample = self._want_sample, False
        c = self.controls
        prefix = clean_prefix(c["prefix"].value)
        self._sync_scrub(prefix)
        t = min(c["at"].value, len(prefix))
        temp, k = c["temperature"].value, c["top_k"].value
        r = compute(self.params, prefix, temp, k)
        grid = np.full((self.params["W_hh"].shape[1], COLS), np.nan)
        grid[:, :len(prefix) + 1] = r["hs"].T
        self.img_h.set_array(np.ma.masked_invalid(grid))
        if self.units:
            self.img_u.set_array(np.ma.masked_invalid(grid[[u["unit"] for u in self.units]]))
        for cursor in self.cursors:
            cursor.set_x(t - 0.5)
        for j, label in enumerate(self.col_labels):
            label.set_text("<s>" if j == 0 else (prefix[j - 1] if j <= len(prefix) else ""))
            label.set_fontsize(7 if j == 0 else 10)
            label.set_color("#dc2626" if j == t else "#111827")
            label.set_fontweight("bold" if j == t else "normal")
        p = r["probs"][t, SHOWN_IDS]
        set_bars(self.bars, p)
        self.values = {"hs": r["hs"], "probs": r["probs"], "at": t, "prefix": prefix}
        seen = prefix[:t]
        if want_sample:
            names = cm.sample(cm.gru_stepper(self.params), 5, self.rng, temp, k, prefix=seen)
            self.samples.value = (f"<b>samples</b> continuing <code>{seen or '&lt;s&gt;'}</code> "
                                  f"(temperature {temp:.2f}, top-{k}): " + ", ".join(names))

    def layout(self) -> widgets.Widget:
        """Prefix and sampling knobs; the scrub slider and sample button; message, image, samples."""
        c = self.controls
        return widgets.VBox([widgets.HBox([c["prefix"], c["temperature"], c["top_k"]]),
                             widgets.HBox([c["at"], c["sample"]]), self.message, self.image, self.samples])


def demo() -> CharModelWidget:
    """A widget on untrained weights (the update cost does not depend on training)."""
    from .surnames import split

    params = cm.init_params(64, seed=0)
    names = split()["val"][:300]
    return CharModelWidget(params, cm.find_units(params, names, names), prefix="macdonald")
