"""Notebook 03: BPTT by hand equals finite differences and torch autograd; truncation,
clipping, the gradient-flow computation and its widget."""
import numpy as np
import pytest
import torch

from helpers import bptt_widget, gradcheck, numbers, rnn

V, H = 6, 4
SEQS = [np.array([0, 2, 3, 4, 1]), np.array([0, 5, 1]), np.array([0, 2, 2, 3, 4, 5, 1])]


def _setup(seed=1):
    p = rnn.init_params(V, H, seed=seed, radius=1.2)
    rng = np.random.default_rng(seed)
    p["b_h"], p["b_y"] = rng.normal(0, 0.3, H), rng.normal(0, 0.3, V)
    X, targets, mask = rnn.batch(SEQS, V)
    return p, X, targets, mask, rng.normal(0, 0.5, (len(SEQS), H))


def _torch_grads(p, X, targets, mask, h0, truncate=None):
    model = rnn.make_torch(V, H)
    rnn.copy_to_torch(p, model)
    h0_t = torch.tensor(h0, requires_grad=True)
    rnn.torch_loss(model, X, targets, mask, h0_t, truncate).backward()
    r = model.rnn
    return {"W_xh": r.weight_ih_l0.grad, "W_hh": r.weight_hh_l0.grad, "b_h": r.bias_ih_l0.grad,
            "W_hy": model.out.weight.grad, "b_y": model.out.bias.grad, "h0": h0_t.grad}


def test_bptt_passes_a_finite_difference_check():
    p, X, targets, mask, h0 = _setup()
    grads = rnn.backward(p, rnn.forward(p, X, h0), targets, mask)
    every = dict(p, h0=h0)

    def f():
        return rnn.loss(rnn.forward({n: every[n] for n in rnn.NAMES}, X, every["h0"]), targets, mask)

    errors = gradcheck.check_gradients(f, every, grads)
    assert set(errors) == {*rnn.NAMES, "h0"}
    assert max(errors.values()) < 1e-6, errors


def test_a_wrong_backward_fails_the_gradient_check():
    p, X, targets, mask, h0 = _setup()
    grads = rnn.backward(p, rnn.forward(p, X, h0), targets, mask)
    grads["W_hh"] = grads["W_hh"].T                     # a classic mistake
    f = lambda: rnn.loss(rnn.forward(p, X, h0), targets, mask)  # noqa: E731
    assert gradcheck.check_gradients(f, {"W_hh": p["W_hh"]}, grads)["W_hh"] > 1e-3


@pytest.mark.parametrize("truncate", [None, 1, 2, 3, 10])
def test_bptt_equals_torch_autograd(truncate):
    p, X, targets, mask, h0 = _setup()
    mine = rnn.backward(p, rnn.forward(p, X, h0), targets, mask, truncate)
    theirs = _torch_grads(p, X, targets, mask, h0, truncate)
    for name, g in theirs.items():
        np.testing.assert_allclose(mine[name], g.numpy(), atol=1e-6, rtol=0, err_msg=name)
        np.testing.assert_allclose(mine[name], g.numpy(), atol=1e-12, rtol=1e-9, err_msg=name)


def test_truncation_only_changes_gradients_when_it_cuts_something():
    p, X, targets, mask, h0 = _setup()
    cache = rnn.forward(p, X, h0)
    full = rnn.backward(p, cache, targets, mask)
    long = rnn.backward(p, cache, targets, mask, truncate=X.shape[1])   # one chunk: nothing cut
    short = rnn.backward(p, cache, targets, mask, truncate=2)
    for name in rnn.NAMES:
        np.testing.assert_allclose(long[name], full[name], atol=1e-15)
    assert not np.allclose(short["W_hh"], full["W_hh"])
    np.testing.assert_allclose(short["W_hy"], full["W_hy"])          # the output layer is not recurrent


def test_step_back_is_one_step_of_backward():
    p, X, targets, mask, h0 = _setup()
    cache = rnn.forward(p, X, h0)
    # the loss only at the first step: dL/dh_1 goes back to h0 through one step
    only_first = np.zeros_like(mask)
    only_first[:, 0] = 1
    g = rnn.backward(p, cache, targets, only_first)
    do = cache["y"][:, 0].copy()
    do[np.arange(len(SEQS)), targets[:, 0]] -= 1
    dh1 = do / only_first.sum() @ p["W_hy"]
    np.testing.assert_allclose(rnn.step_back(p["W_hh"], cache["h"][:, 0], dh1), g["h0"], atol=1e-12)
    assert rnn.check_step_back(rnn.step_back)
    assert not rnn.check_step_back(lambda W, h, dh: dh @ W)      # forgot the tanh


def test_clip_by_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert rnn.grad_norm(grads) == 5.0
    clipped = rnn.clip_by_norm(grads, 1.0)
    assert abs(rnn.grad_norm(clipped) - 1.0) < 1e-9
    np.testing.assert_allclose(clipped["a"] / clipped["a"][0], grads["a"] / 3.0)   # direction kept
    same = rnn.clip_by_norm(grads, 10.0)
    np.testing.assert_array_equal(same["b"], grads["b"])


def test_sgd_descends_and_clipping_bounds_each_step():
    p, X, targets, mask, _ = _setup()
    start = rnn.loss(rnn.forward(p, X), targets, mask)
    lg = lambda q: rnn.loss_and_grads(q, X, targets, mask)  # noqa: E731
    hist = rnn.sgd(p, lg, 50, lr=0.5)
    assert hist["loss"][0] == pytest.approx(start) and hist["loss"][-1] < start - 0.3
    q = rnn.init_params(V, H, seed=2, radius=1.2)
    before = {k: v.copy() for k, v in q.items()}
    rnn.sgd(q, lg, 1, lr=1.0, clip=0.01)
    moved = np.sqrt(sum(((q[k] - before[k]) ** 2).sum() for k in q))
    assert moved <= 0.01 + 1e-9


# -- the gradient-flow computation and widget -------------------------------------------
def test_identity_flow_is_a_matrix_power():
    r = bptt_widget.compute(1.3, "identity", 12, H=6, seed=3)
    W = bptt_widget.recurrent_weights(1.3, 6, 3)
    assert abs(np.max(np.abs(np.linalg.eigvals(W))) - 1.3) < 1e-9
    for k in (0, 1, 5, 12):
        np.testing.assert_allclose(r["jac_norm"][k], np.linalg.norm(np.linalg.matrix_power(W, k), 2),
                                   rtol=1e-9)
    assert r["grad_norm"].shape == (13,) and r["grad_norm"][0] == 1.0


def test_small_radius_vanishes_large_radius_explodes_tanh_saturates():
    small = bptt_widget.compute(0.6, "identity", 60)
    big = bptt_widget.compute(2.0, "identity", 60)
    assert small["grad_norm"][-1] < 1e-8 < 1e8 < big["grad_norm"][-1]
    tanh = bptt_widget.compute(2.0, "tanh", 60)
    assert tanh["grad_norm"][-1] < 1e-3 * big["grad_norm"][-1]        # saturation damps the blow-up
    assert 0 < tanh["mean_slope"] < 1 and big["mean_slope"] == 1
    with pytest.raises(ValueError, match="nonlinearity"):
        bptt_widget.compute(1.0, "sigmoid", 10)


def test_gradient_flow_widget_updates_in_place():
    w = bptt_widget.demo()
    c = w.controls
    image, readout = w.image.value, w.readout.value
    c["radius"].value = 2.0
    assert w.image.value != image and w.readout.value != readout
    c["nonlinearity"].value = "identity"
    c["T"].value = c["T"].max                                 # a slider at its end: above the chart
    assert "above the chart" in w.readout.value and w.message.value == ""
    assert w.ax.get_xlim() == (0, c["T"].max)                 # the k axis follows T
    assert "average slope f′ = 1.00" in w.setting.get_text()  # identity: slope 1, shown in the picture
    c["radius"].value = c["radius"].min
    assert "below the chart" in w.readout.value
    image = w.image.value
    c["T"].value = 30
    assert w.ax.get_xlim() == (0, 30) and w.image.value != image
    assert len(w.latencies_ms) == 6


# -- notebook 03's widget readout, plot and "Try this" (deterministic: seed 0 as the notebook) --
def _end(radius, f, T):
    return bptt_widget.compute(radius, f, T)["grad_norm"][-1]


def test_readout_factor_per_step_matches_the_total():
    w = bptt_widget.GradientFlowWidget()
    for f, radius, T in (("tanh", 2.3, 50), ("relu", 2.0, 50), ("identity", 0.6, 80), ("relu", 0.5, 100)):
        w.controls["nonlinearity"].value, w.controls["radius"].value, w.controls["T"].value = f, radius, T
        end, g = w.values["end"], w.values["per_step"]
        assert np.isclose(g ** T, end, rtol=1e-6)
        assert f"<b>{g:.3f}</b>" in w.readout.value and f"{end:.2g}" in w.readout.value
        assert (g > 1) == (end > 1)                                  # never "shrinks per step" and "larger"
    assert bptt_widget.per_step_factor(0.0, 10) == 0.0


def test_03_plot_claims_at_60_steps():
    radii = [0.5, 0.9, 1.0, 1.2, 1.5, 2.5]
    ident = {r: _end(r, "identity", 60) for r in radii}
    tanh = {r: bptt_widget.compute(r, "tanh", 60) for r in radii}
    assert all(ident[r] < 1e-2 for r in radii if r < 1) and all(ident[r] > 1e2 for r in radii if r > 1)
    assert 0.1 < ident[1.0] < 10                                     # "within a factor of ten"
    assert all(tanh[r]["grad_norm"][-1] < 1e-3 * ident[r] for r in radii)   # far below its identity twin
    slopes = [tanh[r]["mean_slope"] for r in radii]
    assert all(a > b for a, b in zip(slopes, slopes[1:]))            # larger radius, smaller slope
    assert 1e-2 < tanh[2.5]["grad_norm"][-1] < 1e2 and ident[2.5] > bptt_widget.CEIL   # near 1 vs off the chart


def test_03_widget_try_this():
    assert _end(0.95, "identity", 50) < 1 < _end(1.1, "identity", 50)            # tilts across 1.0
    assert 50 < _end(1.05, "identity", 100) / _end(1.0, "identity", 100) < 300   # about a hundred times
    grid = np.round(np.arange(0.5, 2.51, 0.05), 2)
    tanh = {r: _end(r, "tanh", 50) for r in grid}
    assert all(tanh[r] < 1 for r in grid if r <= 2.2) and tanh[2.3] > 1          # stops falling near 2.3
    slopes = [bptt_widget.compute(r, "tanh", 50)["mean_slope"] for r in grid]
    assert all(a > b for a, b in zip(slopes, slopes[1:]))
    per_step = lambda r, f: bptt_widget.per_step_factor(_end(r, f, 50), 50)  # noqa: E731
    assert 1 < per_step(2.5, "tanh") < 1.1 and per_step(2.5, "identity") > 2.3   # about 1.05 against 2.5
    relu = {r: bptt_widget.compute(r, "relu", 50) for r in grid}
    assert all(relu[r]["mean_slope"] < 0.5 for r in grid)                        # below one half
    assert all(relu[r]["grad_norm"][-1] < 1 for r in grid if r <= 1.75)
    assert all(relu[r]["grad_norm"][-1] > 1 for r in grid if r >= 1.9)          # near 1.8, then grows
    assert per_step(2.5, "relu") > per_step(2.5, "tanh")                          # faster than tanh's
    for f in ("identity", "tanh", "relu"):                                        # grow T: the factor barely moves
        for r in (0.9, 1.0, 1.1):
            a = bptt_widget.per_step_factor(_end(r, f, 50), 50)
            b = bptt_widget.per_step_factor(_end(r, f, 100), 100)
            assert abs(a - b) < 0.06


def test_03_your_step_back_shrinks_a_gradient_along_a_phrase():
    """The cell after the Jacobian product: untrained model (seed 0, radius 0.9), held-out phrase 1500."""
    data = numbers.load()
    V = len(data["vocab"])
    params = rnn.init_params(V, 32, seed=0)
    Xh, _, Mh = rnn.batch(data["held_out"]["sequences"], V)
    T1 = int(Mh[1500].sum())
    hs = rnn.forward(params, Xh[1500:1501, :T1])["h"][0]
    g, norms = np.eye(32)[:1], [1.0]
    for t in range(T1 - 1, 0, -1):
        g = rnn.step_back(params["W_hh"], hs[t][None], g)
        norms.append(np.linalg.norm(g))
    assert np.all(np.diff(norms) < 0)


def test_03_understanding_right_and_wrong_answers():
    from helpers import quiz

    qs = rnn.understanding_bptt()
    keys = list(qs)
    right = dict(zip(keys, [0.125, 1.0, "no"]))
    assert quiz.check(right, qs, name="t03")
    for key, wrong in ((keys[0], 0.5), (keys[0], 1.5), (keys[1], 5.0), (keys[1], 0.2), (keys[2], "yes"), (keys[2], 1)):
        assert not quiz.check(dict(right, **{key: wrong}), qs, name="t03w")
