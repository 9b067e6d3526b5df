"""Notebook 07's data: small pictures of coloured shapes, each with a caption from a tiny grammar.

A scene is 1 to 3 objects (shape, colour, size) drawn with numpy into an RGB array (S, S, 3).
Objects stand on a plus-shaped stage: the five cells left, centre, right (the middle row)
and top, centre, bottom (the middle column) of a 3x3 grid. Two or three objects share the
middle row or the middle column, so the grammar can say where they are relative to each other:

    1 object    a small red circle
    2 objects   a small red circle left of a large blue square     (same row, left one first)
                a small red circle above a large blue square       (same column, top one first)
    3 objects   a small red circle , a large blue square and a small green cross in a row
                ... in a column                                     (left to right, top to bottom)

Train and held-out scenes differ in what matters. HELD_OUT names one colour-shape pair per
cell of the stage (a red triangle on the left, a green circle at the top, ...): no training
scene has that pair in that place, and every 'held_out' scene has at least one of them. The
pair NOVEL (a blue triangle) is never in a training scene at all; 'novel' scenes have one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIZE = 36                                    # pixels per side: a 3x3 grid of 12-pixel cells
CELL_CENTRES = (6, 18, 30)                   # pixel centre of grid row/column 0, 1, 2
SHAPES = ("circle", "square", "triangle", "cross")
COLOURS = {"red": (0.90, 0.16, 0.14), "green": (0.16, 0.72, 0.22),
           "blue": (0.22, 0.38, 0.96), "yellow": (0.95, 0.84, 0.12)}
SIZES = {"small": 5, "large": 9}             # diameter in pixels
HELD_OUT = {"left": ("red", "square"), "top": ("green", "cross"), "centre": ("yellow", "circle"),
            "right": ("red", "cross"), "bottom": ("green", "circle")}     # place -> (colour, shape)
NOVEL = ("blue", "triangle")                                               # never in training
SPLITS = ("train", "held_out", "novel")
POSITIONS = {"left": (1, 0), "centre": (1, 1), "right": (1, 2), "top": (0, 1), "bottom": (2, 1)}  # (row, col)
PLACE_OF = {cell: name for name, cell in POSITIONS.items()}
BACKGROUND = (0.07, 0.07, 0.09)
MAX_OBJECTS = 3

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
WORDS = [PAD, BOS, EOS, "a", ",", "and", "small", "large", *COLOURS, *SHAPES,
         "left", "of", "above", "in", "row", "column"]
INDEX = {w: i for i, w in enumerate(WORDS)}
MAX_WORDS = 17                               # the longest caption (3 objects), without <eos>


@dataclass(frozen=True)
class Obj:
    """One object: what it is and which grid cell (row, col) it sits in."""
    shape: str
    colour: str
    size: str
    row: int
    col: int


def _masks() -> dict[tuple[str, str], np.ndarray]:
    """Boolean pixel masks (d, d) for every shape and size."""
    out = {}
    for size, d in SIZES.items():
        c = (d - 1) / 2
        y, x = np.mgrid[0:d, 0:d] - c
        t = (d // 3) // 2                                # half-thickness of the cross's bars
        out["circle", size] = x**2 + y**2 <= (c + 0.5) ** 2
        out["square", size] = np.ones((d, d), bool)
        out["triangle", size] = np.abs(x) <= (y + c + 1) / 2   # apex up, base at the bottom
        out["cross", size] = (np.abs(x) <= t) | (np.abs(y) <= t)
    return out


MASKS = _masks()


def validate(scene) -> None:
    """Raise ValueError with a reason if the grammar cannot describe the scene."""
    if not scene:
        raise ValueError("the scene is empty: add at least one shape")
    if len(scene) > MAX_OBJECTS:
        raise ValueError(f"at most {MAX_OBJECTS} shapes, got {len(scene)}")
    for o in scene:
        if o.shape not in SHAPES or o.colour not in COLOURS or o.size not in SIZES:
            raise ValueError(f"unknown shape, colour or size in {o}")
        if (o.row, o.col) not in POSITIONS.values():
            raise ValueError(f"grid cell ({o.row}, {o.col}) is not one of the stage's cells {list(POSITIONS)}")
    cells = [(o.row, o.col) for o in scene]
    if len(set(cells)) < len(cells):
        raise ValueError("two shapes in the same place: give each its own position")
    if len(scene) > 1 and not (all(r == 1 for r, _ in cells) or all(c == 1 for _, c in cells)):
        raise ValueError("shapes must share the middle row (left, centre, right) "
                         "or the middle column (top, centre, bottom)")


def describe(o: Obj) -> list[str]:
    """'a small red circle' as words."""
    return ["a", o.size, o.colour, o.shape]


def caption(scene) -> list[str]:
    """The scene's one caption, as words (no <bos>/<eos>)."""
    validate(scene)
    if len(scene) == 1:
        return describe(scene[0])
    in_row = len({o.row for o in scene}) == 1
    objs = sorted(scene, key=lambda o: o.col if in_row else o.row)   # left to right / top to bottom
    if len(objs) == 2:
        return describe(objs[0]) + (["left", "of"] if in_row else ["above"]) + describe(objs[1])
    return (describe(objs[0]) + [","] + describe(objs[1]) + ["and"] + describe(objs[2])
            + ["in", "a", "row" if in_row else "column"])


def render(scene, rng: np.random.Generator | None = None, jitter: int = 0, noise: float = 0.03) -> np.ndarray:
    """Draw the scene: RGB floats in [0, 1], shape (SIZE, SIZE, 3); rng adds jitter and noise."""
    img = np.empty((SIZE, SIZE, 3), np.float32)
    img[:] = BACKGROUND
    for o in scene:
        mask = MASKS[o.shape, o.size]
        d = mask.shape[0]
        top, left = CELL_CENTRES[o.row] - d // 2, CELL_CENTRES[o.col] - d // 2
        colour = COLOURS[o.colour]
        if rng is not None:                                  # shift by up to `jitter` pixels, vary the colour
            dy, dx = rng.integers(-jitter, jitter + 1, 2)
            top, left = top + dy, left + dx
            colour = np.minimum(colour + rng.uniform(-0.06, 0.06, 3), 1)
        img[top:top + d, left:left + d][mask] = colour
    if rng is not None and noise:
        img += noise * rng.standard_normal(img.shape, dtype=np.float32)
    return np.clip(img, 0, 1)


def place(o: Obj) -> str:
    """The stage cell's name ('left', 'centre', ...) of an object."""
    return PLACE_OF[o.row, o.col]


def is_held_out(o: Obj) -> bool:
    """Is this object a colour-shape pair in a place that training never shows?"""
    return HELD_OUT.get(place(o)) == (o.colour, o.shape)


def in_split(scene, split: str) -> bool:
    """Does a scene belong to a split (train: no held-out placement and no NOVEL pair)?"""
    novel = any((o.colour, o.shape) == NOVEL for o in scene)
    held = any(is_held_out(o) for o in scene)
    if split == "train":
        return not novel and not held
    if split == "held_out":
        return held and not novel
    if split == "novel":
        return novel
    raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def random_layout(rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    """n distinct cells of the stage, all in the middle row or all in the middle column."""
    if n == 1:
        return [list(POSITIONS.values())[int(rng.integers(len(POSITIONS)))]]
    places = sorted(rng.choice(3, size=n, replace=False).tolist())
    return [(1, p) for p in places] if rng.random() < 0.5 else [(p, 1) for p in places]


def random_scene(rng: np.random.Generator, split: str = "train", n: int | None = None) -> tuple:
    """A random scene of a split (see in_split); n objects, or 1-3 drawn at random."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    pairs = [(c, s) for c in COLOURS for s in SHAPES if (c, s) != NOVEL]
    sizes = list(SIZES)
    n = 1 + int(np.searchsorted([0.2, 0.6], rng.random())) if n is None else n   # 1, 2, 3 objects: 20/40/40 %
    while True:
        cells = random_layout(rng, n)
        picks = [pairs[i] for i in rng.integers(len(pairs), size=n)]
        special = int(rng.integers(n))                  # the object that makes the scene held-out/novel
        if split == "held_out":
            picks[special] = HELD_OUT[PLACE_OF[cells[special]]]
        elif split == "novel":
            picks[special] = NOVEL
        scene = tuple(Obj(s, c, sizes[int(rng.integers(2))], r, col) for (c, s), (r, col) in zip(picks, cells))
        if in_split(scene, split):
            return scene


def encode(words: list[str]) -> np.ndarray:
    """<bos> words <eos> as ids; raises KeyError naming an unknown word."""
    unknown = [w for w in words if w not in INDEX]
    if unknown:
        raise KeyError(f"unknown word {unknown[0]!r}")
    return np.array([INDEX[BOS]] + [INDEX[w] for w in words] + [INDEX[EOS]], dtype=np.int64)


def decode(ids) -> list[str]:
    """Words for ids, without <pad>, <bos>, <eos>."""
    return [WORDS[int(i)] for i in ids if int(i) > INDEX[EOS]]


def make_split(n: int, split: str, seed: int, noise: float = 0.03, jitter: int = 0) -> dict:
    """n scenes of a split: images (n, 3, S, S) float32, padded ids (n, MAX_WORDS + 2), scenes."""
    rng = np.random.default_rng(seed)
    scenes = [random_scene(rng, split) for _ in range(n)]
    images = np.stack([render(s, rng, jitter=jitter, noise=0) for s in scenes])  # (n, S, S, 3)
    images += noise * rng.standard_normal(images.shape, dtype=np.float32)       # pixel noise, all at once
    images = np.clip(images, 0, 1).transpose(0, 3, 1, 2)                       # (n, 3, S, S)
    ids = np.full((n, MAX_WORDS + 2), INDEX[PAD], dtype=np.int64)
    for i, s in enumerate(scenes):
        seq = encode(caption(s))
        ids[i, :len(seq)] = seq
    return {"images": np.ascontiguousarray(images), "ids": ids, "scenes": scenes}


def placements_in(scenes) -> set[tuple[str, str, str]]:
    """Every (colour, shape, place) that occurs in some scene."""
    return {(o.colour, o.shape, place(o)) for s in scenes for o in s}


def gallery(images, captions, cols: int = 4):
    """A figure of pictures (N, 3, S, S) with their captions underneath."""
    import textwrap

    from .live import new_figure

    n = len(images)
    rows = -(-n // cols)
    fig = new_figure(2.5 * cols, 3.0 * rows)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.26 / rows, wspace=0.08, hspace=0.42)
    for i, ax in enumerate(fig.subplots(rows, cols, squeeze=False).flat):
        ax.set_axis_off()
        if i < n:
            ax.imshow(np.asarray(images[i]).transpose(1, 2, 0), interpolation="nearest")
            ax.text(0.5, -0.04, textwrap.fill(captions[i], 30), transform=ax.transAxes, ha="center", va="top",
                    fontsize=9)
    return fig
