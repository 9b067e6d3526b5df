"""Vanilla, GRU and LSTM cells from scratch in numpy, in PyTorch's layout, with torch twins.

Every cell keeps PyTorch's weight layout, so weights copy across unchanged:

    W_xh (G*H, I) = weight_ih_l0    W_hh (G*H, H) = weight_hh_l0
    b_xh (G*H,)   = bias_ih_l0      b_hh (G*H,)   = bias_hh_l0

with G = 1 (vanilla), 3 (GRU: gates r, z, n in that order) or 4 (LSTM: i, f, g, o).
The GRU also has a hand-written backward pass (BPTT), checked by finite differences.
"""
from __future__ import annotations

import numpy as np

from .checks import Mistake, Verdict, compare

KINDS = ("rnn", "gru", "lstm")
N_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}
GATE_NAMES = {"rnn": (), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}


def sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-a)), computed without overflow."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def init_params(kind: str, I: int, H: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Weights drawn like PyTorch's default: uniform in [-1/sqrt(H), 1/sqrt(H)]."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    G, k = N_BLOCKS[kind], 1 / np.sqrt(H)
    rng = np.random.default_rng(seed)
    return {"W_xh": rng.uniform(-k, k, (G * H, I)), "W_hh": rng.uniform(-k, k, (G * H, H)),
            "b_xh": rng.uniform(-k, k, G * H), "b_hh": rng.uniform(-k, k, G * H)}


def rnn_step(p: dict, x: np.ndarray, h: np.ndarray):
    """One vanilla step h' = tanh(W_xh x + b_xh + W_hh h + b_hh): x (B, I), h (B, H)."""
    h_new = np.tanh(x @ p["W_xh"].T + p["b_xh"] + h @ p["W_hh"].T + p["b_hh"])
    return h_new, {}


def gru_step(p: dict, x: np.ndarray, h: np.ndarray):
    """One GRU step (PyTorch's gate order r, z, n): x (B, I), h (B, H) -> new h and the gates."""
    H = h.shape[1]
    gx = x @ p["W_xh"].T + p["b_xh"]                      # (B, 3H) the input's part of r, z, n
    gh = h @ p["W_hh"].T + p["b_hh"]                      # (B, 3H) the state's part
    r = sigmoid(gx[:, :H] + gh[:, :H])                    # reset gate: how much old state the candidate sees
    z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])          # update gate: 1 = keep the old state
    n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])        # candidate new state
    h_new = (1 - z) * n + z * h                           # a blend: keep z of the old, take 1 - z of the new
    return h_new, {"r": r, "z": z, "n": n}


def lstm_step(p: dict, x: np.ndarray, h: np.ndarray, c: np.ndarray):
    """One LSTM step (PyTorch's gate order i, f, g, o): returns new h, new c and the gates."""
    H = h.shape[1]
    a = x @ p["W_xh"].T + p["b_xh"] + h @ p["W_hh"].T + p["b_hh"]   # (B, 4H)
    i = sigmoid(a[:, :H])                                 # input gate: how much new content to write
    f = sigmoid(a[:, H:2 * H])                            # forget gate: 1 = keep the old cell
    g = np.tanh(a[:, 2 * H:3 * H])                        # candidate content
    o = sigmoid(a[:, 3 * H:])                             # output gate: how much of the cell to show
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return h_new, c_new, {"i": i, "f": f, "g": g, "o": o}


def _check_input(p: dict, X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    I = p["W_xh"].shape[1]
    if X.ndim != 3 or X.shape[2] != I:
        raise ValueError(f"X must have shape (B, T, {I}), got {X.shape}")
    return X


def run(kind: str, p: dict, X: np.ndarray, state=None) -> dict:
    """Run a cell over X (B, T, I) from state (h, or (h, c) for the LSTM; zeros if None).

    Returns h (B, T, H), c (B, T, H) for the LSTM, each gate (B, T, H), and the final state.
    """
    X = _check_input(p, X)
    B, T, _ = X.shape
    H = p["W_hh"].shape[1]
    if state is None:
        state = (np.zeros((B, H)), np.zeros((B, H))) if kind == "lstm" else np.zeros((B, H))
    hs, cs = np.empty((B, T, H)), np.empty((B, T, H))
    gates = {name: np.empty((B, T, H)) for name in GATE_NAMES[kind]}
    for t in range(T):
        if kind == "lstm":
            h, c, g = lstm_step(p, X[:, t], *state)
            state, cs[:, t] = (h, c), c
        else:
            h, g = (gru_step if kind == "gru" else rnn_step)(p, X[:, t], state)
            state = h
        hs[:, t] = h
        for name, value in g.items():
            gates[name][:, t] = value
    out = {"h": hs, "state": state, **gates}
    if kind == "lstm":
        out["c"] = cs
    return out


# -- the GRU's backward pass, by hand --------------------------------------------------
def gru_forward(p: dict, X: np.ndarray, h0: np.ndarray | None = None):
    """GRU over X (B, T, I): states hs (B, T, H) and a cache for gru_backward."""
    X = _check_input(p, X)
    B, T, _ = X.shape
    H = p["W_hh"].shape[1]
    h = np.zeros((B, H)) if h0 is None else np.asarray(h0, float)
    hs, steps = np.empty((B, T, H)), []
    for t in range(T):
        gh_n = h @ p["W_hh"][2 * H:].T + p["b_hh"][2 * H:]   # needed by the reset gate's gradient
        h_new, g = gru_step(p, X[:, t], h)
        steps.append({"x": X[:, t], "h": h, "gh_n": gh_n, **g})
        hs[:, t] = h = h_new
    return hs, steps


def gru_backward(p: dict, steps: list, dhs: np.ndarray):
    """Gradients of a loss L w.r.t. W_xh, W_hh, b_xh, b_hh and h0, given dL/dh_t (B, T, H)."""
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    dh = np.zeros_like(dhs[:, 0])                         # dL/dh_t arriving from step t+1
    for t in reversed(range(len(steps))):
        s = steps[t]
        dh = dh + dhs[:, t]                               # h_t feeds the loss and step t+1
        dn = dh * (1 - s["z"])
        dz = dh * (s["h"] - s["n"])
        da_n = dn * (1 - s["n"] ** 2)                     # through tanh
        da_r = da_n * s["gh_n"] * s["r"] * (1 - s["r"])   # through r * gh_n and the sigmoid
        da_z = dz * s["z"] * (1 - s["z"])
        dgx = np.concatenate([da_r, da_z, da_n], axis=1)          # (B, 3H)
        dgh = np.concatenate([da_r, da_z, da_n * s["r"]], axis=1)  # (B, 3H)
        grads["W_xh"] += dgx.T @ s["x"]
        grads["b_xh"] += dgx.sum(0)
        grads["W_hh"] += dgh.T @ s["h"]
        grads["b_hh"] += dgh.sum(0)
        dh = dh * s["z"] + dgh @ p["W_hh"]                # to h_{t-1}: the kept part and the gates
    return grads, dh


# -- torch twins -----------------------------------------------------------------------
TORCH_NAMES = {"W_xh": "weight_ih_l0", "W_hh": "weight_hh_l0", "b_xh": "bias_ih_l0", "b_hh": "bias_hh_l0"}


def to_torch(kind: str, p: dict):
    """nn.RNN / nn.GRU / nn.LSTM (float64, batch_first) holding a copy of the numpy weights."""
    import torch
    from torch import nn

    I, H = p["W_xh"].shape[1], p["W_hh"].shape[1]
    cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
    module = cls(I, H, batch_first=True).double()
    with torch.no_grad():
        for name, tname in TORCH_NAMES.items():
            getattr(module, tname).copy_(torch.from_numpy(np.asarray(p[name], float)))
    return module


def from_torch(module) -> dict[str, np.ndarray]:
    """The numpy weights of a one-layer nn.RNN / nn.GRU / nn.LSTM (float64 copies)."""
    return {name: getattr(module, tname).detach().double().numpy().copy()
            for name, tname in TORCH_NAMES.items()}


def kind_of(module) -> str:
    """'rnn', 'gru' or 'lstm' for a torch recurrent module."""
    return {"RNN": "rnn", "GRU": "gru", "LSTM": "lstm"}[type(module).__name__]


# -- check your understanding (notebook 05) ----------------------------------------------
def understanding() -> dict:
    """Notebook 05's closing questions, with answers computed from the cells' own formulas."""
    from . import memory, quiz

    h = 1.0
    for _ in range(10):
        h = 0.9 * h + (1 - 0.9) * 0.0                     # GRU: h_t = z h_(t-1) + (1 - z) n with z = 0.9, n = 0
    c = 0.7
    for _ in range(20):
        c = 1.0 * c + 0.0 * np.tanh(5.0)                  # LSTM: c_t = f c_(t-1) + i c~ with f = 1, i = 0
    field = memory.make_cnn(2, layers=3, kernel=3).receptive_field
    return {
        "GRU, z = 0.9 and n = 0 for 10 steps: fraction of h_0 left": quiz.Number(round(h, 4), 0.005, [
            "each step keeps z of the old state and takes 1 - z of the candidate, here 0.",
            "h_t = 0.9 h_(t-1), ten times over: a power of 0.9."]),
        "LSTM, f = 1 and i = 0 for 20 steps, c_0 = 0.7: c_20": quiz.Number(float(c), 1e-6, [
            "c_t = f_t c_(t-1) + i_t c~_t: which term is left when i = 0?",
            "with f = 1 the cell is copied unchanged at every step."]),
        "receptive field of 3 causal convolutions of width 3": quiz.Number(float(field), 0.1, [
            "one convolution of width 3 sees the current step and the 2 before it.",
            "each further layer of width 3 reaches 2 steps further back: 1 + 3 * 2."]),
    }


# -- exercises -------------------------------------------------------------------------
def _lstm_reference(p, x, h, c):
    h_new, c_new, _ = lstm_step(p, x, h, c)
    return h_new, c_new


def _lstm_variant(order: str = "ifgo", out_tanh: bool = True, b_hh: bool = True):
    """A wrong LSTM step for the check's diagnoses: other gate order, no tanh on c, or no b_hh."""
    def step(p, x, h, c):
        H = h.shape[1]
        a = x @ p["W_xh"].T + p["b_xh"] + h @ p["W_hh"].T + (p["b_hh"] if b_hh else 0)
        blk = {k: a[:, j * H:(j + 1) * H] for j, k in enumerate(order)}
        c_new = sigmoid(blk["f"]) * c + sigmoid(blk["i"]) * np.tanh(blk["g"])
        return sigmoid(blk["o"]) * (np.tanh(c_new) if out_tanh else c_new), c_new
    return step


def check_lstm_step(student) -> Verdict:
    """Exercise (05): one LSTM step, (h, c) -> (h_new, c_new), in PyTorch's gate order."""
    cases = []
    for seed, (B, I, H) in enumerate([(1, 3, 2), (4, 5, 3), (2, 2, 6), (3, 4, 4)]):
        rng = np.random.default_rng(10 + seed)
        p = init_params("lstm", I, H, seed)
        p = {k: 2 * v for k, v in p.items()}              # larger weights: every gate matters
        cases.append((p, rng.normal(size=(B, I)), rng.uniform(-1, 1, (B, H)), rng.normal(size=(B, H))))
    wrong = [Mistake(_lstm_variant("figo"), "the input and forget gates are swapped: the blocks are i, f, g, o"),
             Mistake(_lstm_variant("ifog"), "the candidate g and the output gate o are swapped: the blocks are "
                                            "i, f, g, o"),
             Mistake(_lstm_variant(out_tanh=False), "h_new = o * c_new misses the tanh: h_new = o * tanh(c_new)"),
             Mistake(_lstm_variant(b_hh=False), "it leaves out b_hh (there are two biases, b_xh and b_hh)")]
    return compare(student, _lstm_reference, cases, name="my_lstm_step", mistakes=wrong,
                   outputs=("h_new", "c_new"), hints=(
        "one product a = x @ W_xh.T + b_xh + h @ W_hh.T + b_hh of shape (B, 4H), cut into four blocks of "
        "H columns in PyTorch's order i, f, g, o. Return (h_new, c_new).",
        "i, f, o = sigmoid of blocks 0, 1, 3; g = tanh of block 2; c_new = f * c + i * g; "
        "h_new = o * tanh(c_new).",
        'H = h.shape[1]; a = x @ p["W_xh"].T + p["b_xh"] + h @ p["W_hh"].T + p["b_hh"]; '
        "i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2*H]), np.tanh(a[:, 2*H:3*H]), sigmoid(a[:, 3*H:]); "
        "c_new = f * c + i * g; return o * np.tanh(c_new), c_new"))
