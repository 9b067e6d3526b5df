"""Claims of notebook 09 (bidirectional), for seeds 0-4 and 1 and 2 torch threads.

Each (seed, threads) trains the notebook's four models once (the notebook's recipe, checked
against the notebook's own cells), and every conclusion the prose draws is asserted for
every run.
"""
import functools

import nbformat
import numpy as np
import pytest

from conftest import ROOT, RUNS, torch_threads
from helpers import bidir_widget, cloze, surnames

pytestmark = pytest.mark.claims
NOTEBOOK = ROOT / "notebooks" / "09_bidirectional.ipynb"
CELLS = nbformat.read(NOTEBOOK, as_version=4).cells
CODE = "\n".join(c.source for c in CELLS if c.cell_type == "code")
STEPS, BATCH, H, NEXT_STEPS = 200, 128, 64, 100
EXAMPLE, K = "dumpson", 3                      # the opening example
MIN_NAMES = 500


def test_the_recipe_and_the_example_are_the_notebooks():
    assert f"STEPS, BATCH, H = {STEPS}, {BATCH}, {H}" in CODE
    assert 'cloze.train("uni", train, STEPS, BATCH, H, seed=SEED' in CODE
    assert 'cloze.train("bi", train, STEPS, BATCH, H, seed=SEED' in CODE
    assert f'train_next_char("uni", train, steps={NEXT_STEPS}, seed=SEED' in CODE
    assert f'train_next_char("bi", train, steps={NEXT_STEPS}, seed=SEED' in CODE
    assert f'name, k = "{EXAMPLE}", {K}' in CODE and f"MIN_NAMES = {MIN_NAMES}" in CODE
    assert f"`{cloze.blanked(EXAMPLE, K)}`" in CELLS[0].source       # the opening names it
    assert EXAMPLE in surnames.split()["test"]                        # "a test name: never seen in training"


@functools.cache
def data():
    split = surnames.split()
    return split, cloze.by_length(split["train"]), cloze.by_length(split["test"])


@functools.cache
def run(seed: int, threads: int) -> dict:
    """The notebook's experiments for one seed and thread count."""
    split, train, test = data()
    with torch_threads(threads):
        uni, _ = cloze.train("uni", train, STEPS, BATCH, H, seed=seed, live=False)
        bi, _ = cloze.train("bi", train, STEPS, BATCH, H, seed=seed, live=False)
        next_uni, _ = cloze.train_next_char("uni", train, steps=NEXT_STEPS, seed=seed, live=False)
        next_bi, _ = cloze.train_next_char("bi", train, steps=NEXT_STEPS, seed=seed, live=False)
        some = cloze.by_length(split["test"][:1000])
        return {"acc": {"uni": cloze.accuracy(uni, test), "bi": cloze.accuracy(bi, test)},
                "tags": {"uni": cloze.tag_scores(uni, test), "bi": cloze.tag_scores(bi, test)},
                "first": {"uni": cloze.guesses(uni, EXAMPLE, K), "bi": cloze.guesses(bi, EXAMPLE, K)},
                "params": cloze.to_numpy(bi),
                "next": {"uni_tf": cloze.teacher_forced_loss(next_uni, some),
                         "uni_gen": cloze.generation_loss(next_uni, some),
                         "bi_tf": cloze.teacher_forced_loss(next_bi, some),
                         "bi_gen": cloze.generation_loss(next_bi, some),
                         "uni_names": cloze.sample_names(next_uni, 6, seed=seed),
                         "bi_names": cloze.sample_names(next_bi, 6, seed=seed)}}


@pytest.mark.parametrize("seed,threads", RUNS)
def test_first_look_both_sides_find_the_blank_neither_alone(seed, threads):
    r = run(seed, threads)
    hidden = EXAMPLE[K - 1]
    assert r["first"]["bi"]["hg"][0][0] == hidden, r["first"]["bi"]["hg"]
    for guesses in (r["first"]["bi"]["h"], r["first"]["bi"]["g"], r["first"]["uni"]["h"]):
        assert guesses[0][0] != hidden, guesses
    bi = r["acc"]["bi"]
    assert 0.3 < bi["hg"] < 0.4 and bi["top3"]["hg"] > 0.6        # "about a third"; top 3 "nearly two in three"


@pytest.mark.parametrize("seed,threads", RUNS)
def test_cloze_both_sides_beat_the_left_side(seed, threads):
    acc = run(seed, threads)["acc"]
    uni, bi = acc["uni"], acc["bi"]
    assert bi["hg"] - uni["h"] > 0.05                              # clearly more letters right
    assert bi["hg"] - max(bi["h"], bi["g"]) > 0.05                 # each side alone far below
    assert abs(bi["h"] - bi["g"]) < 0.03                           # and close to each other
    assert abs(bi["h"] - uni["h"]) < 0.015                         # h-only scores about the same as uni


@pytest.mark.parametrize("seed,threads", RUNS)
def test_by_position(seed, threads):
    acc = run(seed, threads)["acc"]
    max_k = int((acc["uni"]["names_by_position"] >= MIN_NAMES).sum())
    uni = acc["uni"]["by_position"]["h"][:max_k]
    both, h, g = (acc["bi"]["by_position"][k][:max_k] for k in ("hg", "h", "g"))
    gain = both - uni
    assert gain.min() > 0.03 and gain.max() < 3 * gain.min()      # positive, of similar size everywhere
    assert np.abs(h - uni).max() < 0.05                            # the h-only line lies close
    assert uni[-1] > uni[0] + 0.1                                  # the forward-only line climbs
    assert g[0] > uni[0]                                           # at k = 1, g beats forward-only
    assert both.argmin() == 0                                      # both sides score lowest at k = 1


@pytest.mark.parametrize("seed,threads", RUNS)
def test_tagging_forward_only_cannot_see_the_first_letter_of_a_pair(seed, threads):
    t = run(seed, threads)["tags"]
    assert 0.92 < t["uni"]["all_zero_accuracy"] < 0.93               # "more than 92%"; one in thirteen
    assert t["uni"]["recall_second"] > 0.6 and t["uni"]["recall_first"] < 0.3   # most second, few first
    assert t["bi"]["recall_first"] > t["uni"]["recall_first"] + 0.4  # far more first letters
    assert t["bi"]["recall"] > t["uni"]["recall"] + 0.15             # more doubled letters overall
    assert t["bi"]["recall"] < 0.95                                  # "not perfect"


@pytest.mark.parametrize("seed,threads", RUNS)
def test_generating_with_a_bidirectional_model_fails(seed, threads):
    n = run(seed, threads)["next"]
    assert abs(n["uni_tf"] - n["uni_gen"]) < 1e-4                  # the same both ways
    assert n["bi_tf"] < 0.3                                         # nearly perfect: reading the answer
    assert n["bi_gen"] > n["uni_gen"] + 1 and n["bi_gen"] > np.log(27)   # worse than a uniform guess
    mean_len = {k: np.mean([len(s) for s in n[k]]) for k in ("uni_names", "bi_names")}
    assert mean_len["bi_names"] < 0.6 * mean_len["uni_names"], n     # its "names": far shorter


@pytest.mark.parametrize("seed,threads", RUNS)
def test_widget_try_this(seed, threads):
    w = bidir_widget.BidirWidget(run(seed, threads)["params"], name=EXAMPLE, k=K)
    p = w.values["probs"]
    hidden = surnames.ALPHABET.index(EXAMPLE[K - 1])
    assert int(np.argmax(p["hg"])) == hidden and int(np.argmax(p["h"])) != hidden and int(np.argmax(p["g"])) != hidden
    firsts, lasts = [], []
    for name in ("smith", "garcia", "hollingsworth"):
        w.controls["name"].value = name
        w.controls["k"].value = 1
        firsts.append(bidir_widget.compute(w.params, name, 1)["probs"]["h"])
        w.controls["k"].value = len(name)
        lasts.append(bidir_widget.compute(w.params, name, len(name))["probs"]["g"])
        assert w.message.value == ""
    np.testing.assert_allclose(firsts[0], firsts[1])
    np.testing.assert_allclose(firsts[0], firsts[2])
    np.testing.assert_allclose(lasts[0], lasts[2])
    w.controls["name"].value = "hollingsworth"
    for k in range(1, 14):                                          # the framed columns walk with the blank
        w.controls["k"].value = k
        assert w.marks[0].get_x() == k - 1.5 and w.marks[1].get_x() == k + 0.5
        roles = w.view.roles()                                      # the graph: o at the blank's step reads both
        assert roles[f"o{k + 1}"] == "now" and roles[f"h{k + 1}"] == "now" and roles[f"g{k + 1}"] == "now"
        assert all(roles[f"h{p}"] == "done" for p in range(1, k + 1))
        assert all(roles[f"g{p}"] == "done" for p in range(k + 2, 16))
    w.controls["name"].value = "miller"                             # the two l's get the highest P(doubled)
    p = w.values["p_doubled"]
    assert p[2] > 0.5 and p[3] > 0.5 and np.delete(p, [2, 3]).max() < 0.5, p
    assert w.view.texts["o4"].get_text() == f"{p[2]:.2f}"
