"""The seed's one-step DAG: numpy forward/backward, finite differences, and the torch twin."""
import numpy as np
import pytest
import torch

from helpers import gradcheck, numbers, onestep, training

V, H = 7, 5


def make_case(seed=0, B=6):
    rng = np.random.default_rng(seed)
    params = onestep.init_params(V, H, seed=seed, scale=1.0)
    params["b1"] = rng.normal(size=H)
    params["b2"] = rng.normal(size=V)
    X = np.eye(V)[rng.integers(0, V, B)] + 0.1 * rng.normal(size=(B, V))  # not only one-hot
    return params, X, rng.integers(0, V, B), rng.uniform(0.5, 3, B)


def test_softmax_rows_sum_to_one_and_survive_large_scores():
    y = onestep.softmax(np.array([[1000.0, 1001.0], [0.0, 0.0]]))
    assert np.allclose(y.sum(1), 1) and np.all(np.isfinite(y))
    assert y[1, 0] == pytest.approx(0.5)


def test_shapes_are_checked_with_a_message():
    params, *_ = make_case()
    with pytest.raises(ValueError, match=r"shape \(B, 7\), got \(3, 4\)"):
        onestep.forward(params, np.zeros((3, 4)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backward_matches_finite_differences(seed):
    params, X, targets, weights = make_case(seed)
    _, grads = onestep.loss_and_grads(params, X, targets, weights, tau=0.5)
    errors = gradcheck.check_gradients(
        lambda: onestep.cross_entropy(onestep.forward(params, X, 0.5)["y"], targets, weights), params, grads)
    assert max(errors.values()) < 1e-6, errors


def test_a_wrong_gradient_is_caught():
    params, X, targets, _ = make_case()
    _, grads = onestep.loss_and_grads(params, X, targets)
    grads["W2"] = grads["W2"] * 1.01
    errors = gradcheck.check_gradients(
        lambda: onestep.cross_entropy(onestep.forward(params, X)["y"], targets), params, grads)
    assert errors["W2"] > 1e-4


@pytest.mark.parametrize("seed", [0, 1])
def test_torch_twin_gives_equal_outputs_and_gradients(seed):
    params, X, targets, _ = make_case(seed)
    model = onestep.make_torch(V, H)
    onestep.copy_to_torch(params, model)
    h1, o, y = model(torch.from_numpy(X))
    torch.nn.functional.nll_loss(torch.log(y), torch.from_numpy(targets)).backward()
    out = onestep.forward(params, X)
    _, grads = onestep.loss_and_grads(params, X, targets)
    for a, b in ((out["h1"], h1), (out["o"], o), (out["y"], y)):
        np.testing.assert_allclose(a, b.detach().numpy(), atol=1e-6, rtol=0)
    for name, g in grads.items():
        np.testing.assert_allclose(g, getattr(model, name).grad.numpy(), atol=1e-6, rtol=0)


def test_training_on_counts_equals_training_on_tokens():
    seqs = [np.array([0, 2, 3, 1]), np.array([0, 2, 4, 1]), np.array([0, 2, 3, 1])]
    counts = numbers.bigram_counts(seqs, V)
    X, nxt, w = onestep.pairs_from_counts(counts)
    params, *_ = make_case()
    loss_table, g_table = onestep.loss_and_grads(params, X, nxt, w)
    cur = np.concatenate([s[:-1] for s in seqs])
    tgt = np.concatenate([s[1:] for s in seqs])
    loss_tok, g_tok = onestep.loss_and_grads(params, np.eye(V)[cur], tgt)
    assert loss_table == pytest.approx(loss_tok)
    for k in g_tok:
        np.testing.assert_allclose(g_table[k], g_tok[k], atol=1e-12)


def test_training_beats_unigram_on_number_phrases():
    data = numbers.load(max_number=999)
    Vn = len(data["vocab"])
    ctr = numbers.bigram_counts(data["train"]["sequences"], Vn)
    cte = numbers.bigram_counts(data["held_out"]["sequences"], Vn)
    X, nxt, w = onestep.pairs_from_counts(ctr)
    params = onestep.init_params(Vn, 16)
    hist = training.fit_numpy(lambda p: onestep.loss_and_grads(p, X, nxt, w), params, 200, lr=0.05, live=False)
    assert hist["loss"][-1] < hist["loss"][0]
    uni = ctr.sum(0) / ctr.sum()
    ppl_dag = onestep.perplexity(onestep.forward(params, np.eye(Vn))["y"], cte)
    assert ppl_dag < 0.5 * onestep.perplexity(np.tile(uni, (Vn, 1)), cte)


def test_exercise_checks_pass_a_right_answer_and_hint_on_a_wrong_one():
    assert onestep.check_softmax(lambda o: onestep.softmax(o))
    naive = onestep.check_softmax(lambda o: np.exp(o) / np.exp(o).sum())
    assert not naive and "Hint" in naive.message
    assert not onestep.check_softmax(None)
    assert onestep.check_tanh_backward(lambda h, dh: dh * (1 - h**2))
    wrong = onestep.check_tanh_backward(lambda h, dh: dh * (1 - h))
    assert not wrong and "1 - h**2" in wrong.message
    crash = onestep.check_tanh_backward(lambda h, dh: h @ dh)
    assert not crash and "raised" in crash.message


def test_smoothing_is_bias_corrected_and_follows_the_trend():
    assert np.allclose(training.smooth([5.0, 5.0, 5.0]), 5.0)  # no pull towards 0 at the start
    s = training.smooth(np.linspace(10, 0, 200))
    assert s[0] == 10 and np.all(np.diff(s) < 0) and s[-1] < 1


def test_live_training_draws_the_curve_and_prints_a_summary(capsys):
    params = onestep.init_params(V, H)
    X, targets = np.eye(V)[[0, 1, 2]], np.array([1, 2, 3])
    hist = training.fit_numpy(lambda p: onestep.loss_and_grads(p, X, targets), params, 30, lr=0.05,
                              every=10, live=True, validate=lambda p: 1.0)
    out = capsys.readouterr().out
    assert "30 steps in" in out and "held-out 1.000" in out
    assert len(hist["val"]) == 3 and hist["loss"][-1] < hist["loss"][0]


def test_live_curve_redraws_at_most_twice_a_second_and_ends_on_the_last_step(monkeypatch):
    clock = iter(np.arange(0.0, 100.0, 0.1))                   # every call to the clock: 0.1 s later
    monkeypatch.setattr(training.time, "perf_counter", lambda: float(next(clock)))
    drawn = []
    real = training.LossCurve.redraw
    monkeypatch.setattr(training.LossCurve, "redraw", lambda self: (drawn.append(len(self.steps)), real(self))[1])
    params = onestep.init_params(V, H)
    X, targets = np.eye(V)[[0, 1, 2]], np.array([1, 2, 3])
    training.fit_numpy(lambda p: onestep.loss_and_grads(p, X, targets), params, 60, lr=0.05, every=1, live=True)
    assert drawn[-1] == 60, "the finished curve shows every step"
    assert 2 <= len(drawn) < 30, f"redrawn {len(drawn)} times for 60 steps 0.1 s apart (at most every 0.5 s)"
    assert len(drawn) == len(set(drawn)), "no step drawn twice"


def test_01_what_one_word_cannot_tell_as_the_notebook_says():
    """The data claims of 01's 'Where one step must fail' (the split is fixed, seed 0)."""
    data = numbers.load()
    rows = {r["word"]: r for r in numbers.context_gain(data["train"]["sequences"], data["vocab"])}
    digits = "one two three four five six seven eight nine".split()
    others = [w for w in rows if w not in digits]
    assert min(rows[w]["gain"] for w in digits) > 1.0 > max(rows[w]["gain"] for w in others)  # lose the most, > 1 bit
    assert all(rows[w]["H(next|prev,word)"] < 0.25 for w in digits)        # the word before settles it
    assert rows["thousand"]["H(next|prev,word)"] > 3 and rows["and"]["H(next|prev,word)"] > 3
    assert rows["hundred"]["gain"] < 0.01 and rows["hundred"]["H(next|word)"] < 0.1   # and, nearly always


def test_02_what_follows_three_depends_on_the_word_before():
    """02's reading of its table: at the start 'thousand' (or 'hundred'), after 'thousand' 'hundred',
    after 'and' or a tens word the end."""
    data = numbers.load()
    nxt = {prev: dict(ws) for prev, ws in numbers.next_given_prev(data["train"]["sequences"], data["vocab"],
                                                                   "three").items()}
    assert max(nxt[numbers.BOS], key=nxt[numbers.BOS].get) == "thousand" and "hundred" in nxt[numbers.BOS]
    assert nxt["thousand"] == {"hundred": 1.0}
    for prev in ("and", "twenty", "thirty", "ninety"):
        assert nxt[prev] == {"<eos>": 1.0}
