"""Claims of notebooks 04 (memory) and 05 (gates): every conclusion drawn from a run holds for
seeds 0-4 and 1 and 2 torch threads. Each (seed, threads) is trained once per session."""
import functools

import numpy as np
import pytest

from conftest import RUNS, torch_threads
from helpers import gates, gates_widget, memory

pytestmark = pytest.mark.claims

DELAYS = np.arange(1, 31)
MAX_TRAIN_DELAY = 20


@functools.cache
def recall_run(kind: str, seed: int, threads: int) -> dict:
    """The notebooks' recall experiment for one cell: accuracy at delays 1..30, groups at D = 20 and D = 1."""
    with torch_threads(threads):
        model, _ = memory.train_recall(kind, H=8, max_delay=MAX_TRAIN_DELAY, seed=seed, live=False)
        acc = memory.recall_accuracy(model, DELAYS)
        groups = {D: memory.answer_groups(memory.recall_confusion(model, D)) for D in (1, MAX_TRAIN_DELAY)}
        untrained = memory.make_recall_net(kind, H=8, seed=seed)
        influence = {state: memory.influence_of_first(*memory.numpy_cell(net)[:2], T=30)
                     for state, net in (("untrained", untrained), ("trained", model))}
    return {"acc": acc, "groups": groups, "influence": influence, "cell": memory.numpy_cell(model)}


@functools.cache
def tagging_run(seed: int, threads: int) -> dict:
    """05's CNN-vs-RNN experiment: overall held-out accuracy per (task, model) at length 40."""
    out = {}
    with torch_threads(threads):
        for task, n_classes in memory.TASKS.items():
            for name, make in (("CNN", memory.make_cnn), ("RNN", memory.make_tagger_rnn)):
                model = make(n_classes, seed=seed)
                memory.train_tagger(model, task, steps=memory.TAG_STEPS, seed=seed, live=False)
                out[task, name] = memory.tag_accuracy(model, task, length=40)
    return out


def _acc(kind):
    return np.array([recall_run(kind, s, t)["acc"] for s, t in RUNS])   # (runs, delays)


# -- 04 ---------------------------------------------------------------------------------
def test_04_vanilla_recall_falls_with_delay():
    acc = _acc("rnn")
    assert np.all(acc[:, 0] > 0.5), acc[:, 0]                           # right more often than not at D = 1
    assert np.all(acc[:, 0] - acc[:, MAX_TRAIN_DELAY - 1] >= 0.15)
    for row in acc:                                                     # below the line from D = 2 on
        fail = memory.failing_delay(DELAYS, row)
        assert fail == 2, row
        assert np.all(row[fail - 1:] < memory.FAIL_THRESHOLD), row


def test_04_spread_over_runs_is_what_the_prose_says():
    acc = _acc("rnn")
    assert 0.68 <= acc[:, 0].min() and acc[:, 0].max() <= 1.0, acc[:, 0]
    assert 0.34 <= acc[:, MAX_TRAIN_DELAY - 1].min() and acc[:, MAX_TRAIN_DELAY - 1].max() <= 0.55


def test_04_the_notebook_run_keeps_a_single_group_at_d20():
    for threads in (1, 2):
        assert len(recall_run("rnn", 0, threads)["groups"][MAX_TRAIN_DELAY]) == 1


def test_04_vanilla_keeps_only_groups_and_scores_near_groups_over_four():
    for s, t in RUNS:
        r = recall_run("rnn", s, t)
        n_groups = len(r["groups"][MAX_TRAIN_DELAY])
        assert n_groups < memory.K_RECALL
        assert abs(r["acc"][MAX_TRAIN_DELAY - 1] - n_groups / memory.K_RECALL) <= 0.15


# -- 05 ---------------------------------------------------------------------------------
def test_05_gated_cells_hold_at_every_delay_the_vanilla_one_does_not():
    rnn = _acc("rnn")
    for kind in ("gru", "lstm"):
        acc = _acc(kind)
        assert np.all(acc >= 0.9), (kind, acc.min(1))                              # every delay, 1 to 30
        assert np.all(acc[:, MAX_TRAIN_DELAY - 1] >= rnn[:, MAX_TRAIN_DELAY - 1] + 0.3)


def test_05_gates_do_not_remember_before_training():
    for s, t in RUNS:
        for kind in ("rnn", "gru", "lstm"):
            c = recall_run(kind, s, t)["influence"]
            assert c["untrained"][-1] < c["untrained"][0] / 20, (kind, s, t)       # fades geometrically
            assert c["trained"][-1] > 0.1, (kind, s, t)                             # kept alive after training


@pytest.mark.parametrize("seed", sorted({s for s, _ in RUNS}))
def test_05_fresh_gates_sit_near_a_half_and_the_lstm_forget_gate_near_0_73(seed):
    X, _, _ = memory.recall_batch(np.full(64, 12), np.random.default_rng(0))
    for kind, gate, want in (("gru", "z", 0.5), ("lstm", "f", 0.73)):
        k, p, _, _ = memory.numpy_cell(memory.make_recall_net(kind, H=8, seed=seed))
        assert abs(gates.run(k, p, X)[gate].mean() - want) < 0.1, (kind, seed)


def test_05_cnn_wins_local_rnn_wins_long_range():
    for s, t in RUNS:
        r = tagging_run(s, t)
        base_first = memory.majority_baseline("first", length=40)
        assert r["palindrome", "CNN"][1] >= 0.98 and r["palindrome", "CNN"][1] > r["palindrome", "RNN"][1] + 0.1
        assert r["first", "RNN"][1] >= 0.98 and r["first", "RNN"][1] > r["first", "CNN"][1] + 0.3
        by_t = r["first", "CNN"][0]
        assert np.all(by_t[:4] >= 0.95) and np.all(by_t[5:] <= base_first + 0.1)   # first four right, chance from 6


# -- 05's widget, on the notebook's weights (seed 0, one thread) --------------------------
@functools.cache
def notebook_widget():
    cells = {kind: recall_run(kind, 0, 1)["cell"] for kind in ("gru", "lstm")}
    return gates_widget.GatesWidget(cells)


def test_05_widget_default_units_hold_one_by_its_gate_one_by_saturation():
    w = notebook_widget()
    w.controls["text"].value = gates_widget.PRESETS[0]
    w.controls["show"].value = "GRU: update gate z (1 = keep)"
    roles = w.roles["gru"]
    a, b = w.units("gru")
    assert roles["role"][a] == "gate" and roles["role"][b] == "saturation"
    r = gates_widget.compute(gates_widget.PRESETS[0], w.cells["gru"], "z")
    keep, h = r["keep"][1:-1], r["h"][1:-1]                             # steps 2..T-1: the distractors
    assert np.all(keep[:, a] >= 0.9) and np.ptp(h[:, a]) < 0.1          # gate near 1, state flat
    assert keep[:, b].mean() < 0.5 and np.all(np.abs(h[:, b]) >= 0.8)   # gate low, state saturated...
    assert len(set(np.sign(h[:, b]))) == 1                              # ...on one side all along
    assert "answers 'b'" in w.title.get_text()


def test_05_widget_first_letter_changes_the_values_not_the_units():
    w = notebook_widget()
    w.controls["show"].value = "GRU: update gate z (1 = keep)"
    w.controls["text"].value = gates_widget.PRESETS[0]
    units = w.units("gru")
    before = gates_widget.compute(gates_widget.PRESETS[0], w.cells["gru"], "z")["h"]
    changed = "d" + gates_widget.PRESETS[0][1:]
    w.controls["text"].value = changed
    assert w.units("gru") == units and "answers 'd'" in w.title.get_text()
    after = gates_widget.compute(changed, w.cells["gru"], "z")["h"]
    a = units[0]
    assert abs(after[0, a] - before[0, a]) > 0.1                        # a new value at step 1...
    assert np.ptp(after[1:-1, a]) < 0.1                                 # ...kept across the distractors


def test_05_widget_long_sequences_and_lstm():
    w = notebook_widget()
    for text in ("caaaaaaaaaaaaaaaaaaa?", "abcdabcdabcdabcdabcdabcdabcd?", "dbbb?dbbb?", "d?"):
        for show in ("GRU: update gate z (1 = keep)", "LSTM: forget gate f (1 = keep)"):
            w.controls["show"].value = show
            w.controls["text"].value = text
            assert f"answers '{text[0]}'" in w.title.get_text(), (text, show)
    roles = w.roles["lstm"]
    assert np.mean(roles["keep"] >= 0.8) >= 0.5                         # most LSTM units: f near 1
    r = gates_widget.compute(gates_widget.PRESETS[0], w.cells["lstm"], "c")
    a = w.units("lstm")[0]
    assert len(set(np.sign(r["c"][1:-1, a]))) == 1 and np.all(np.abs(r["h"][2:-1, a]) >= 0.8)
