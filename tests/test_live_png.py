"""helpers.live's PNG pieces: reading our own PNGs back, and the animated PNG of a widget's steps."""
import io

import numpy as np
import pytest
from PIL import Image

from helpers import live, unrolled


def _frames_of(apng: bytes) -> list[np.ndarray]:
    """Every frame of an animated PNG as PIL composes it (RGB)."""
    im = Image.open(io.BytesIO(apng))
    out = []
    for i in range(getattr(im, "n_frames", 1)):
        im.seek(i)
        out.append(np.asarray(im.convert("RGB")).copy())
    return out


def test_png_rgb_reads_encode_png_exactly_and_other_pngs_through_pil():
    rgba = np.random.default_rng(0).integers(0, 256, (450, 520, 4), dtype=np.uint8)   # two deflated halves
    assert np.array_equal(live.png_rgb(live.encode_png(rgba)), rgba[..., :3])
    buf = io.BytesIO()
    Image.fromarray(rgba[:40, :30, :3]).save(buf, format="PNG", optimize=True)        # filtered rows
    assert np.array_equal(live.png_rgb(buf.getvalue()), rgba[:40, :30, :3])


def test_animated_png_holds_every_frame_exactly():
    rng = np.random.default_rng(1)
    first = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    second = first.copy()
    second[10:20, 30:35] = 7                                  # a small change: stored as its rectangle
    third = second.copy()                                     # no change at all
    fourth = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    frames = [first, second, third, fourth]
    apng = live.animated_png([live.encode_png(np.dstack([f, np.full(f.shape[:2], 255, np.uint8)])) for f in frames])
    im = Image.open(io.BytesIO(apng))
    assert im.n_frames == 4 and im.info["loop"] == 0 and im.info["duration"] == 700
    for got, want in zip(_frames_of(apng), frames, strict=True):
        assert np.array_equal(got, want)
    whole = live.encode_png(np.dstack([first, first[..., :1]]))
    assert len(apng) < 2.5 * len(whole), "the unchanged and slightly changed frames cost almost nothing"
    with pytest.raises(ValueError, match="shape"):
        live.animated_png([live.encode_png(np.zeros((4, 4, 4), np.uint8)), live.encode_png(np.zeros((5, 4, 4), np.uint8))])


def test_a_widgets_static_picture_animates_its_own_images_over_its_steps():
    widget = unrolled.demo()
    shots = widget.frames()
    assert len(shots) > 1
    for got, png in zip(_frames_of(widget.static_picture()), shots, strict=True):
        assert np.array_equal(got, live.png_rgb(png))
    assert len({live.png_rgb(p).tobytes() for p in shots}) > 1, "the steps look different"
