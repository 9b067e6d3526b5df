"""helpers.live.TextSprites: texts pasted from cached pixels look as matplotlib draws them."""
import numpy as np
import pytest

from helpers.live import TextSprites, new_figure


def _pictures(make_text):
    """The same text drawn by matplotlib and by TextSprites (twice: new sprite, then from the cache)."""
    fig = new_figure(4, 2, dpi=80)
    ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
    ax.set(xlim=(0, 10), ylim=(0, 10))
    text = make_text(ax)
    text.set_animated(True)
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    fig.draw_artist(text)
    plain = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int).copy()
    sprites, shots = TextSprites(fig), []
    for _ in range(2):
        fig.canvas.restore_region(background)
        sprites.draw(text)
        shots.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int).copy())
    return plain, shots, sprites


def _ink(img):
    dark = img.sum(-1) < 600
    rows, cols = np.nonzero(dark)
    return dark.sum(), rows.mean(), cols.mean()


@pytest.mark.parametrize("make_text", [
    lambda ax: ax.text(5, 5, "three thousand", ha="center", va="center", fontsize=12),
    lambda ax: ax.text(1, 2, "left, bottom", ha="left", va="bottom", color="#dc2626"),
    lambda ax: ax.text(9, 8, "$W_{hh}$", ha="right", va="top", fontsize=14),
    lambda ax: ax.text(5, 5, "turned", rotation=30, ha="center", va="center"),
    lambda ax: ax.text(5, 3, "boxed", bbox=dict(fc="#fde68a", ec="k")),
    lambda ax: ax.text(5, 5, "two\nlines", ha="center", va="center", linespacing=1.0),
])
def test_a_sprite_lands_where_matplotlib_draws_the_text(make_text):
    plain, (first, cached), _ = _pictures(make_text)
    assert np.array_equal(first, cached), "drawn from the cache: the same pixels as when first made"
    n0, r0, c0 = _ink(plain)
    n1, r1, c1 = _ink(first)
    assert abs(n1 - n0) <= 0.15 * n0 + 5, (n0, n1)
    assert abs(r1 - r0) <= 1.0 and abs(c1 - c0) <= 1.0, ((r0, c0), (r1, c1))


def test_one_sprite_serves_the_same_string_anywhere():
    fig = new_figure(4, 2, dpi=80)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, 10), ylim=(0, 10))
    a, b = ax.text(2, 5, "seven"), ax.text(7, 5, "seven")
    fig.canvas.draw()
    sprites = TextSprites(fig)
    sprites.draw(a)
    sprites.draw(b)
    assert len(sprites.sprites) == 1
    b.set_text("eight")
    sprites.draw(b)
    assert len(sprites.sprites) == 2


def test_clipped_text_is_cut_at_its_axes_and_far_off_texts_cost_nothing():
    fig = new_figure(4, 2, dpi=80)
    ax = fig.add_axes((0.25, 0.25, 0.5, 0.5))
    ax.set(xlim=(0, 10), ylim=(0, 10))
    text = ax.text(9, 5, "a long label past the edge", clip_on=True, fontsize=14)
    far = ax.text(1000, 5, "far away")
    fig.canvas.draw()
    before = np.asarray(fig.canvas.buffer_rgba()).copy()
    sprites = TextSprites(fig)
    sprites.draw(text)
    sprites.draw(far)
    after = np.asarray(fig.canvas.buffer_rgba())
    changed = np.nonzero((after != before).any(-1))
    right_edge = fig.bbox.width * 0.75
    assert changed[1].size and changed[1].max() <= right_edge + 1, "nothing drawn right of the axes"
    assert len(sprites.sprites) == 1, "the far text was skipped, not rasterised"


def test_a_text_anchored_off_the_canvas_is_drawn_if_it_reaches_in_and_skipped_if_not():
    fig = new_figure(4, 2, dpi=80)
    W = fig.bbox.width
    reaches = fig.text((W + 20) / W, 0.5, "a right-aligned label", ha="right", fontsize=12)   # 20 px past the edge
    beyond = fig.text((W + 200) / W, 0.5, "a label", ha="right", fontsize=12)                   # all of it past
    fig.canvas.draw()
    before = np.asarray(fig.canvas.buffer_rgba()).copy()
    sprites = TextSprites(fig)
    sprites.draw(reaches)
    assert (np.asarray(fig.canvas.buffer_rgba()) != before).any(), "its left part is on the canvas"
    sprites.draw(beyond)
    assert len(sprites.sprites) == 1, "the text that cannot reach the canvas was not rasterised"


def test_the_clip_box_limits_what_is_drawn_and_what_is_rasterised():
    fig = new_figure(4, 2, dpi=80)
    ax = fig.add_axes((0.25, 0.25, 0.5, 0.5))
    ax.set(xlim=(0, 10), ylim=(0, 10))
    near = ax.text(10.3, 5, "just past", clip_on=True)            # starts past the right edge: clipped away
    inside = ax.text(11, 5, "just past", ha="right", clip_on=True)  # reaches back into the axes
    out = ax.text(30, 5, "out", clip_on=True)                      # far past the clip box, on the canvas
    fig.canvas.draw()
    sprites = TextSprites(fig)
    before = np.asarray(fig.canvas.buffer_rgba()).copy()
    sprites.draw(near)
    assert (np.asarray(fig.canvas.buffer_rgba()) == before).all()
    sprites.draw(inside)
    assert (np.asarray(fig.canvas.buffer_rgba()) != before).any()
    sprites.draw(out)
    assert ("out" not in {k[0] for k in sprites.sprites}), "a text outside its clip box is not rasterised"


def test_char_line_centres_its_string_and_reads_back():
    from helpers.live import CharLine

    fig = new_figure(6, 2, dpi=72)
    line = CharLine(fig, 0.5, 0.5, fontsize=10)
    line.set_text("3847: right")
    assert line.get_text() == "3847: right"
    shown = [a for a in line.artists if a.get_text()]
    assert "".join(a.get_text() for a in shown) == "3847: right"
    xs = [a.get_position()[0] for a in shown]
    assert np.allclose(np.diff(xs), line.cell) and abs((xs[0] + xs[-1]) / 2 - 0.5) < 1e-9   # even cells, centred
    line.set_text("x" * (line.cells + 10))
    assert len(line.get_text()) == line.cells and line.get_text().endswith("…")


def test_encode_png_gives_the_exact_pixels_in_one_zlib_stream():
    import io
    import struct
    import zlib

    from PIL import Image

    from helpers.live import encode_png

    rng = np.random.default_rng(0)
    for h, w, c in [(547, 756, 4), (3, 2, 4), (1001, 301, 4), (547, 756, 3), (5, 7, 3)]:   # large: two halves at once
        pixels = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
        pixels[: h // 3] = 255
        png = encode_png(pixels)
        image = Image.open(io.BytesIO(png))
        assert image.mode == ("RGBA" if c == 4 else "RGB") and (np.asarray(image) == pixels).all()
        i = png.index(b"IDAT")
        n = struct.unpack(">I", png[i - 4:i])[0]
        assert len(zlib.decompress(png[i + 4:i + 4 + n])) == h * (c * w + 1)    # decompress checks Adler-32
    with pytest.raises(ValueError, match="shape"):
        encode_png(np.zeros((4, 4, 2), np.uint8))


def test_a_boxed_text_sprite_holds_its_box():
    plain, (first, cached), sprites = _pictures(lambda ax: ax.text(5, 3, "boxed", bbox=dict(fc="#fde68a", ec="k")))
    assert len(sprites.sprites) == 1, "drawn from a sprite, not the usual way"
    fill = np.array([0xfd, 0xe6, 0x8a])
    n0, n1 = ((np.abs(img - fill).sum(-1) < 10).sum() for img in (plain, first))
    assert n0 > 200 and abs(n1 - n0) <= 0.05 * n0, (n0, n1)


def test_an_axis_in_a_layer_draws_its_tick_labels_from_sprites():
    from helpers.live import LiveFigure

    class Axes(LiveFigure):
        def __init__(self):
            super().__init__()
            self.fig = new_figure(4, 2, dpi=80)
            self.ax = self.fig.add_axes((0.1, 0.2, 0.8, 0.7))
            self.ax.grid(True)
            self.add_layer(self.ax.xaxis)

        def refresh(self):
            pass

    w = Axes()
    for hi in (10, 37, 10):
        w.ax.set_xlim(0, hi)
        w.refresh_layer()
        w.render()
        mine = np.asarray(w.fig.canvas.buffer_rgba())[..., :3].astype(int).copy()
        w.ax.xaxis.set_animated(False)
        w.fig.canvas.draw()                                   # matplotlib's own picture of the same axis
        plain = np.asarray(w.fig.canvas.buffer_rgba())[..., :3].astype(int).copy()
        w.ax.xaxis.set_animated(True)
        w.invalidate()
        n0, r0, c0 = _ink(plain)
        n1, r1, c1 = _ink(mine)
        assert abs(n1 - n0) <= 0.1 * n0 and abs(r1 - r0) <= 1 and abs(c1 - c0) <= 1, (hi, (n0, r0, c0), (n1, r1, c1))
    assert {k[0] for k in w._sprites.sprites} >= {"0", "10"}


def test_char_line_right_aligned_with_a_box_fits_its_string():
    from helpers.live import CharLine

    fig = new_figure(6, 2, dpi=72)
    line = CharLine(fig, 0.9, 0.5, fontsize=10, ha="right", box=dict(boxstyle="round", fc="white", ec="grey"))
    assert line.artists[0] is line.box and not line.box.get_visible()
    for text in ("T = 5", "radius = 1.00,  average slope f′ = 0.54"):
        line.set_text(text)
        shown = [a for a in line.artists[1:] if a.get_text()]
        assert "".join(a.get_text() for a in shown) == text
        right_edge = shown[-1].get_position()[0] + line.cell / 2
        assert abs(right_edge - 0.9) < 1e-9                                   # the last cell ends at x
        x, y, w, h = line.box.get_x(), line.box.get_y(), line.box.get_width(), line.box.get_height()
        inches = fig.get_size_inches()
        assert abs((x + w) / inches[0] - 0.9) < 1e-9 and abs(w / inches[0] - len(text) * line.cell) < 1e-9
        assert y < 0.5 * inches[1] < y + h                                    # around the baseline
        assert line.box.get_visible()
    line.set_text("")
    assert not line.box.get_visible()
    with pytest.raises(ValueError, match="ha"):
        CharLine(fig, 0.5, 0.5, fontsize=10, ha="top")


@pytest.mark.parametrize("box", [None, dict(boxstyle="round", fc="white", ec="grey")])
def test_a_char_line_drawn_whole_matches_its_characters_drawn_one_by_one(box):
    from helpers.live import CharLine, LiveFigure, png_rgb

    class Lines(LiveFigure):
        def __init__(self, whole: bool):
            super().__init__()
            self.fig = new_figure(5, 1.5, dpi=72)
            self.fig.add_axes((0.1, 0.1, 0.8, 0.5)).plot([0, 1], [0, 1])
            self.line = CharLine(self.fig, 0.95, 0.8, fontsize=10, ha="right", box=box)
            self.add_layer(*([self.line] if whole else self.line.artists))
            self.text = "f = tanh,  T = 50"

        def refresh(self):
            self.line.set_text(self.text)
            self.refresh_layer()

    pictures = []
    for whole in (True, False):
        w = Lines(whole)
        shots = []
        for text in ("f = tanh,  T = 50", "radius = 1.25, slope 0.5", "f = tanh,  T = 50"):   # new, new, cached
            w.text = text
            w.update()
            shots.append(png_rgb(w.image.value))
        assert not w.errors
        pictures.append(shots)
    for a, b in zip(*pictures, strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(pictures[0][0], pictures[0][1])
