"""helpers.gates: numpy vanilla/GRU/LSTM cells equal torch's; the GRU's backward is right."""
import numpy as np
import pytest
import torch

from helpers import gates, gradcheck


def _data(kind, B=3, T=7, I=4, H=5, seed=0, scale=2.0):
    rng = np.random.default_rng(seed)
    p = {k: scale * v for k, v in gates.init_params(kind, I, H, seed).items()}  # larger: gates matter
    return p, rng.normal(size=(B, T, I)), rng


def test_sigmoid_is_stable_and_right():
    a = np.array([-1000.0, -5.0, 0.0, 3.0, 1000.0])
    with np.errstate(over="raise"):
        s = gates.sigmoid(a)
    np.testing.assert_allclose(s[1:4], 1 / (1 + np.exp(-a[1:4])))
    assert s[0] == 0.0 and s[-1] == 1.0


def test_init_params_shapes_and_bad_kind():
    for kind, G in gates.N_BLOCKS.items():
        p = gates.init_params(kind, I=3, H=4)
        assert p["W_xh"].shape == (4 * G, 3) and p["W_hh"].shape == (4 * G, 4)
        assert p["b_xh"].shape == p["b_hh"].shape == (4 * G,)
        assert np.all(np.abs(p["W_hh"]) <= 0.5)          # 1/sqrt(H)
    with pytest.raises(ValueError, match="kind"):
        gates.init_params("transformer", 3, 4)


@pytest.mark.parametrize("kind", gates.KINDS)
def test_numpy_equals_torch_forward(kind):
    p, X, rng = _data(kind)
    B, H = X.shape[0], p["W_hh"].shape[1]
    h0 = rng.uniform(-1, 1, (B, H))
    c0 = rng.normal(size=(B, H))
    state = (h0, c0) if kind == "lstm" else h0
    ours = gates.run(kind, p, X, state=state)
    module = gates.to_torch(kind, p)
    t_state = tuple(torch.from_numpy(s)[None] for s in state) if kind == "lstm" else torch.from_numpy(h0)[None]
    out, last = module(torch.from_numpy(X), t_state)
    np.testing.assert_allclose(ours["h"], out.detach().numpy(), atol=1e-6, rtol=0)
    if kind == "lstm":
        np.testing.assert_allclose(ours["state"][1], last[1][0].detach().numpy(), atol=1e-6, rtol=0)


@pytest.mark.parametrize("kind", gates.KINDS)
def test_from_torch_round_trip(kind):
    p, _, _ = _data(kind)
    back = gates.from_torch(gates.to_torch(kind, p))
    for name in p:
        np.testing.assert_array_equal(back[name], p[name])
    assert gates.kind_of(gates.to_torch(kind, p)) == kind


def test_run_checks_the_input_shape():
    p = gates.init_params("gru", I=4, H=3)
    with pytest.raises(ValueError, match=r"\(B, T, 4\)"):
        gates.run("gru", p, np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="shape"):
        gates.run("gru", p, np.zeros((5, 4)))


def test_gates_are_probabilities():
    p, X, _ = _data("lstm")
    r = gates.run("lstm", p, X)
    for name in ("i", "f", "o"):
        assert np.all((r[name] > 0) & (r[name] < 1))
    p, X, _ = _data("gru")
    r = gates.run("gru", p, X)
    assert np.all((r["z"] > 0) & (r["z"] < 1)) and np.all(np.abs(r["n"]) < 1)


def test_gru_with_update_gate_shut_holds_its_state():
    p, X, rng = _data("gru", H=4)
    H = 4
    p["b_xh"][H:2 * H] = 50.0                             # z = sigmoid(50 + ...) = 1: keep everything
    h0 = rng.uniform(-1, 1, (X.shape[0], H))
    r = gates.run("gru", p, X, state=h0)
    np.testing.assert_allclose(r["h"][:, -1], h0, atol=1e-9)
    p["b_xh"][H:2 * H] = 0.0
    assert np.max(np.abs(gates.run("gru", p, X, state=h0)["h"][:, -1] - h0)) > 0.1


def _gru_backward_case(B, T, I, H):
    """Weights, inputs, h0, an upstream gradient G = dL/dh_t, and the hand-written backward of L = sum(hs * G)."""
    p, X, rng = _data("gru", B=B, T=T, I=I, H=H)
    h0 = rng.uniform(-0.5, 0.5, (B, H))
    G = rng.normal(size=(B, T, H))
    hs, cache = gates.gru_forward(p, X, h0)
    grads, dh0 = gates.gru_backward(p, cache, G)
    return p, X, h0, G, hs, grads, dh0


def test_gru_backward_passes_the_gradient_check():
    p, X, h0, G, _, grads, dh0 = _gru_backward_case(B=2, T=5, I=3, H=4)

    def loss():
        return float((gates.gru_forward(p, X, h0)[0] * G).sum())

    for name, err in gradcheck.check_gradients(loss, p, grads).items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"
    assert gradcheck.relative_error(dh0, gradcheck.numerical_grad(loss, h0)) < 1e-6


def test_gru_backward_equals_torch_autograd():
    p, X, h0, G, hs, grads, dh0 = _gru_backward_case(B=3, T=6, I=4, H=5)
    module = gates.to_torch("gru", p)
    th0 = torch.tensor(h0[None], requires_grad=True)
    out, _ = module(torch.from_numpy(X), th0)
    np.testing.assert_allclose(hs, out.detach().numpy(), atol=1e-6, rtol=0)
    (out * torch.from_numpy(G)).sum().backward()
    for name, tname in gates.TORCH_NAMES.items():
        np.testing.assert_allclose(grads[name], getattr(module, tname).grad.numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(dh0, th0.grad[0].numpy(), atol=1e-6, rtol=0)


def test_gru_forward_equals_run():
    p, X, _ = _data("gru")
    np.testing.assert_array_equal(gates.gru_forward(p, X)[0], gates.run("gru", p, X)["h"])


def test_check_lstm_step_passes_a_right_answer_and_hints_a_wrong_one():
    def right(p, x, h, c):
        h_new, c_new, _ = gates.lstm_step(p, x, h, c)
        return h_new, c_new

    def swapped(p, x, h, c):                              # forget and input gates swapped
        H = h.shape[1]
        a = x @ p["W_xh"].T + p["b_xh"] + h @ p["W_hh"].T + p["b_hh"]
        f, i = gates.sigmoid(a[:, :H]), gates.sigmoid(a[:, H:2 * H])
        c_new = f * c + i * np.tanh(a[:, 2 * H:3 * H])
        return gates.sigmoid(a[:, 3 * H:]) * np.tanh(c_new), c_new

    assert gates.check_lstm_step(right)
    verdict = gates.check_lstm_step(swapped)
    assert not verdict and "i, f, g, o" in verdict.message
    assert not gates.check_lstm_step(None)
    assert not gates.check_lstm_step(lambda p, x, h, c: (h, c))
