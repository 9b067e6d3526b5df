"""The seed's bidirectional RNN: a forward RNN (state h) and a backward RNN (state g), side by side.

    h_t = f(h_{t-1}, x_t; θ_h)     reads x_1 .. x_t   (left to right)
    g_t = f(g_{t+1}, x_t; θ_g)     reads x_t .. x_T   (right to left)
    output at t: [h_t ; g_t]       # (B, T, 2H)

From scratch in numpy with notebook 05's cells (helpers.gates: a tanh RNN cell or a GRU
cell, in PyTorch's layout so weights copy across; the backward pass by hand here, for
both cells and with a mask), and by hand in torch from two one-way RNNs. Tests check both
against ``nn.RNN``/``nn.GRU(bidirectional=True)``. A ``mask`` (B, T) lets padded steps
carry the state through unchanged (notebook 10).
"""
from __future__ import annotations

import numpy as np

from . import gates
from .checks import Mistake, Verdict, compare
from .gates import TORCH_NAMES

GATES = {"rnn": 1, "gru": 3}   # rows of W_xh per hidden unit: tanh RNN 1, GRU 3 (r, z, n)


def init_direction(I: int, H: int, cell: str = "gru", seed: int = 0) -> dict[str, np.ndarray]:
    """W_xh (G*H, I), W_hh (G*H, H), b_xh (G*H,), b_hh (G*H,), uniform in ±1/sqrt(H) as torch does."""
    return gates.init_params(cell, I, H, seed)


def _check(p: dict, X: np.ndarray, cell: str) -> None:
    if cell not in GATES:
        raise ValueError(f"cell must be one of {sorted(GATES)}, got {cell!r}")
    G, (GH, I) = GATES[cell], p["W_xh"].shape
    if X.ndim != 3 or X.shape[2] != I:
        raise ValueError(f"X must have shape (B, T, {I}), got {X.shape}")
    if p["W_hh"].shape != (GH, GH // G):
        raise ValueError(f"W_hh must have shape ({GH}, {GH // G}) for a {cell}, got {p['W_hh'].shape}")


def step(p: dict, x: np.ndarray, h: np.ndarray, cell: str = "gru"):
    """One step of notebook 05's cell: the new state (B, H) from x (B, I) and h (B, H), and a cache."""
    if cell == "rnn":
        h_new, _ = gates.rnn_step(p, x, h)
        return h_new, (x, h, h_new)
    H = h.shape[1]
    h_new, g = gates.gru_step(p, x, h)
    ghn = h @ p["W_hh"][2 * H:].T + p["b_hh"][2 * H:]   # the state's part of the candidate
    return h_new, (x, h, g["r"], g["z"], g["n"], ghn)


def step_backward(p: dict, cache: tuple, dh_new: np.ndarray, grads: dict, cell: str = "gru"):
    """Backward through one step: adds to grads, returns dL/dh (B, H) and dL/dx (B, I)."""
    if cell == "rnn":
        x, h, h_new = cache
        da = dh_new * (1 - h_new**2)                   # through tanh
        dgx = dgh = da
        dh_direct = 0.0
    else:
        x, h, r, z, n, ghn = cache
        dn = dh_new * (1 - z)
        dz = dh_new * (h - n)
        dan = dn * (1 - n**2)                          # through tanh of the candidate
        dar = dan * ghn * r * (1 - r)                  # through r * (W_hn h + b_hn) and sigmoid
        daz = dz * z * (1 - z)
        dgx = np.concatenate([dar, daz, dan], axis=1)
        dgh = np.concatenate([dar, daz, dan * r], axis=1)
        dh_direct = dh_new * z                         # the z * h path
    grads["W_xh"] += dgx.T @ x
    grads["b_xh"] += dgx.sum(0)
    grads["W_hh"] += dgh.T @ h
    grads["b_hh"] += dgh.sum(0)
    return dgh @ p["W_hh"] + dh_direct, dgx @ p["W_xh"]


def run(p: dict, X: np.ndarray, cell: str = "gru", mask: np.ndarray | None = None):
    """States h_1..h_T (B, T, H) of one direction over X (B, T, I), from h_0 = 0, and a cache.

    Where mask[b, t] is False (padding) the state is carried over unchanged.
    """
    _check(p, X, cell)
    B, T, _ = X.shape
    h = np.zeros((B, p["W_hh"].shape[1]))
    hs, caches = [], []
    for t in range(T):
        h_new, cache = step(p, X[:, t], h, cell)
        if mask is not None:
            h_new = np.where(mask[:, t, None], h_new, h)
        hs.append(h_new)
        caches.append(cache)
        h = h_new
    return np.stack(hs, axis=1), (caches, mask)


def run_backward(p: dict, cache, dhs: np.ndarray, cell: str = "gru"):
    """Backprop through time: grads of p and dL/dX (B, T, I), given dL/dh_t for every t (B, T, H)."""
    caches, mask = cache
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    dX = np.zeros((dhs.shape[0], dhs.shape[1], p["W_xh"].shape[1]))
    dh = np.zeros_like(dhs[:, 0])
    for t in reversed(range(dhs.shape[1])):
        dh = dh + dhs[:, t]
        if mask is None:
            dh, dX[:, t] = step_backward(p, caches[t], dh, grads, cell)
            continue
        m = mask[:, t, None]                   # on padded rows the state passed through unchanged
        dh_step, dX[:, t] = step_backward(p, caches[t], dh * m, grads, cell)
        dh = dh_step + dh * ~m
    return grads, dX


def reverse_within_length(X: np.ndarray, lengths=None) -> np.ndarray:
    """Each row's first lengths[b] steps in reverse order, padding left where it is.  # (B, T, ...)"""
    if lengths is None:
        return X[:, ::-1].copy()
    out = X.copy()
    for b, L in enumerate(lengths):
        out[b, :L] = X[b, :L][::-1]
    return out


def bi_forward(pf: dict, pb: dict, X: np.ndarray, cell: str = "gru"):
    """Forward states h (B, T, H) read left to right, backward states g (B, T, H) read right to left."""
    h, _ = run(pf, X, cell)                 # h_t has read x_1 .. x_t
    g_rev, _ = run(pb, X[:, ::-1], cell)    # the second RNN reads x_T .. x_1
    g = g_rev[:, ::-1]                      # put g back in time order: g_t has read x_t .. x_T
    return h, g


def bi_run(pf: dict, pb: dict, X: np.ndarray, cell: str = "gru", lengths=None):
    """h and g (B, T, H) each, and a cache for bi_backward; with lengths, g starts at each row's own end."""
    mask = None if lengths is None else np.arange(X.shape[1])[None, :] < np.asarray(lengths)[:, None]
    h, cache_f = run(pf, X, cell, mask)
    g_rev, cache_b = run(pb, reverse_within_length(X, lengths), cell, mask)
    return h, reverse_within_length(g_rev, lengths), (cache_f, cache_b, lengths)


def bi_backward(pf: dict, pb: dict, cache, dh: np.ndarray, dg: np.ndarray, cell: str = "gru"):
    """Grads of both directions (two dicts) and dL/dX, given dL/dh and dL/dg (B, T, H)."""
    cache_f, cache_b, lengths = cache
    grads_f, dX_f = run_backward(pf, cache_f, dh, cell)
    grads_b, dX_b = run_backward(pb, cache_b, reverse_within_length(dg, lengths), cell)
    return grads_f, grads_b, dX_f + reverse_within_length(dX_b, lengths)


# -- torch ---------------------------------------------------------------------------
def two_rnns_class():
    """The class TwoRNNs (built on first use, so importing this module does not import torch)."""
    import torch
    from torch import nn

    class TwoRNNs(nn.Module):
        """A bidirectional RNN by hand: one one-way RNN reads left to right, another right to left."""

        def __init__(self, I: int, H: int, cell: str = "gru"):
            super().__init__()
            kind = {"rnn": nn.RNN, "gru": nn.GRU}[cell]
            self.fwd = kind(I, H, batch_first=True)
            self.bwd = kind(I, H, batch_first=True)

        def forward(self, x):                         # x: (B, T, I)
            h, _ = self.fwd(x)                        # (B, T, H), h_t has read x_1 .. x_t
            g, _ = self.bwd(torch.flip(x, dims=[1]))  # reads x_T .. x_1
            g = torch.flip(g, dims=[1])               # g_t has read x_t .. x_T
            return torch.cat([h, g], dim=-1)          # (B, T, 2H), like nn.GRU(bidirectional=True)

    return TwoRNNs


def copy_two_to_bidirectional(two, bi) -> None:
    """Copy TwoRNNs' weights into a one-layer torch RNN/GRU with bidirectional=True (in place)."""
    import torch

    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(bi, f"{name}_l0").copy_(getattr(two.fwd, f"{name}_l0"))
            getattr(bi, f"{name}_l0_reverse").copy_(getattr(two.bwd, f"{name}_l0"))


def direction_to_numpy(rnn, reverse: bool = False) -> dict[str, np.ndarray]:
    """One direction of a one-layer torch RNN/GRU as numpy params (float64 copies)."""
    suffix = "_reverse" if reverse else ""
    return {k: getattr(rnn, v + suffix).detach().double().numpy().copy() for k, v in TORCH_NAMES.items()}


def direction_to_torch(p: dict, rnn, reverse: bool = False) -> None:
    """Copy numpy params of one direction into a one-layer torch RNN/GRU (in place)."""
    import torch

    suffix = "_reverse" if reverse else ""
    with torch.no_grad():
        for k, v in TORCH_NAMES.items():
            target = getattr(rnn, v + suffix)
            target.copy_(torch.as_tensor(p[k], dtype=target.dtype))


# -- exercise ------------------------------------------------------------------------
def cloze_features(h: np.ndarray, g: np.ndarray) -> np.ndarray:
    """For tokens <s> x_1..x_L </s>: [h_{k-1}; g_{k+1}] for each letter k, states that never read x_k.  # (B, L, 2H)"""
    return np.concatenate([h[:, :-2], g[:, 2:]], axis=-1)


def check_cloze_features(student) -> Verdict:
    """Exercise (09): the features that guess letter k from both sides without reading it."""
    rng = np.random.default_rng(8)
    cases = [(rng.normal(size=(B, T, H)), rng.normal(size=(B, T, H))) for B, T, H in ((1, 5, 2), (3, 9, 4), (2, 3, 3))]
    wrong = [Mistake(lambda h, g: np.concatenate([h[:, 1:-1], g[:, 1:-1]], -1),
                     "it uses h_k and g_k, the states at letter k itself: both have read x_k"),
             Mistake(lambda h, g: np.concatenate([g[:, 2:], h[:, :-2]], -1),
                     "g comes first; the features are [h_{k-1}; g_{k+1}], h first"),
             Mistake(lambda h, g: np.concatenate([h[:, :-2], g[:, :-2]], -1),
                     "g_{k-1} has read x_k (the backward state runs from the end): take g_{k+1}")]
    return compare(student, cloze_features, cases, name="cloze_features", mistakes=wrong, hints=(
        "<s> is at position 0, so letter k is at position k, and h_{k-1} is h[:, k - 1] (for letter 1, h[:, 0]); "
        "g_{k+1} is g[:, k + 1]. The result has one row per letter, L in all.",
        "all letters at once with slices: h[:, :-2] holds h_0 .. h_{L-1} and g[:, 2:] holds g_2 .. g_{L+1}; "
        "join them on the last axis with np.concatenate.",
        "return np.concatenate([h[:, :-2], g[:, 2:]], axis=-1)"))
