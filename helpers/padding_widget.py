"""Notebook 10's widget: type the lengths of a batch; see the padded grid, the mask and the packed order.

The picture is a grid of cells with a letter or a number in each: it is composed with PIL
into the one image artist (a figimage) that fills the figure, and encoded directly, which
costs a few milliseconds however many cells the batch has (hundreds of matplotlib texts
would not).
"""
from __future__ import annotations

import re
from functools import lru_cache

import ipywidgets as widgets
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import padding
from .live import InputError, LiveFigure, encode_png, new_figure

MAX_B, MAX_T = 8, 13                      # up to 8 names of up to 13 letters (the longest surnames)
WIDTH, ROW_H, LINE_H = 900, 26, 20        # pixels: the picture's width, a cell's height, a header line
HEIGHT = 12 + 4 * LINE_H + 44 + MAX_B * ROW_H + 24 + 36   # the tallest picture: 8 rows, 4 header lines
COLOURS = [(166, 206, 227), (178, 223, 138), (253, 191, 111), (202, 178, 214),
           (251, 154, 153), (255, 237, 130), (176, 176, 240), (230, 204, 166)]
INK, GREY_INK, SOFT_INK = (17, 24, 39), (107, 114, 128), (55, 65, 81)
PAD_GREY, MASK_ON, MASK_OFF = (222, 222, 222), (34, 139, 90), (244, 244, 244)
BLUE, RED, WHITE = (29, 78, 216), (220, 38, 38), (255, 255, 255)


def parse_lengths(text: str) -> list[int]:
    """'5, 3, 7, 2' -> [5, 3, 7, 2], or InputError with a message the learner can act on."""
    parts = [p for p in re.split(r"[\s,;]+", str(text or "")) if p]
    if not parts:
        raise InputError("type the lengths of the names in the batch, e.g. 5, 3, 7, 2")
    bad = [p for p in parts if not re.fullmatch(r"-?[0-9]{1,6}", p)]   # ASCII digits, short: int() is safe
    if bad:
        raise InputError(f"'{bad[0][:12]}' is not a whole number: type lengths like 5, 3, 7, 2")
    lengths = [int(p) for p in parts]
    if len(lengths) > MAX_B:
        raise InputError(f"{len(lengths)} names: this picture has room for {MAX_B} at most")
    for L in lengths:
        if L < 2 or L > MAX_T:
            raise InputError(f"a length of {L}: the surnames here have 2 to {MAX_T} letters")
    return lengths


def compute(lengths) -> dict:
    """Names, letters (B, T), mask (B, T), packed index of each cell (B, T; -1 at PAD), batch_sizes (T,)."""
    names = padding.names_of_lengths(lengths)
    lengths = np.array(lengths)
    B, T = len(lengths), int(lengths.max())
    order, batch_sizes, sorted_rows = padding.torch_packed_order(lengths)
    index = np.full((B, T), -1)
    index[order[:, 0], order[:, 1]] = np.arange(len(order))
    letters = np.array([[n[t] if t < len(n) else "" for t in range(T)] for n in names])
    return {"names": names, "lengths": lengths, "letters": letters, "mask": index >= 0, "index": index,
            "order": order, "batch_sizes": batch_sizes, "sorted_rows": sorted_rows}


@lru_cache(maxsize=8)
def _font(size: int, mono: bool = False):
    from matplotlib import font_manager

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans Mono" if mono else "DejaVu Sans"), size)


def _grid(d, x0, y0, w, fills, texts, inks, labels, title, footer=(), boxes=(), size=14):
    """One panel: a title, step numbers, row labels, B x T cells with texts, optional footer and boxes.

    Returns the y (pixels) just below the panel's last row.
    """
    B, T = len(fills), len(fills[0])
    label_w = 54
    for i, line in enumerate(title.split("\n")):
        d.text((x0 + w / 2, y0 + 8 + 16 * i), line, font=_font(13), anchor="mm", fill=INK)
    top = y0 + 44
    cw, ch = min(30, (w - label_w) / T), ROW_H
    gx = x0 + label_w
    cell = lambda b, t: (gx + t * cw, top + b * ch, gx + (t + 1) * cw, top + (b + 1) * ch)
    for t in range(T):
        d.text((gx + (t + 0.5) * cw, top - 8), str(t), font=_font(10), anchor="mm", fill=GREY_INK)
    d.text((gx - 6, top - 8), "step", font=_font(10), anchor="rm", fill=GREY_INK)
    for b in range(B):
        d.text((gx - 6, top + (b + 0.5) * ch), labels[b], font=_font(11), anchor="rm", fill=SOFT_INK)
        for t in range(T):
            a, c, e, f = cell(b, t)
            d.rectangle((a + 1, c + 1, e - 1, f - 1), fill=fills[b][t])
            if texts[b][t]:
                d.text(((a + e) / 2, (c + f) / 2), texts[b][t], font=_font(size), anchor="mm", fill=inks[b][t])
    if footer:
        y = top + B * ch + 12
        d.text((gx - 6, y), "batch_sizes", font=_font(11), anchor="rm", fill=BLUE)
        for t, text in enumerate(footer):
            d.text((gx + (t + 0.5) * cw, y), text, font=_font(13), anchor="mm", fill=BLUE)
    for b, t, colour in boxes:
        d.rectangle(cell(b, t), outline=colour, width=3)
    return top + B * ch + (24 if footer else 0)          # the y just below the panel's last row


def header(r: dict, bidirectional: bool) -> list[tuple[str, int, tuple]]:
    """The lines above the panels: (text, font size, colour); the legend takes two lines when bidirectional."""
    mask = r["mask"]
    B, T = mask.shape
    lines = [(f"B = {B} names, T = {T} letters: the padded tensor has {int(mask.sum())} real steps and "
              f"{int((~mask).sum())} PAD", 15, INK),
             (f"Lengths here count letters only. The code adds <s> and </s>: 2 more steps per row, "
              f"T = {T + 2} there.", 12, SOFT_INK),
             ("blue box: each row's last real step, where the forward h_n comes from"
              + (" and where the backward pass must start;" if bidirectional else ""), 12, SOFT_INK)]
    if bidirectional:
        lines.append(("red box: the backward direction's h_n, at step 0 (where it ends)", 12, RED))
    return lines


def draw(r: dict, bidirectional: bool) -> np.ndarray:
    """The whole picture for one batch as an RGBA array (height, WIDTH, 4); the height fits the rows."""
    img = Image.new("RGBA", (WIDTH, HEIGHT), WHITE)
    d = ImageDraw.Draw(img)
    mask, rows = r["mask"], r["sorted_rows"]              # packed row i is batch row rows[i]
    B, T = mask.shape
    lines = header(r, bidirectional)
    for i, (text, size, colour) in enumerate(lines):
        d.text((WIDTH / 2, 12 + LINE_H * i + (2 if i else 0)), text, font=_font(size), anchor="mm", fill=colour)
    w, y0 = (WIDTH - 20) / 3, 12 + LINE_H * len(lines)
    ink = [[INK] * T for _ in range(B)]
    boxes = [(b, L - 1, BLUE) for b, L in enumerate(r["lengths"])] + ([(b, 0, RED) for b in range(B)]
                                                                      if bidirectional else [])
    _grid(d, 5, y0, w, [[COLOURS[b] if mask[b, t] else PAD_GREY for t in range(T)] for b in range(B)],
          r["letters"], ink, [f"row {b}" for b in range(B)], "padded tensor (B, T)\none row per name; grey = PAD",
          boxes=boxes)
    _grid(d, 10 + w, y0, w, [[MASK_ON if m else MASK_OFF for m in row] for row in mask],
          [["1" if m else "0" for m in row] for row in mask],
          [[WHITE if m else GREY_INK for m in row] for row in mask],
          [f"row {b}" for b in range(B)], "mask (B, T)\n1 = real step, 0 = PAD")
    bottom = _grid(d, 15 + 2 * w, y0, w, [[COLOURS[b] if mask[b, t] else WHITE for t in range(T)] for b in rows],
                   [[str(i) if i >= 0 else "" for i in r["index"][b]] for b in rows], ink,
                   [f"row {b}" for b in rows], "packed: longest rows first; number =\nposition in packed.data "
                   "(column by column)", footer=[str(n) for n in r["batch_sizes"]], size=11)
    groups = np.split(np.array([r["letters"][b, t] for b, t in r["order"]]), np.cumsum(r["batch_sizes"])[:-1])
    line = "packed.data, step by step:  " + " | ".join("".join(g) for g in groups)
    d.text((10, bottom + 20), line if len(line) <= 110 else line[:109] + "…", font=_font(13, mono=True),
           anchor="lm", fill=INK)
    return np.asarray(img)[:int(bottom) + 36]


class PaddingWidget(LiveFigure):
    """Three views of one batch: padded tensor, mask, and pack_padded_sequence's order."""

    def __init__(self, lengths: str = "5, 3, 7, 2"):
        super().__init__()
        self.fig = new_figure(WIDTH / 100, HEIGHT / 100, dpi=100)
        self.picture = self.fig.figimage(np.full((HEIGHT, WIDTH, 4), 255, np.uint8), origin="upper")
        self.animate(self.picture)
        self.controls = {
            "lengths": widgets.Text(value=lengths, description="lengths", placeholder="e.g. 5, 3, 7, 2",
                                    continuous_update=True),
            "bidirectional": widgets.Checkbox(value=False, description="bidirectional RNN"),
        }
        self.connect()
        self.update()

    def refresh(self) -> None:
        """Parse the lengths, lay the batch out three ways, redraw the picture."""
        r = compute(parse_lengths(self.controls["lengths"].value))
        self.picture.set_data(draw(r, self.controls["bidirectional"].value))

    def render(self) -> bytes:
        """The picture is the whole figure, pixel for pixel: encode it directly.

        (Drawing it through matplotlib would only resample it onto itself, at several times
        the cost.)
        """
        return encode_png(np.asarray(self.picture.get_array()))


def demo() -> PaddingWidget:
    """The widget as notebook 10 shows it (for the benchmark)."""
    return PaddingWidget()
