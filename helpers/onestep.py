"""The seed's one-step prediction DAG, from scratch in numpy and as a torch twin.

    h1 = tanh(W1 x + b1)      # (B, H)   the hidden layer, h^(1) in the notebooks (h_1 is the state at step 1)
    o  = tanh(W2 h1 + b2)     # (B, V)
    y  = softmax(o / tau)     # (B, V)

o is squashed into [-1, 1] by tanh, so softmax(o) alone can never be confident over
many words; a fixed temperature tau < 1 stretches the scores (notebook 01 shows why).
"""
from __future__ import annotations

import numpy as np

from .checks import Case, Mistake, Verdict, compare

TAU = 0.2


def softmax(o: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(o) / sum(exp(o)), shifted by the max for numerical safety."""
    z = np.exp(o - o.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def init_params(V: int, H: int, seed: int = 0, scale: float = 0.5) -> dict[str, np.ndarray]:
    """W1 (H, V), b1 (H,), W2 (V, H), b2 (V,): small random weights, zero biases."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0, scale, (H, V)), "b1": np.zeros(H),
            "W2": rng.normal(0, scale / np.sqrt(H), (V, H)), "b2": np.zeros(V)}


def check_input(params: dict, X: np.ndarray) -> None:
    """Raise a ValueError naming the expected and actual shape unless X is (B, V)."""
    V = params["W1"].shape[1]
    if X.ndim != 2 or X.shape[1] != V:
        raise ValueError(f"x must have shape (B, {V}), got {X.shape}")


def forward(params: dict, X: np.ndarray, tau: float = TAU) -> dict[str, np.ndarray]:
    """One step for a batch of inputs X (B, V): returns h1, o, y (and what backward needs)."""
    check_input(params, X)
    h1 = np.tanh(X @ params["W1"].T + params["b1"])   # (B, H)
    o = np.tanh(h1 @ params["W2"].T + params["b2"])   # (B, V)
    y = softmax(o / tau)                              # (B, V)
    return {"X": X, "h1": h1, "o": o, "y": y, "tau": tau}


def cross_entropy(y: np.ndarray, targets: np.ndarray, weights=None) -> float:
    """Weighted mean of -log y[target] (weights: how often each row occurs)."""
    w = np.ones(len(targets)) if weights is None else np.asarray(weights, float)
    p = y[np.arange(len(targets)), targets]
    return float(-(w * np.log(p)).sum() / w.sum())


def backward(params: dict, cache: dict, targets: np.ndarray, weights=None) -> dict[str, np.ndarray]:
    """Gradients of cross_entropy w.r.t. W1, b1, W2, b2, by the chain rule, step by step."""
    X, h1, o, y, tau = cache["X"], cache["h1"], cache["o"], cache["y"], cache["tau"]
    w = np.ones(len(targets)) if weights is None else np.asarray(weights, float)
    ds = y.copy()
    ds[np.arange(len(targets)), targets] -= 1          # d(-log softmax)/d scores
    ds *= (w / w.sum())[:, None]                       # (B, V)
    da2 = ds / tau * (1 - o**2)                        # through o/tau and tanh: dL/da2
    dh1 = da2 @ params["W2"]                           # (B, H)
    da1 = dh1 * (1 - h1**2)                            # through tanh: dL/da1
    return {"W1": da1.T @ X, "b1": da1.sum(0), "W2": da2.T @ h1, "b2": da2.sum(0)}


def loss_and_grads(params: dict, X, targets, weights=None, tau: float = TAU):
    """Forward, loss and backward in one call: (loss, grads)."""
    cache = forward(params, X, tau)
    return cross_entropy(cache["y"], targets, weights), backward(params, cache, targets, weights)


def pairs_from_counts(counts: np.ndarray):
    """Every (current word, next word) pair that occurs, with its count as a weight.

    A one-step model sees only the current word, so the whole corpus collapses to this
    table: training on it is exactly training on every token.
    """
    a, b = np.nonzero(counts)
    X = np.eye(counts.shape[0])[a]                     # (P, V) one-hot current words
    return X, b, counts[a, b]


def perplexity(probs: np.ndarray, counts: np.ndarray) -> float:
    """exp(mean -log p(next | current)) over the token pairs counted in counts (V, V)."""
    mask = counts > 0
    nll = -(counts[mask] * np.log(probs[mask])).sum() / counts.sum()
    return float(np.exp(nll))


def make_torch(V: int, H: int, tau: float = TAU):
    """The same DAG as a torch module with parameters W1, b1, W2, b2 (weights as numpy's)."""
    import torch
    from torch import nn

    class OneStep(nn.Module):
        def __init__(self):
            super().__init__()
            self.W1 = nn.Parameter(torch.zeros(H, V, dtype=torch.float64))
            self.b1 = nn.Parameter(torch.zeros(H, dtype=torch.float64))
            self.W2 = nn.Parameter(torch.zeros(V, H, dtype=torch.float64))
            self.b2 = nn.Parameter(torch.zeros(V, dtype=torch.float64))
            self.tau = tau

        def forward(self, X):
            h1 = torch.tanh(X @ self.W1.T + self.b1)
            o = torch.tanh(h1 @ self.W2.T + self.b2)
            return h1, o, torch.softmax(o / self.tau, dim=-1)

    return OneStep()


def copy_to_torch(params: dict, model) -> None:
    """Copy numpy weights into the torch twin (in place)."""
    import torch

    with torch.no_grad():
        for name, value in params.items():
            getattr(model, name).copy_(torch.from_numpy(value))


# -- exercises ---------------------------------------------------------------------
def check_softmax(student) -> Verdict:
    """Exercise (01): softmax over the last axis, safe for large scores."""
    rng = np.random.default_rng(1)
    cases = [(np.array([1.0, 2.0, 3.0]),), (rng.normal(size=(4, 5)),),
             Case((np.array([1000.0, 1001.0, 1002.0]),), "(This case has scores near 1000.)"),
             (np.array([[-5.0, 0.0, 5.0]]),), (rng.normal(size=(2, 3)),)]
    wrong = [Mistake(lambda o: np.exp(o - o.max()) / np.exp(o - o.max()).sum(),
                     "it divides by the sum of the whole array; sum over the last axis only, keepdims=True"),
             Mistake(lambda o: softmax(o, axis=0), "it normalises the columns; sum over the last axis")]
    return compare(student, softmax, cases, name="softmax", mistakes=wrong, overflow=True, hints=(
        "exponentiate every score, then divide each row by its own sum (over the last axis). "
        "Subtracting a constant from every score of a row does not change the result.",
        "softmax(o) = exp(o - m) / exp(o - m).sum(axis=-1, keepdims=True), with m = o.max(axis=-1, keepdims=True): "
        "the largest exponent is then exp(0) = 1, so np.exp never overflows.",
        "e = np.exp(o - o.max(axis=-1, keepdims=True)); return e / e.sum(axis=-1, keepdims=True)"))


def tanh_backward(h: np.ndarray, dh: np.ndarray) -> np.ndarray:
    """dL/da from h = tanh(a) and dL/dh: the step backward takes twice."""
    return dh * (1 - h**2)


def check_tanh_backward(student) -> Verdict:
    """Exercise (01): given h = tanh(a) and dL/dh, return dL/da."""
    rng = np.random.default_rng(2)
    cases = [(np.tanh(rng.normal(size=(3, 4))), rng.normal(size=(3, 4))) for _ in range(3)]
    cases.append((np.tanh(rng.normal(size=(2, 5))), rng.normal(size=(2, 5))))
    wrong = [Mistake(lambda h, dh: dh * (1 - h), "it multiplies by 1 - h; the slope of tanh is 1 - h**2"),
             Mistake(lambda h, dh: 1 - h**2, "it returns the slope 1 - h**2 alone; multiply it by dh"),
             Mistake(lambda h, dh: dh * (1 - np.tanh(h)**2), "h is already tanh(a): use 1 - h**2, not 1 - tanh(h)**2")]
    return compare(student, tanh_backward, cases, name="tanh_backward", mistakes=wrong, hints=(
        "chain rule: dL/da = dL/dh times dh/da, element by element; for h = tanh(a), dh/da = 1 - tanh(a)**2 = 1 - h**2.",
        "dL/da = dh * (1 - h**2): an element-wise product, not a matrix product.",
        "return dh * (1 - h**2)"))


def understanding(V: int = 32, tau: float = TAU) -> dict:
    """Notebook 01's closing questions, with answers computed here."""
    from .quiz import Choice, Number

    o = np.full(V, -1.0)
    o[0] = 1.0                                         # the most confident scores tanh allows
    return {
        "largest y at tau = 1": Number(float(softmax(o)[0]), 0.01, [
            "o lies in [-1, 1]: the most one word can get is o = 1 for it and -1 for the other 31.",
            "softmax gives it e^1 / (e^1 + 31 e^-1)."]),
        "largest y at tau = 0.2": Number(float(softmax(o / tau)[0]), 0.01, [
            "The same scores, divided by tau = 0.2 before the softmax: 5 and -5.",
            "e^5 / (e^5 + 31 e^-5)."]),
        "weight scale 0: does y depend on the word?": Choice("no", ["yes", "no"], [
            "With W1 = W2 = 0, what is left of h^(1) = tanh(W1 x + b1)?",
            "Only the biases remain, and they are the same for every word."]),
    }
