"""Claims of notebook 06 (generating sequences), for seeds 0-4 and 1 and 2 torch threads.

Each (seed, threads) trains the notebook's GRU once (the notebook's recipe, read from the
notebook's own cells) and every conclusion the prose draws is asserted for every run.
"""
import functools
import re

import nbformat
import numpy as np
import pytest

from conftest import ROOT, RUNS, torch_threads
from helpers import charmodel as cm
from helpers import surnames
from helpers.charmodel_widget import CharModelWidget

pytestmark = pytest.mark.claims
NOTEBOOK = ROOT / "notebooks" / "06_generating_sequences.ipynb"
CODE = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
RECIPE = dict(H=64, steps=400, batch_size=128, lr=0.02)


def test_the_recipe_is_the_notebooks():
    assert "H = 64 " in CODE
    assert re.search(r'cm\.train\(split\["train"\], H=H, steps=400, batch_size=128, lr=0\.02, seed=SEED,', CODE)
    assert "cm.sample_report(params, P, split, n=2000, seed=SEED)" in CODE
    assert 'cm.find_units(params, split["val"][:2000], split["test"][:2000])' in CODE


@functools.cache
def data():
    split = surnames.split()
    C = cm.bigram_counts(split["train"])
    P = cm.bigram_probs(C, cm.best_k(C, split["val"]))
    return split, P, cm.bigram_nats(P, split["test"])


@functools.cache
def run(seed: int, threads: int) -> dict:
    """The notebook's experiments for one seed and thread count."""
    import torch

    split, P, bigram_nats = data()
    with torch_threads(threads):
        model, _ = cm.train(split["train"], seed=seed, live=False, **RECIPE)
        gru_nats = cm.nats_per_char(model, split["test"])
        untrained = cm.to_numpy(cm.make_torch(RECIPE["H"], seed=seed, dtype=torch.float64))
    params = cm.to_numpy(model)
    units = cm.find_units(params, split["val"][:2000], split["test"][:2000])
    control = cm.find_units(untrained, split["val"][:2000], split["test"][:2000])
    return {"params": params, "gru_nats": gru_nats, "bigram_nats": bigram_nats,
            "stats": cm.sample_report(params, P, split, n=2000, seed=seed),
            "gain": {u["property"]: abs(u["r"]) - abs(c["r"]) for u, c in zip(units, control)}}


@pytest.mark.parametrize("seed,threads", RUNS)
def test_gru_beats_the_bigram_on_held_out_nats(seed, threads):
    r = run(seed, threads)
    assert r["gru_nats"] < r["bigram_nats"] - 0.2, (r["gru_nats"], r["bigram_nats"])


@pytest.mark.parametrize("seed,threads", RUNS)
def test_the_puzzle_and_its_explanation(seed, threads):
    g, b = run(seed, threads)["stats"]["GRU"], run(seed, threads)["stats"]["bigram"]
    assert b["held_out"] > g["held_out"]                         # the bigram writes more real held-out names
    assert b["real_if_short"] > 5 * b["real_if_long"]            # short strings are real far more often
    assert b["short"] > 3 * g["short"] and b["short"] > 0.2      # the bigram often stops early
    assert b["real_short"] / (b["real_short"] + b["real_long"]) > 0.85   # almost all its real names are short
    assert b["distinct"] < g["distinct"] - 0.1                   # it repeats itself
    assert g["real_long"] > 3 * b["real_long"]                   # 5+ letters: several times as often


@pytest.mark.parametrize("seed,threads", RUNS)
def test_most_gru_samples_are_new(seed, threads):
    g = run(seed, threads)["stats"]["GRU"]
    assert g["new"] > 0.8 and g["copied"] < 0.15


@pytest.mark.parametrize("seed,threads", RUNS)
def test_temperature_sharpens_below_1_and_flattens_above(seed, threads):
    params = run(seed, threads)["params"]
    o = cm.scores(params, cm.run(params, surnames.encode("mac")[None, :-1])[0])[-1]
    entropy = lambda p: -(p[p > 0] * np.log(p[p > 0])).sum()
    h = [entropy(cm.next_char_probs(o, t)) for t in (0.5, 1.0, 1.5)]
    assert h[0] < h[1] < h[2], h


@pytest.mark.parametrize("seed,threads", RUNS)
def test_unit_gains(seed, threads):
    gain = run(seed, threads)["gain"]
    assert min(gain, key=gain.get) == "letters left", gain       # "letters left gains least"


@pytest.mark.parametrize("seed,threads", RUNS)
def test_widget_try_this(seed, threads):
    """The widget's Try-this bullets, with the trained weights of the run."""
    w = CharModelWidget(run(seed, threads)["params"], prefix="mac")
    probs = {}
    for prefix in ("sch", "mc", "o", "ng"):                      # different continuations
        w.controls["prefix"].value = prefix
        probs[prefix] = w.values["probs"][-1]
    tops = {p: int(np.argmax(v)) for p, v in probs.items()}
    assert len(set(tops.values())) >= 3, {p: surnames.CHARS[t] for p, t in tops.items()}
    for name in ("smith", "johnson"):                            # a finished name: the bars answer, no message
        w.controls["prefix"].value = name
        assert w.message.value == "" and np.isclose(w.values["probs"][-1].sum(), 1.0)
    w.controls["prefix"].value = "mac"
    base = w.values["probs"][-1]
    w.controls["temperature"].value = 0.0                        # one bar takes everything
    assert np.isclose(w.values["probs"][-1].max(), 1.0)
    w.controls["temperature"].value = 2.0                        # the bars flatten
    hot = w.values["probs"][-1]
    entropy = lambda p: -(p[p > 0] * np.log(p[p > 0])).sum()
    assert entropy(hot) > entropy(base) and hot.max() < base.max()
    w.controls["temperature"].value = 1.0
    w.controls["top_k"].value = 3                                # samples use the three likeliest only
    top3 = set(np.argsort(-w.values["probs"][-1])[:3])
    assert (w.values["probs"][-1] > 0).sum() == 3
    for _ in range(3):
        w.controls["sample"].click()
        names = w.samples.value.split(": ", 1)[1].split(", ")
        assert all(len(n) == 3 or surnames.INDEX[n[3]] in top3 for n in names), names
    w.controls["prefix"].value = "o'neil"                        # the widget says what is wrong
    assert "only the letters a-z" in w.message.value
