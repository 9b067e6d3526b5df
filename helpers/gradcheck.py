"""Finite-difference gradient checks for hand-written backward passes."""
from __future__ import annotations

import numpy as np


def numerical_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar f() w.r.t. array x (changed in place, restored)."""
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a-b| / max(|a|+|b|, tiny): 1e-7 or less means the two agree."""
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-12))


def check_gradients(loss_fn, params: dict, grads: dict, eps: float = 1e-6) -> dict[str, float]:
    """Relative error between analytic grads and finite differences, per parameter.

    loss_fn() must recompute the loss from the *current* contents of params.
    """
    return {name: relative_error(grads[name], numerical_grad(loss_fn, params[name], eps))
            for name in params}
