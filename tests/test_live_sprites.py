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
