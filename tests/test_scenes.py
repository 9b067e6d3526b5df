"""Notebook 07's scenes: seeded, captioned by the grammar, split so held-out placements never train."""
import numpy as np
import pytest

from helpers import scenes
from helpers.scenes import Obj


def test_generator_is_deterministic_per_seed():
    a, b = scenes.make_split(200, "train", seed=5), scenes.make_split(200, "train", seed=5)
    assert np.array_equal(a["images"], b["images"]) and np.array_equal(a["ids"], b["ids"])
    assert a["scenes"] == b["scenes"]
    c = scenes.make_split(200, "train", seed=6)
    assert not np.array_equal(a["images"], c["images"])


def test_held_out_placements_and_the_novel_pair_never_appear_in_training():
    train = scenes.make_split(3000, "train", seed=0)["scenes"]
    seen = scenes.placements_in(train)
    for place, (colour, shape) in scenes.HELD_OUT.items():
        assert (colour, shape, place) not in seen
    assert not any((c, s) == scenes.NOVEL for c, s, _ in seen)
    # everything else does occur: the split removes only what it says
    all_placements = {(c, s, p) for c in scenes.COLOURS for s in scenes.SHAPES for p in scenes.POSITIONS}
    expected = {t for t in all_placements if (t[0], t[1]) != scenes.NOVEL
                and scenes.HELD_OUT[t[2]] != (t[0], t[1])}
    assert seen == expected


@pytest.mark.parametrize("split", ["held_out", "novel"])
def test_every_test_scene_has_what_makes_it_unseen(split):
    data = scenes.make_split(300, split, seed=1)
    assert all(scenes.in_split(s, split) for s in data["scenes"])
    assert not any(scenes.in_split(s, "train") for s in data["scenes"])
    if split == "held_out":
        assert all(any(scenes.is_held_out(o) for o in s) for s in data["scenes"])
        assert len({o.row * 3 + o.col for s in data["scenes"] for o in s if scenes.is_held_out(o)}) == 5


def test_caption_grammar():
    red = Obj("circle", "red", "small", 1, 2)
    blue = Obj("square", "blue", "large", 1, 0)
    assert scenes.caption((red,)) == "a small red circle".split()
    # the left one comes first, whatever the order of the objects in the scene
    assert scenes.caption((red, blue)) == "a large blue square left of a small red circle".split()
    top = Obj("cross", "green", "small", 0, 1)
    mid = Obj("triangle", "yellow", "large", 1, 1)
    bottom = Obj("circle", "red", "large", 2, 1)
    assert scenes.caption((mid, top)) == "a small green cross above a large yellow triangle".split()
    assert scenes.caption((bottom, top, mid)) == ("a small green cross , a large yellow triangle and "
                                                  "a large red circle in a column").split()
    row = (Obj("cross", "green", "small", 1, 1), red, blue)
    assert scenes.caption(row)[-3:] == ["in", "a", "row"]
    assert len(scenes.caption(row)) == scenes.MAX_WORDS


@pytest.mark.parametrize("scene,reason", [
    ((), "empty"),
    ((Obj("circle", "red", "small", 1, 1), Obj("cross", "blue", "small", 1, 1)), "same place"),
    ((Obj("circle", "red", "small", 1, 0), Obj("cross", "blue", "small", 0, 1)), "middle row"),
    ((Obj("circle", "red", "small", 0, 0),), "not one of the stage"),
    ((Obj("hexagon", "red", "small", 1, 1),), "unknown"),
    (tuple(Obj("circle", "red", "small", 1, c) for c in range(3)) + (Obj("circle", "red", "small", 0, 1),),
     "at most"),
])
def test_impossible_scenes_are_refused_with_a_reason(scene, reason):
    with pytest.raises(ValueError, match=reason):
        scenes.caption(scene)


def test_render_keeps_every_object_inside_its_own_cell():
    rng = np.random.default_rng(0)
    c = scenes.SIZE // 3
    for _ in range(200):
        scene = scenes.random_scene(rng, "train")
        for o in scene:
            img = scenes.render((o,), rng, jitter=1, noise=0)
            assert img.shape == (scenes.SIZE, scenes.SIZE, 3) and img.min() >= 0 and img.max() <= 1
            drawn = np.any(np.abs(img - np.array(scenes.BACKGROUND, np.float32)) > 1e-6, axis=2)
            inside = np.zeros_like(drawn)
            inside[o.row * c:(o.row + 1) * c, o.col * c:(o.col + 1) * c] = True
            assert drawn.any() and not (drawn & ~inside).any(), f"{o} leaves its cell"


def test_shapes_and_sizes_draw_different_masks():
    masks = {k: m for k, m in scenes.MASKS.items()}
    for size in scenes.SIZES:
        areas = [masks[s, size].sum() for s in scenes.SHAPES]
        assert len(set(areas)) == len(areas)
    assert all(masks[s, "small"].sum() < masks[s, "large"].sum() for s in scenes.SHAPES)


def test_encode_decode_and_vocabulary():
    words = "a small red circle left of a large blue square".split()
    ids = scenes.encode(words)
    assert ids[0] == scenes.INDEX[scenes.BOS] and ids[-1] == scenes.INDEX[scenes.EOS]
    assert scenes.decode(ids) == words
    with pytest.raises(KeyError, match="purple"):
        scenes.encode(["a", "purple", "circle"])
    data = scenes.make_split(300, "train", seed=2)
    assert data["ids"].shape == (300, scenes.MAX_WORDS + 2)
    for s, row in zip(data["scenes"], data["ids"]):
        assert scenes.decode(row) == scenes.caption(s)


def test_bad_split_name():
    with pytest.raises(ValueError, match="split"):
        scenes.random_scene(np.random.default_rng(0), "test")
