"""Notebook 07's claims, for seeds 0-4 and 1 and 2 torch threads: the notebook's own recipe, retrained.

Each (seed, threads) run trains the two decoders exactly as the notebook does (training
pictures, model and batches from the seed) and evaluates them on the notebook's test sets.
"""
import functools

import numpy as np
import pytest

from conftest import RUNS, torch_threads
from helpers import caption_widget, captioning, scenes
from helpers.scenes import Obj

pytestmark = pytest.mark.claims

STEPS, BRIEF = 600, 100                      # the notebook's training steps and its early copy
GAP = 0.05                                   # 'five points at most': the largest gap the prose allows


@functools.cache
def notebook_sets():
    """The notebook's held-out, novel and fresh pictures (fixed seeds, as in the notebook)."""
    return {"held_out": scenes.make_split(400, "held_out", seed=1), "novel": scenes.make_split(200, "novel", seed=2),
            "fresh": scenes.make_split(200, "train", seed=3)}


@functools.cache
def run(seed: int, threads: int) -> dict:
    """Train both decoders as the notebook does; every figure its prose draws a conclusion from."""
    with torch_threads(threads):
        train = scenes.make_split(3000, "train", seed=seed)
        models = {mode: captioning.make_model(mode=mode, seed=seed) for mode in ("input", "h0")}
        hist = captioning.train(models["input"], train, steps=STEPS, seed=seed, snapshots=(BRIEF,), live=False)
        captioning.train(models["h0"], train, steps=STEPS, seed=seed, live=False)
        brief = captioning.with_weights(models["input"], hist["snapshots"][BRIEF])
        sets, out = notebook_sets(), {"models": models}
        for mode, m in models.items():
            for name in ("held_out", "fresh"):
                r = captioning.evaluate(m, sets[name])
                out[mode, name], out[mode, name, "words"] = r["exact"], r["words"]
        out["novel"] = captioning.evaluate(models["input"], sets["novel"])["exact"]
        for name, m in (("brief", brief), ("final", models["input"])):
            out[name, "forced"] = captioning.teacher_forced_accuracy(m, sets["held_out"])
            out[name, "free"] = captioning.evaluate(m, sets["held_out"])["words"]
        alone = (Obj("circle", "yellow", "small", 1, 1),)
        out["yellow_centre"] = {mode: caption_widget.compute(m, captioning.numpy_params(m), alone)["correct"]
                                for mode, m in models.items()}
    return out


@pytest.mark.parametrize("seed,threads", RUNS)
def test_every_step_beats_h0_on_held_out_and_fresh(seed, threads):
    r = run(seed, threads)
    assert r["input", "held_out"] >= 0.9, "v at every step: almost every held-out caption exact"
    assert r["h0", "held_out"] <= 0.25, "v only as h_0: few held-out captions exact"
    assert r["input", "fresh"] > r["h0", "fresh"] + 0.3, "fewer fresh captions exact with v only as h_0"
    assert r["h0", "held_out", "words"] > 0.5, "v only as h_0 still gets most words right"


def test_main_model_of_the_notebook_reaches_its_headline():
    assert run(0, 1)["input", "held_out"] >= 0.98


@pytest.mark.parametrize("seed,threads", RUNS)
def test_the_novel_pair_is_harder_than_a_held_out_placement(seed, threads):
    r = run(seed, threads)
    assert r["novel"] < r["input", "held_out"]


def test_the_novel_pair_swings_across_seeds():
    """'over seeds 0-4 it swings widely (tens of points)' while held-out placements stay high."""
    for threads in (1, 2):
        novel = [run(seed, threads)["novel"] for seed in range(5)]
        held = [run(seed, threads)["input", "held_out"] for seed in range(5)]
        print(f"threads {threads}: novel pair exact {np.round(novel, 3)}, held-out {np.round(held, 3)}")
        assert max(novel) - min(novel) >= 0.2
        assert max(held) - min(held) < max(novel) - min(novel)


@pytest.mark.parametrize("seed,threads", RUNS)
def test_free_running_and_teacher_forcing_stay_close(seed, threads):
    r = run(seed, threads)
    assert abs(r["brief", "free"] - r["brief", "forced"]) <= GAP, "after 100 steps within five points"
    assert abs(r["final", "free"] - r["final", "forced"]) <= 0.01, "after 600 steps within a point"


def test_free_running_is_not_always_behind_after_100_steps():
    """'not always in the same direction': some run has free running at or ahead of teacher forcing."""
    runs = [run(seed, 1) for seed in range(5)]
    assert any(r["brief", "free"] >= r["brief", "forced"] for r in runs)
    assert any(r["brief", "free"] < r["brief", "forced"] for r in runs)


@pytest.mark.parametrize("seed,threads", RUNS)
def test_try_this_yellow_circle_in_the_centre(seed, threads):
    assert run(seed, threads)["yellow_centre"]["input"], "the every-step decoder captions it right"


@pytest.mark.parametrize("seed,threads", RUNS)
def test_try_this_changing_a_colour_moves_the_colour_numbers_most(seed, threads):
    model = run(seed, threads)["models"]["input"]
    pics = [scenes.render((Obj("circle", colour, "small", 1, 1), Obj("cross", "red", "small", 1, 0)))
            for colour in scenes.COLOURS]
    v = captioning.encode_images(model, np.stack(pics).transpose(0, 3, 1, 2)).reshape(len(pics), 5, model.K)
    centre, left = list(scenes.POSITIONS).index("centre"), list(scenes.POSITIONS).index("left")
    for other in v[1:]:
        change = np.abs(other - v[0])
        assert change[centre, :model.Kc].mean() > change[centre, model.Kc:].mean()       # colour moves most
        np.testing.assert_array_equal(other[left], v[0, left])                           # other rows stay
