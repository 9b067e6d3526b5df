"""Live figures: a matplotlib figure drawn once, shown as a PNG in a widget, redrawn in place.

Every widget in the course is three pieces: a pure ``compute`` (arrays in, arrays out),
a ``draw`` that updates the artists of one figure, and a thin wiring class built on
:class:`LiveFigure` that owns the controls. The figure is a ``matplotlib.figure.Figure``
(not pyplot), so the inline backend never shows a second copy of it.
"""
from __future__ import annotations

import base64
import html
import io
import math
import struct
import time
import zlib

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def new_figure(width: float, height: float, **kwargs) -> Figure:
    """A figure with an Agg canvas that belongs to no pyplot state (never auto-displayed)."""
    fig = Figure(figsize=(width, height), **kwargs)
    FigureCanvasAgg(fig)
    return fig


def canvas_png(canvas: FigureCanvasAgg) -> bytes:
    """PNG bytes of what is on an Agg canvas now (no redraw)."""
    return encode_png(np.asarray(canvas.buffer_rgba()))


def encode_png(rgba: np.ndarray) -> bytes:
    """A minimal PNG of an (h, w, 4) RGBA or (h, w, 3) RGB uint8 array (no row filters, fast zlib).

    A few times faster than a general encoder: RGBA rows are copied as they are (dropping the
    alpha channel would cost more than deflating it), and a large image is compressed in two
    halves at once (zlib releases the GIL), the halves joined into one zlib stream.
    """
    h, w, channels = rgba.shape
    if channels not in (3, 4):
        raise ValueError(f"expected an (h, w, 3) or (h, w, 4) array, got shape {rgba.shape}")
    if h * w < 200_000 or h < 2:
        data, adler = _deflate_rows(rgba, True, True)
    else:
        half = _pool().submit(_deflate_rows, rgba[:h // 2], True, False)
        tail, adler_tail = _deflate_rows(rgba[h // 2:], False, True)
        head, adler_head = half.result()
        data, adler = head + tail, _adler32_combine(adler_head, adler_tail, (h - h // 2) * (channels * w + 1))

    colour_type = 6 if channels == 4 else 2
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0))
            + _chunk(b"IDAT", data + struct.pack(">I", adler)) + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _deflate_rows(rgba: np.ndarray, first: bool, last: bool) -> tuple[bytes, int]:
    """Rows (h, w, c) as PNG scanlines, deflated (the zlib header if first, the final block if last); their Adler-32."""
    h, w, c = rgba.shape
    raw = np.empty((h, c * w + 1), np.uint8)
    raw[:, 0] = 0                                  # filter type "none" for every row
    raw[:, 1:] = np.ascontiguousarray(rgba, dtype=np.uint8).reshape(h, c * w)
    z = zlib.compressobj(1, zlib.DEFLATED, 15 if first else -15)
    out = z.compress(raw) + z.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
    return (out[:-4] if first and last else out), zlib.adler32(raw)      # the trailer is written once, after


def _adler32_combine(a1: int, a2: int, len2: int) -> int:
    """Adler-32 of two byte strings joined, from theirs and the second's length (zlib's adler32_combine)."""
    base = 65521
    rem = len2 % base
    s1 = (a1 & 0xFFFF) + (a2 & 0xFFFF) + base - 1
    s2 = (rem * (a1 & 0xFFFF)) % base + ((a1 >> 16) & 0xFFFF) + ((a2 >> 16) & 0xFFFF) + base - rem
    return (s1 % base) | ((s2 % base) << 16)


_POOL_HOLDER: dict = {}


def _pool():
    """One worker thread for the other half of a PNG (made on first use, and anew in a forked process)."""
    import os

    if _POOL_HOLDER.get("pid") != os.getpid():          # a forked child inherits the pool but not its thread
        from concurrent.futures import ThreadPoolExecutor

        _POOL_HOLDER.update(pid=os.getpid(), pool=ThreadPoolExecutor(max_workers=1, thread_name_prefix="png"))
    return _POOL_HOLDER["pool"]


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """Render a figure to PNG bytes (fast zlib level: the image is redrawn often)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def static_html(png: bytes, caption: str) -> str:
    """A collapsed <details> block holding a PNG, for readers without a kernel."""
    data = base64.b64encode(png).decode("ascii")
    return (f"<details><summary>{html.escape(caption)}</summary>"
            f'<img src="data:image/png;base64,{data}"/></details>')


class TextSprites:
    """Draw Text artists from a cache of their pixels: rasterised once, then pasted wherever they go.

    Laying out and rasterising text is most of a redraw's cost. A sprite depends only on the
    string and its style, not on where it goes: it is drawn once, on a transparent scratch
    canvas, with its offset from the text's anchor point; later the same string in the same
    style is blended onto the canvas at its anchor plus that offset (clipped as the text is;
    within a pixel of where matplotlib would put it); a boxed text's sprite holds its box.
    Turned texts, and texts with a clip path, path effects or wrapping, are drawn the usual
    way; texts that cannot reach the canvas (or their clip box) are not drawn.
    """

    MAX_SPRITES = 5000

    def __init__(self, fig: Figure):
        self.fig, self.sprites = fig, {}
        self.new_frame()

    def new_frame(self) -> None:
        """Forget what is looked up once per frame (transforms, clip boxes, the canvas buffer)."""
        self._matrices: dict = {}
        self._clips: dict = {}
        self._buffer = None

    def _key(self, text):
        """What the pixels of a text depend on (None: not cacheable)."""
        import matplotlib
        from matplotlib.colors import to_rgba

        if text.get_clip_path() is not None or text.get_path_effects() or text.get_wrap() or text.get_rotation():
            return None
        patch = text.get_bbox_patch()
        box = None if patch is None else (
            type(patch.get_boxstyle()).__name__, tuple(sorted(vars(patch.get_boxstyle()).items())),
            tuple(patch.get_facecolor()), tuple(patch.get_edgecolor()), patch.get_linewidth(), patch.get_linestyle())
        return (text.get_text(), box, hash(text.get_fontproperties()), to_rgba(text.get_color(), text.get_alpha()),
                text.get_horizontalalignment(), text.get_verticalalignment(), text.get_rotation(),
                text.get_rotation_mode(), getattr(text, "_multialignment", None), getattr(text, "_linespacing", None),
                text.get_usetex(),
                getattr(text, "_antialiased", None), self.fig.dpi, matplotlib.rcParams["text.hinting"],
                matplotlib.rcParams["text.antialiased"])

    def _anchor(self, text) -> tuple[float, float]:
        """The text's anchor point in buffer pixels (column, row; rows from the top)."""
        trans = text.get_transform()
        m = self._matrices.get(id(trans))
        if m is None:
            m = (trans, tuple(trans.get_matrix().ravel().tolist())) if trans.is_affine else (trans, None)
            self._matrices[id(trans)] = m                  # the transform is kept: its id stays its own
        x, y = text.get_unitless_position()
        if m[1] is None:
            x, y = trans.transform((x, y))
        else:
            a, b, c, d, e, f = m[1][:6]
            x, y = a * x + b * y + c, d * x + e * y + f
        return float(x), self.fig.bbox.height - float(y)

    def _make(self, text, anchor):
        """Rasterise a text alone on a transparent canvas just its size.

        Returns (colour times alpha, 1 - alpha, row offset, column offset from the anchor), or
        None if the text has no pixels.
        """
        from matplotlib.backends.backend_agg import RendererAgg
        from matplotlib.transforms import IdentityTransform

        renderer = self.fig.canvas.get_renderer()
        box = text.get_window_extent(renderer)                             # where it would be drawn now
        if text.get_bbox_patch() is not None:                              # a boxed text: the box too
            from matplotlib.transforms import Bbox

            text.update_bbox_position_size(renderer)
            box = Bbox.union([box, text.get_bbox_patch().get_window_extent(renderer)])
        if not (np.isfinite(box.bounds).all() and box.width < 1e4 and box.height < 1e4):
            return None
        H = self.fig.bbox.height
        pad = 4
        x0, y0 = math.floor(box.x0), math.floor(box.y0)                    # whole pixels: the anchor keeps its
        w, h = math.ceil(box.x1) - x0 + 2 * pad, math.ceil(box.y1) - y0 + 2 * pad   # fraction of a pixel
        r = RendererAgg(w, h, self.fig.dpi)
        r.clear()
        x, y = anchor[0] - x0 + pad, (H - anchor[1]) - y0 + pad             # the anchor on this small canvas
        clip, trans, pos = text.get_clip_on(), text.get_transform(), text.get_position()
        text.set_clip_on(False)
        text.set_transform(IdentityTransform())
        text.set_position((x, y))
        try:
            text.draw(r)
        finally:
            text.set_clip_on(clip)
            text.set_transform(trans)
            text.set_position(pos)
        buf = np.asarray(r.buffer_rgba())
        alpha = buf[:, :, 3].astype(np.float32) / 255
        rows, cols = np.flatnonzero(alpha.any(1)), np.flatnonzero(alpha.any(0))
        if not len(rows):
            return None
        rs, cs = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
        a = alpha[rs, cs, None]
        colour = buf[rs, cs, :3].astype(np.float32) * a
        return colour, 1 - a, rows[0] - (h - y), cols[0] - x

    def _off_canvas(self, text, anchor) -> bool:
        """True if no pixel of the text can land on the canvas (or inside its clip box): no need to draw it.

        A line of n characters is at most n + 2 font sizes wide wherever it is anchored.
        """
        lines = text.get_text().split("\n")
        size = text.get_fontsize() * self.fig.dpi / 72
        mx, my = size * (max(map(len, lines)) + 2), size * (len(lines) + 2)
        x0, x1, y0, y1 = 0, self.fig.bbox.width, 0, self.fig.bbox.height       # rows from the top
        cb = text.get_clip_box() if text.get_clip_on() else None
        if cb is not None:
            x0, x1, y0, y1 = max(x0, cb.x0), min(x1, cb.x1), max(y0, y1 - cb.y1), min(y1, y1 - cb.y0)
        return not (x0 - mx < anchor[0] < x1 + mx and y0 - my < anchor[1] < y1 + my)   # (NaN: off too)

    def prepare(self, text, strings) -> None:
        """Rasterise these strings in the text's style now (the text keeps its own string)."""
        keep = text.get_text()
        self.new_frame()
        try:
            for s in strings:
                text.set_text(s)
                key = self._key(text)
                if key is not None and key not in self.sprites and s:
                    self.sprites[key] = self._make(text, self._anchor(text))
        finally:
            text.set_text(keep)

    def draw(self, text) -> None:
        """Blend the text onto the figure's canvas (drawn the usual way when it cannot be cached)."""
        if not text.get_visible() or not text.get_text():
            return
        anchor = self._anchor(text)
        if self._off_canvas(text, anchor):
            return
        key = self._key(text)
        if key is None:
            self.fig.draw_artist(text)
            return
        if key not in self.sprites:
            if len(self.sprites) >= self.MAX_SPRITES:
                self.sprites.clear()
            self.sprites[key] = self._make(text, anchor)
        self._paste(self.sprites[key], anchor, text.get_clip_box() if text.get_clip_on() else None)

    def _paste(self, sprite, anchor, cb=None) -> None:
        """Blend a sprite onto the canvas at an anchor (buffer pixels), inside the clip box cb if any."""
        if sprite is None:                                # nothing to see (say, only spaces)
            return
        colour, keep, dr, dc = sprite
        if self._buffer is None:
            self._buffer = np.asarray(self.fig.canvas.buffer_rgba())
        buf = self._buffer
        H, W = buf.shape[:2]
        top, left = int(round(anchor[1] + dr)), int(round(anchor[0] + dc))
        r0, c0, r1, c1 = top, left, top + colour.shape[0], left + colour.shape[1]
        lo_r, lo_c, hi_r, hi_c = 0, 0, H, W
        if cb is not None:
            clip = self._clips.get(id(cb))
            if clip is None:
                clip = self._clips[id(cb)] = (cb, max(0, int(round(H - cb.y1))), min(H, int(round(H - cb.y0))),
                                              max(0, int(round(cb.x0))), min(W, int(round(cb.x1))))
            lo_r, hi_r, lo_c, hi_c = clip[1:]
        rr0, cc0, rr1, cc1 = max(r0, lo_r), max(c0, lo_c), min(r1, hi_r), min(c1, hi_c)
        if rr0 >= rr1 or cc0 >= cc1:
            return
        src = (slice(rr0 - r0, rr1 - r0), slice(cc0 - c0, cc1 - c0))
        region = buf[rr0:rr1, cc0:cc1, :3]
        region[...] = (region * keep[src] + colour[src] + 0.5).astype(np.uint8)


class CharLine:
    """A line of monospace text drawn as one Text per character: a new string costs no new rasterising.

    A title that changes with every input (a number, a probability) would be laid out and
    rasterised anew each time; here each character is a sprite (TextSprites) pasted in its
    cell, so only characters never seen before cost anything. Position in figure coordinates
    (x, and y the baseline); ha "center", "left" (of the first cell) or "right" (of the last).
    box: a FancyBboxPatch style (say dict(boxstyle="round", fc="white", ec="grey")) drawn
    around the string, fitted to its length; it is the first of `artists`.
    """

    FONT = "DejaVu Sans Mono"

    def __init__(self, fig: Figure, x: float, y: float, fontsize: float, ha: str = "center", color="black",
                 cells: int | None = None, weight: str = "normal", box: dict | None = None):
        from matplotlib.font_manager import FontProperties

        if ha not in ("center", "left", "right"):
            raise ValueError(f"ha must be 'center', 'left' or 'right', got {ha!r}")
        self.fig, self.x, self.y, self.ha, self._text = fig, x, y, ha, ""
        prop = FontProperties(family=self.FONT, size=fontsize, weight=weight)
        renderer = fig.canvas.get_renderer()
        one, many = (renderer.get_text_width_height_descent("m" * n, prop, ismath=False)[0] for n in (1, 21))
        self.cell = (many - one) / 20 / fig.bbox.width                 # one character's advance, figure units
        room = {"left": 1 - x, "right": x, "center": 1}[ha]
        self.cells = cells or int(room / self.cell)
        self.artists = [fig.text(x, y, "", ha="center", va="baseline", fontproperties=prop, color=color)
                        for _ in range(self.cells)]
        self.box = None
        if box is not None:
            from matplotlib.patches import FancyBboxPatch

            _, height, descent = renderer.get_text_width_height_descent("Mg", prop, ismath=False)
            self._rise = ((height - descent) / fig.dpi, descent / fig.dpi)      # inches above, below the baseline
            style = dict(box)
            shape = style.pop("boxstyle", "round")
            pad = 0.3 * fontsize / 72                                            # as a Text's box: 0.3 font sizes
            self.box = FancyBboxPatch((0, 0), 0, 0, boxstyle=f"{shape},pad={pad}",
                                      transform=fig.dpi_scale_trans, visible=False, **style)
            fig.add_artist(self.box)
            self.artists.insert(0, self.box)

    def set_text(self, text: str) -> None:
        """Show this string (cut with an ellipsis if longer than the line)."""
        text = str(text).replace("\n", " ")
        if len(text) > self.cells:
            text = text[:self.cells - 1] + "…"
        self._text = text
        width = len(text) * self.cell
        start = self.x - {"center": width / 2, "left": 0, "right": width}[self.ha]
        for i, artist in enumerate(self.artists[1:] if self.box is not None else self.artists):
            artist.set_text(text[i] if i < len(text) else "")
            if i < len(text):
                artist.set_x(start + (i + 0.5) * self.cell)
        if self.box is not None:
            w_in, h_in = self.fig.get_size_inches()
            up, down = self._rise
            self.box.set_bounds(start * w_in, self.y * h_in - down, width * w_in, up + down)
            self.box.set_visible(bool(text))

    def get_text(self) -> str:
        return self._text

    def set_visible(self, visible: bool) -> None:
        for artist in self.artists:
            artist.set_visible(visible)
        if self.box is not None and not self._text:
            self.box.set_visible(False)

    def get_visible(self) -> bool:
        return self.artists[-1].get_visible()

    def set_animated(self, animated: bool) -> None:
        for artist in self.artists:
            artist.set_animated(animated)

    def draw(self, sprites: TextSprites) -> None:
        """Paste the line onto the canvas: its box, then each character's sprite in its cell.

        The same pixels as drawing each character's Text through `sprites`, for less: one style
        key and one transform for the whole line, then a look-up per character.
        """
        chars = self.artists[1:] if self.box is not None else self.artists
        if self.box is not None and self.box.get_visible():
            self.fig.draw_artist(self.box)
        if not self._text or not chars[0].get_visible():
            return
        first = chars[0]
        style = sprites._key(first)
        if style is None or first.get_clip_box() is not None and first.get_clip_on():
            for artist in chars[:len(self._text)]:
                sprites.draw(artist)
            return
        style = style[1:]
        a, b, c, d, e, f = first.get_transform().get_matrix().ravel().tolist()[:6]
        H = self.fig.bbox.height
        for artist, ch in zip(chars, self._text):
            key = (ch,) + style
            if key not in sprites.sprites:
                sprites.draw(artist)                       # rasterised now, pasted from then on
                continue
            x, y = artist.get_position()
            sprites._paste(sprites.sprites[key], (a * x + b * y + c, H - (d * x + e * y + f)))


class LiveFigure:
    """Base of every course widget: controls + one figure shown as an updating image.

    Subclasses build ``self.fig`` and its artists once, create ``self.controls`` (a dict
    of ipywidgets) and implement ``refresh()``, which reads the controls, computes, and
    updates the artists (or calls ``self.say`` with a message for bad input).
    """

    MAX_TEXT_SNAPSHOTS = 200

    def __init__(self):
        self._dynamic: list = []   # artists redrawn on every update (blitted)
        self._background = None    # the rest of the figure, drawn once
        self._cached: set = set()  # ids of texts pasted from a pixel cache (see cache_text)
        self._snapshots: dict = {}
        self._layer: list = []     # artists that change rarely, drawn over the background (add_layer)
        self._layer_pixels = None  # background + layer, cached until refresh_layer()
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.message = widgets.HTML(value="")
        self.latencies_ms: list[float] = []  # one entry per update, for the benchmark
        self._sprites = None                 # TextSprites of self.fig, made on the first render
        self.controls: dict[str, widgets.Widget] = {}
        self.errors: list[Exception] = []    # unforeseen errors answered with a message (tests assert none)
        self._good: dict = {}                # each control's last usable value (see _guard_controls)
        self._said, self._updating = "", False

    # -- wiring -----------------------------------------------------------------
    def connect(self) -> None:
        """Call ``update`` whenever any control's value changes."""
        for control in self.controls.values():
            if hasattr(control, "value") and not isinstance(control, widgets.Button):
                control.observe(self._on_change, names="value")

    def _on_change(self, _change=None) -> None:
        self.update()

    def update(self) -> None:
        """Recompute and redraw; record the time from the new value to the new image.

        Never raises: a control holding an impossible value (NaN in a float slider, no choice in
        a dropdown) is set back to its last good value first; bad input is answered with the
        parser's message; anything else (a bug) is a short message too, kept in ``self.errors``.
        """
        if getattr(self, "_updating", False):   # a control set back by the guard: one update is enough
            return
        self._updating = True
        try:
            start = time.perf_counter()
            self.say("")
            fixed = self._guard_controls()
            try:
                self.refresh()
            except InputError as err:  # bad input is answered, never a traceback
                self.say(str(err))
            except Exception as err:  # noqa: BLE001 - unforeseen input: still a message, and recorded
                self.errors.append(err)
                self.say(f"this input could not be shown ({type(err).__name__}: {err})")
            if fixed:
                self.say(" ".join(t for t in (fixed, self._said) if t))
            try:
                self.image.value = self.render()
            except Exception as err:  # noqa: BLE001
                self.errors.append(err)
                self.say(f"this input could not be drawn ({type(err).__name__}: {err})")
            self.latencies_ms.append(1000 * (time.perf_counter() - start))
        finally:
            self._updating = False

    def _guard_controls(self) -> str:
        """Set back every control whose value no widget can use (NaN, inf, an empty choice); say which."""
        good = self.__dict__.setdefault("_good", {})
        notes = []
        for name, control in self.controls.items():
            value = getattr(control, "value", None)
            if isinstance(control, widgets.Button):
                continue
            if not impossible_value(control, value):
                good[name] = value
                continue
            back = good.get(name, _fallback(control))
            try:
                control.value = back
            except Exception:  # noqa: BLE001 - cannot be set back: refresh's own checks answer
                continue
            label = getattr(control, "description", "") or name
            notes.append(f"{label} cannot be {value!r}: set back to {back!r}.")
        return " ".join(notes)

    # -- drawing ----------------------------------------------------------------
    def animate(self, *artists) -> None:
        """Mark artists as dynamic: only these are redrawn on an update (blitting)."""
        for a in artists:
            a.set_animated(True)
            self._dynamic.append(a)

    def cache_text(self, *texts) -> None:
        """Animate these Text artists, and paste their pixels from a cache when a string repeats.

        Rasterising text costs far more than lines; a title cycles through few strings. A
        snapshot includes the static background under the text, so the cache is emptied on a
        full redraw, and cached texts must not overlap other changing artists.
        """
        self.animate(*texts)
        self._cached |= {id(t) for t in texts}

    def add_layer(self, *artists) -> None:
        """Artists that change rarely (say, with a new phrase but not with t): cached between updates."""
        for a in artists:
            a.set_animated(True)
            self._layer.append(a)

    def refresh_layer(self) -> None:
        """The layer's artists changed: redraw them on the next render."""
        self._layer_pixels = None

    def invalidate(self) -> None:
        """The static part changed (limits, labels): redraw it fully on the next render."""
        self._background = None
        self._layer_pixels = None

    def render(self) -> bytes:
        """Draw the figure (static part from cache) and return it as PNG bytes."""
        canvas = self.fig.canvas
        if self._sprites is not None:
            self._sprites.new_frame()
        if self._background is None:
            canvas.draw()  # everything but the animated artists
            if self._sprites is not None:
                self._sprites.new_frame()
            self._background = canvas.copy_from_bbox(self.fig.bbox)
            self._snapshots, self._layer_pixels = {}, None
        if self._layer and self._layer_pixels is None:
            canvas.restore_region(self._background)
            for artist in self._layer:
                if artist.get_visible():
                    self._draw_artist(artist)
            self._layer_pixels = canvas.copy_from_bbox(self.fig.bbox)
        canvas.restore_region(self._layer_pixels if self._layer else self._background)
        for artist in self._dynamic:
            if not artist.get_visible():
                continue
            if id(artist) in self._cached:
                self._draw_cached_text(artist)
            else:
                self._draw_artist(artist)
        return canvas_png(canvas)

    def _draw_artist(self, artist) -> None:
        """Draw one artist over the canvas: a text from its sprite (see TextSprites), the rest as usual."""
        from matplotlib.axis import Axis
        from matplotlib.text import Annotation, Text

        if isinstance(artist, CharLine):
            artist.draw(self._text_sprites())
        elif isinstance(artist, Text) and not isinstance(artist, Annotation):
            self._text_sprites().draw(artist)
        elif isinstance(artist, Axis):
            self._draw_axis(artist)
        else:
            self.fig.draw_artist(artist)

    def _draw_axis(self, axis) -> None:
        """An axis in a layer: its ticks and grid lines as usual, its tick labels from sprites.

        An axis with a label or an offset text (whose places depend on the tick labels' sizes)
        is drawn the usual way.
        """
        ticks = axis._update_ticks()            # the ticks in view, as Axis.draw finds them
        if not axis.get_visible() or axis.label.get_text() or axis.major.formatter.get_offset():
            self.fig.draw_artist(axis)
            return
        for tick in ticks:
            for line in (tick.gridline, tick.tick1line, tick.tick2line):
                if line.get_visible():
                    self.fig.draw_artist(line)
            for label in (tick.label1, tick.label2):
                if label.get_visible():
                    self._draw_artist(label)

    def _draw_cached_text(self, text) -> None:
        canvas = self.fig.canvas
        key = (id(text), text.get_text())
        snapshot = self._snapshots.get(key)
        if snapshot is not None:
            canvas.restore_region(snapshot)
            return
        self.fig.draw_artist(text)
        if len(self._snapshots) < self.MAX_TEXT_SNAPSHOTS and text.get_text():
            box = text.get_window_extent(canvas.get_renderer()).expanded(1.0, 1.0).padded(2)
            self._snapshots[key] = canvas.copy_from_bbox(box)

    def warm_texts(self, texts, strings) -> None:
        """Rasterise strings these texts will show, now, so that their first showing is as quick as later ones."""
        strings = list(strings)
        for text in texts:
            self._text_sprites().prepare(text, strings)

    def _text_sprites(self) -> TextSprites:
        """The sprite cache of this widget's figure (a new one if the figure was replaced)."""
        if self._sprites is None or self._sprites.fig is not self.fig:
            self._sprites = TextSprites(self.fig)
        return self._sprites

    def say(self, text: str) -> None:
        """Show a short message under the controls (empty string clears it; long ones are cut)."""
        text = str(text)
        if len(text) > 200:
            text = text[:199] + "…"
        self._said = text
        self.message.value = (f'<span style="color:#b45309">&#9888; {html.escape(text)}</span>'
                              if text else "")

    def refresh(self) -> None:  # pragma: no cover - every subclass implements it
        raise NotImplementedError

    # -- layout -----------------------------------------------------------------
    def layout(self) -> widgets.Widget:
        """Controls above, message, then the image."""
        controls = list(self.controls.values())
        for c in controls:  # show descriptions in full ("current word", not "current w...")
            if hasattr(c, "style") and hasattr(c.style, "description_width"):
                c.style.description_width = "initial"
        return widgets.VBox([widgets.HBox(controls, layout=widgets.Layout(flex_flow="row wrap")),
                             self.message, self.image])

    STEP_CONTROL = "t"          # the control swept to animate the static picture, if a widget has one
    MAX_FRAMES = 12

    def frames(self) -> list[bytes]:
        """PNGs of the widget over its step control's range (just the current picture if it has none)."""
        step = self.controls.get(self.STEP_CONTROL) if hasattr(self, "controls") else None
        if not self.image.value:
            self.update()
        if step is None or not hasattr(step, "max") or isinstance(step.value, float):
            return [self.image.value]
        start, values = step.value, range(step.min, step.max + 1)
        if len(values) > self.MAX_FRAMES:
            values = sorted({int(round(v)) for v in np.linspace(step.min, step.max, self.MAX_FRAMES)})
        shots = []
        for v in values:
            step.value = v
            if not self.message.value:     # steps beyond a short input may be refused: skip them
                shots.append(self.image.value)
        step.value = start
        return shots or [self.image.value]

    def static_picture(self) -> bytes:
        """The picture for readers without a kernel: a PNG, animated over the steps (APNG) if it has a step control."""
        shots = self.frames()
        return animated_png(shots) if len(shots) > 1 else shots[0]

    def show(self, static: bool = True):
        """Display the widget once; add a static picture of this state for readers without a kernel."""
        from IPython.display import display

        if not self.image.value:
            self.update()
        picture = self.static_picture() if static else None
        self.box = self.layout()
        display(self.box)
        if static:
            animated = picture[:8] == b"\x89PNG\r\n\x1a\n" and b"acTL" in picture[:200]
            caption = ("Static picture of this widget, animated over its steps" if animated else
                       "Static picture of this widget") + " (for reading without a kernel)"
            # Jupyter shows the collapsed HTML; a page without a kernel (the course site) prefers the PNG
            display({"text/html": static_html(picture, caption),
                     "image/png": base64.b64encode(picture).decode("ascii")}, raw=True)
        return None


def animated_png(pngs: list[bytes], ms_per_frame: int = 700) -> bytes:
    """An animated PNG (APNG) of PNG frames of one size, looping; browsers play it, others show frame 1.

    After the first frame, each frame stores only the rectangle where it differs from the one
    before (drawn over it), so a widget's steps cost little more than one picture.
    """
    frames = [png_rgb(p) for p in pngs]
    h, w, _ = frames[0].shape
    for f in frames[1:]:
        if f.shape != frames[0].shape:
            raise ValueError(f"every frame must have the first one's shape {frames[0].shape}, got {f.shape}")

    def deflate(rgb: np.ndarray) -> bytes:                 # one whole zlib stream of the rows
        data, adler = _deflate_rows(rgb, True, True)
        return data + struct.pack(">I", adler)

    boxes, before = [], None
    for f in frames:
        box = (0, 0, h, w)
        if before is not None:
            changed = (f != before).reshape(h, 3 * w)                      # (h, 3w): a byte changed
            rows = np.flatnonzero(changed.any(axis=1))
            cols = np.flatnonzero(changed[rows].any(axis=0).reshape(w, 3).any(axis=1))
            box = (rows[0], cols[0], rows[-1] + 1, cols[-1] + 1) if len(rows) else (0, 0, 1, 1)
        boxes.append(box)
        before = f
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:                   # zlib lets go of the interpreter lock: two at once
        data = list(pool.map(lambda fb: deflate(fb[0][fb[1][0]:fb[1][2], fb[1][1]:fb[1][3]]), zip(frames, boxes)))
    out = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)),
           _chunk(b"acTL", struct.pack(">II", len(frames), 0))]
    seq = 0
    for k, ((y0, x0, y1, x1), d) in enumerate(zip(boxes, data)):
        out.append(_chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, x1 - x0, y1 - y0, x0, y0, ms_per_frame, 1000,
                                              0, 0)))        # dispose: none, blend: source
        out.append(_chunk(b"IDAT", d) if k == 0 else _chunk(b"fdAT", struct.pack(">I", seq + 1) + d))
        seq += 1 if k == 0 else 2
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


def png_rgb(png: bytes) -> np.ndarray:
    """The colour pixels (h, w, 3) of a PNG: read directly if encode_png wrote it, else with PIL."""
    pos, header, idat = 8, None, []
    while pos + 8 <= len(png):
        n, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    if header is not None and header[2] == 8 and header[3] in (2, 6) and header[4:] == (0, 0, 0):
        w, h, c = header[0], header[1], 3 if header[3] == 2 else 4
        try:
            raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8)
        except zlib.error:
            raw = np.empty(0, np.uint8)
        if raw.size == h * (c * w + 1):
            raw = raw.reshape(h, c * w + 1)
            if not raw[:, 0].any():                       # no row filters: the bytes are the pixels
                return raw[:, 1:].reshape(h, w, c)[:, :, :3]
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


class InputError(ValueError):
    """Bad input to a widget: its message is shown in the widget."""


def impossible_value(control, value) -> bool:
    """True for a value no widget can draw: a non-finite number, or no choice where options exist."""
    if isinstance(value, float) and not math.isfinite(value):
        return True
    options = getattr(control, "options", None)
    return bool(options) and value is None


def _fallback(control):
    """A usable value for a control that never had one: its minimum, or its first option."""
    if getattr(control, "options", None):
        first = control.options[0]
        return first[1] if isinstance(first, tuple) else first
    return getattr(control, "min", 0.0)


def bars(ax, n: int, horizontal: bool = False, width: float = 6.0, **kwargs):
    """n bars as ONE artist (a LineCollection of thick lines): far cheaper to redraw than n patches.

    Bar i sits at position i; set its lengths with set_bars(). width is in points.
    """
    from matplotlib.collections import LineCollection

    coll = LineCollection(_bar_segments(np.zeros(n), horizontal), linewidths=width,
                          capstyle="butt", **kwargs)
    coll._horizontal = horizontal
    ax.add_collection(coll)
    return coll


def set_bars(coll, values) -> None:
    """Set the lengths of the bars made by bars()."""
    coll.set_segments(_bar_segments(np.asarray(values, float), coll._horizontal))


def _bar_segments(values: np.ndarray, horizontal: bool) -> list:
    pos = np.arange(len(values))
    if horizontal:
        return [((0.0, p), (v, p)) for p, v in zip(pos, values)]
    return [((p, 0.0), (p, v)) for p, v in zip(pos, values)]
