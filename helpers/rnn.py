"""The vanilla RNN of notebooks 02 and 03, from scratch in numpy, and its torch twin.

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)     # (B, H)   the same θ at every step
    o_t = W_hy h_t + b_y                          # (B, V)   output scores
    y_t = softmax(o_t)                            # (B, V)   next-word distribution

x_t is the one-hot current word; y_t predicts the next one. Backpropagation through time
(``backward``) walks the unrolled graph from the last step to the first.
"""
from __future__ import annotations

import html

import numpy as np

from .checks import Mistake, Verdict, compare

NAMES = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")


def softmax(o: np.ndarray) -> np.ndarray:
    """exp(o) / sum(exp(o)) over the last axis, shifted by the max for safety."""
    z = np.exp(o - o.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def init_params(V: int, H: int, seed: int = 0, radius: float = 0.9) -> dict[str, np.ndarray]:
    """W_xh (H, V), W_hh (H, H) with spectral radius `radius`, b_h (H,), W_hy (V, H), b_y (V,)."""
    rng = np.random.default_rng(seed)
    W_hh = rng.normal(0, 1 / np.sqrt(H), (H, H))
    W_hh *= radius / np.max(np.abs(np.linalg.eigvals(W_hh)))
    return {"W_xh": rng.normal(0, 0.5, (H, V)), "W_hh": W_hh, "b_h": np.zeros(H),
            "W_hy": rng.normal(0, 1 / np.sqrt(H), (V, H)), "b_y": np.zeros(V)}


def one_hot(ids: np.ndarray, V: int) -> np.ndarray:
    """One-hot rows for integer ids: (...,) -> (..., V)."""
    return np.eye(V)[np.asarray(ids)]


def batch(sequences, V: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs X (B, T, V) one-hot, next-word targets (B, T) and a 0/1 mask (B, T) from id sequences."""
    from .numbers import pad_batch

    ids, mask = pad_batch(sequences)                  # (B, T+1) with <bos> ... <eos>, padded
    return one_hot(ids[:, :-1], V), ids[:, 1:], mask[:, 1:]


def rnn_step(params: dict, h_prev: np.ndarray, x_t: np.ndarray) -> np.ndarray:
    """One step of the recurrence: h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h).  # (B, H)"""
    return np.tanh(x_t @ params["W_xh"].T + h_prev @ params["W_hh"].T + params["b_h"])


def check_shapes(params: dict, X: np.ndarray, h0=None) -> None:
    """Raise ValueError naming the expected and actual shape if X (B, T, V) or h0 (B, H) is off."""
    H, V = params["W_xh"].shape
    if X.ndim != 3 or X.shape[2] != V:
        raise ValueError(f"X must have shape (B, T, {V}), got {X.shape}")
    if h0 is not None and h0.shape != (X.shape[0], H):
        raise ValueError(f"h0 must have shape ({X.shape[0]}, {H}), got {h0.shape}")


def forward(params: dict, X: np.ndarray, h0: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Run the RNN over X (B, T, V) from h0 (B, H): states h, scores o and y for every step."""
    check_shapes(params, X, h0)
    B, T, _ = X.shape
    h0 = np.zeros((B, params["W_hh"].shape[0])) if h0 is None else h0
    h, hs = h0, []
    for t in range(T):                                # the same params at every step
        h = rnn_step(params, h, X[:, t])              # (B, H)
        hs.append(h)
    hs = np.stack(hs, axis=1)                         # (B, T, H)
    o = hs @ params["W_hy"].T + params["b_y"]         # (B, T, V)
    return {"X": X, "h0": h0, "h": hs, "o": o, "y": softmax(o)}


def loss(cache: dict, targets: np.ndarray, mask: np.ndarray) -> float:
    """Mean of -log y_t[target] over the real (mask = 1) steps."""
    if targets.shape != mask.shape or targets.shape != cache["y"].shape[:2]:
        raise ValueError(f"targets and mask must have shape {cache['y'].shape[:2]} (B, T), "
                         f"got {targets.shape} and {mask.shape}")
    B, T = targets.shape
    p = cache["y"][np.arange(B)[:, None], np.arange(T), targets]   # (B, T)
    return float(-(mask * np.log(p)).sum() / mask.sum())


def backward(params: dict, cache: dict, targets: np.ndarray, mask: np.ndarray,
             truncate: int | None = None) -> dict[str, np.ndarray]:
    """BPTT: gradients of `loss` w.r.t. every parameter and h0, from step T back to step 1."""
    X, h0, hs, y = cache["X"], cache["h0"], cache["h"], cache["y"]
    B, T, _ = X.shape
    do = y.copy()                                     # dL/do_t = y_t - onehot(target_t)
    do[np.arange(B)[:, None], np.arange(T), targets] -= 1
    do *= (mask / mask.sum())[..., None]              # (B, T, V)
    g = {name: np.zeros_like(params[name]) for name in NAMES}
    g["W_hy"] = do.reshape(B * T, -1).T @ hs.reshape(B * T, -1)   # sum over steps of do_t h_t^T
    g["b_y"] = do.sum(axis=(0, 1))
    dh_next = np.zeros_like(h0)                       # dL/dh_t arriving from step t+1
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        dh = do[:, t] @ params["W_hy"] + dh_next      # (B, H) from o_t and from h_{t+1}
        da = dh * (1 - hs[:, t] ** 2)                 # through tanh: dL/da_t, a_t the pre-activation
        g["W_xh"] += da.T @ X[:, t]
        g["W_hh"] += da.T @ h_prev
        g["b_h"] += da.sum(axis=0)
        dh_next = da @ params["W_hh"]                 # (B, H) on to step t-1
        if truncate and t % truncate == 0 and t > 0:  # truncated BPTT: stop at the chunk's start
            dh_next = np.zeros_like(dh_next)
    g["h0"] = dh_next
    return g


def loss_and_grads(params: dict, X, targets, mask, h0=None, truncate: int | None = None):
    """Forward, loss and BPTT in one call: (loss, grads without h0)."""
    cache = forward(params, X, h0)
    grads = backward(params, cache, targets, mask, truncate)
    grads.pop("h0")
    return loss(cache, targets, mask), grads


def train(X, targets, mask, H: int = 32, steps: int = 400, truncate: int | None = None, lr: float = 0.02,
          batch_size: int = 128, seed: int = 0, live: bool = True, desc: str = "training") -> dict:
    """Train the numpy RNN with our BPTT and Adam on random batches; returns the params."""
    return train_with_history(X, targets, mask, H, steps, truncate, lr, batch_size, seed, live, desc)[0]


def train_with_history(X, targets, mask, H: int = 32, steps: int = 400, truncate: int | None = None,
                       lr: float = 0.02, batch_size: int = 128, seed: int = 0, live: bool = True,
                       desc: str = "training") -> tuple[dict, dict]:
    """As train, returning (params, the loss history)."""
    from .training import fit_numpy

    params = init_params(X.shape[2], H, seed=seed)
    rng = np.random.default_rng(seed)

    def batch_loss_and_grads(p):
        idx = rng.integers(len(X), size=batch_size)
        return loss_and_grads(p, X[idx], targets[idx], mask[idx], truncate=truncate)

    history = fit_numpy(batch_loss_and_grads, params, steps, lr=lr, every=50, live=live, desc=desc)
    return params, history


def perplexity(params: dict, X, targets, mask) -> float:
    """exp(mean -log y_t[target]) over the real steps: the 'effective number of choices'."""
    return float(np.exp(loss(forward(params, X), targets, mask)))


def grad_norm(grads: dict) -> float:
    """The norm of all gradients together, as one long vector."""
    return float(np.sqrt(sum(float((g**2).sum()) for g in grads.values())))


def clip_by_norm(grads: dict, max_norm: float) -> dict:
    """Gradient clipping: if the total norm exceeds max_norm, scale all gradients down to it."""
    norm = grad_norm(grads)
    scale = min(1.0, max_norm / (norm + 1e-12))
    return {name: g * scale for name, g in grads.items()}


def sgd(params: dict, loss_and_grads, steps: int, lr: float, clip: float | None = None) -> dict:
    """Plain gradient descent (optionally clipped), recording loss and gradient norm per step."""
    history = {"loss": [], "grad_norm": []}
    for _ in range(steps):
        value, grads = loss_and_grads(params)
        history["loss"].append(value)
        history["grad_norm"].append(grad_norm(grads))
        if clip is not None:
            grads = clip_by_norm(grads, clip)
        for name, g in grads.items():
            params[name] -= lr * g
    return history


def predict_next(params: dict, ids: np.ndarray) -> dict[str, np.ndarray]:
    """States h (T, H) and next-word distributions y (T, V) for one id sequence."""
    V = params["W_xh"].shape[1]
    cache = forward(params, one_hot(np.asarray(ids)[None], V))
    return {"h": cache["h"][0], "y": cache["y"][0]}


# -- baselines and the cases where context matters ---------------------------------
def bigram_probs(counts: np.ndarray, alpha: float = 1e-3) -> np.ndarray:
    """p(next | current) from bigram counts (V, V), plus alpha per cell so no pair gets p = 0."""
    smoothed = counts + alpha
    return smoothed / smoothed.sum(axis=1, keepdims=True)


def unigram_perplexity(train_sequences, held_out_sequences, V: int) -> float:
    """Perplexity of predicting every next word by its overall frequency (no context at all)."""
    counts = np.bincount(np.concatenate([s[1:] for s in train_sequences]), minlength=V)
    targets = np.concatenate([s[1:] for s in held_out_sequences])
    return float(np.exp(-np.log(counts[targets] / counts.sum()).mean()))


def next_word_cases(params: dict, onestep_probs: np.ndarray, sequences, vocab) -> list[dict]:
    """Every predicted token: its context, the actual next word, both models' top guess and p(actual)."""
    X, _, _ = batch(sequences, len(vocab))
    y = forward(params, X)["y"]                       # (B, T, V)
    rows = []
    for b, seq in enumerate(sequences):
        for t in range(len(seq) - 1):
            cur, nxt = seq[t], seq[t + 1]
            rows.append({"prev": vocab.words[seq[t - 1]] if t > 0 else "(start)", "word": vocab.words[cur],
                         "next": vocab.words[nxt], "one-step": vocab.words[int(onestep_probs[cur].argmax())],
                         "rnn": vocab.words[int(y[b, t].argmax())],
                         "p one-step": float(onestep_probs[cur, nxt]), "p rnn": float(y[b, t, nxt])})
    return rows


WORD_CLASSES = {"one…nine": "one two three four five six seven eight nine",
                "ten…nineteen": "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen",
                "twenty…ninety": "twenty thirty forty fifty sixty seventy eighty ninety"}
_CLASS_OF = {w: name for name, words in WORD_CLASSES.items() for w in words.split()}


def fixed_by_context(rows: list[dict], top: int = 6) -> list[dict]:
    """Tokens the one-step model gets wrong and the RNN right, grouped by (word before, word, next).

    Words are grouped into classes (one…nine, ten…nineteen, twenty…ninety); a group whose
    one-step guess is in the right class is a coin flip between equally likely words, and is
    left out. Sorted by the bits the RNN gains in total.
    """
    from collections import Counter, defaultdict

    cls = lambda w: _CLASS_OF.get(w, w)  # noqa: E731
    groups = defaultdict(list)
    for r in rows:
        if r["one-step"] != r["next"] and r["rnn"] == r["next"]:
            groups[(cls(r["prev"]), cls(r["word"]), cls(r["next"]))].append(r)
    out = []
    for (prev, word, nxt), rs in groups.items():
        guess = Counter(cls(r["one-step"]) for r in rs).most_common(1)[0][0]
        if guess == nxt:                              # a coin flip inside one class: skip
            continue
        gain = sum(np.log2(r["p rnn"] / r["p one-step"]) for r in rs)
        out.append({"word before": prev, "current word": word, "actual next": nxt, "one-step guesses": guess,
                    "p(actual): one-step": f"{np.mean([r['p one-step'] for r in rs]):.2f}",
                    "p(actual): RNN": f"{np.mean([r['p rnn'] for r in rs]):.2f}",
                    "held-out tokens": len(rs), "_bits": gain})
    out.sort(key=lambda r: -r["_bits"])
    return [{k: v for k, v in r.items() if k != "_bits"} for r in out[:top]]


def markdown_table(rows: list[dict]) -> str:
    """A list of same-keyed dicts as a Markdown table."""
    if not rows:
        return "(no rows)"
    cell = lambda v: f"{v:.2f}" if isinstance(v, float) else html.escape(str(v)).replace("|", "&#124;")  # noqa: E731
    keys = list(rows[0])
    lines = ["| " + " | ".join(cell(k) for k in keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def echo_first_word(sequences) -> list[np.ndarray]:
    """Each phrase followed by its first word again, <bos> w1 ... wn <eos> w1: a long-range target."""
    return [np.append(s, s[1]) for s in sequences]


def last_step_accuracy(params: dict, X, targets, mask) -> float:
    """How often the top guess at each sequence's last real step is the target."""
    last = mask.sum(axis=1).astype(int) - 1           # (B,)
    b = np.arange(len(X))
    y = forward(params, X)["y"]                       # (B, T, V)
    return float((y[b, last].argmax(axis=-1) == targets[b, last]).mean())


# -- the torch twin --------------------------------------------------------------
def make_torch(V: int, H: int, seed: int = 0):
    """The same RNN in torch: nn.RNN (tanh) for the recurrence, nn.Linear for o_t (float64)."""
    import torch
    from torch import nn

    class TorchRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(V, H, nonlinearity="tanh", batch_first=True, dtype=torch.float64)
            self.out = nn.Linear(H, V, dtype=torch.float64)

        def forward(self, X, h0=None):
            """X (B, T, V) -> states (B, T, H) and scores o (B, T, V)."""
            h, _ = self.rnn(X, None if h0 is None else h0[None])
            return h, self.out(h)

    from helpers.training import seeded_torch     # seeds torch for these weights, then restores it

    with seeded_torch(seed):                        # its own initial weights; the global generator is untouched
        return TorchRNN()


def copy_to_torch(params: dict, model) -> None:
    """numpy -> torch: nn.RNN has two biases (b_ih + b_hh); put b_h in one, zero the other."""
    import torch

    with torch.no_grad():
        model.rnn.weight_ih_l0.copy_(torch.from_numpy(params["W_xh"]))
        model.rnn.weight_hh_l0.copy_(torch.from_numpy(params["W_hh"]))
        model.rnn.bias_ih_l0.copy_(torch.from_numpy(params["b_h"]))
        model.rnn.bias_hh_l0.zero_()
        model.out.weight.copy_(torch.from_numpy(params["W_hy"]))
        model.out.bias.copy_(torch.from_numpy(params["b_y"]))


def params_from_torch(model) -> dict[str, np.ndarray]:
    """torch -> numpy (float64), with b_h = b_ih + b_hh."""
    r = model.rnn
    get = lambda p: p.detach().double().numpy().copy()  # noqa: E731
    return {"W_xh": get(r.weight_ih_l0), "W_hh": get(r.weight_hh_l0),
            "b_h": get(r.bias_ih_l0) + get(r.bias_hh_l0),
            "W_hy": get(model.out.weight), "b_y": get(model.out.bias)}


def torch_loss(model, X, targets, mask, h0=None, truncate: int | None = None):
    """The masked mean cross-entropy in torch; truncate=k detaches the state every k steps."""
    import torch

    X = torch.as_tensor(X, dtype=torch.float64)
    targets, mask = torch.as_tensor(targets), torch.as_tensor(mask, dtype=torch.float64)
    T = X.shape[1]
    k = truncate or T
    h, outs = (None if h0 is None else h0), []
    for start in range(0, T, k):                      # chunks of k steps; the state carries over
        hs, o = model(X[:, start:start + k], h)
        outs.append(o)
        h = hs[:, -1].detach()                        # no gradient across a chunk boundary
    o = torch.cat(outs, dim=1)                        # (B, T, V)
    nll = torch.nn.functional.cross_entropy(o.transpose(1, 2), targets, reduction="none")
    return (nll * mask).sum() / mask.sum()


def train_torch(model, X, targets, mask, steps: int = 300, lr: float = 0.05, batch_size: int = 128,
                seed: int = 0, validate=None, live: bool = True, desc: str = "training") -> dict:
    """Adam on random batches of the phrases (drawn by a generator of its own); returns the loss history."""
    import torch

    from .training import fit_torch

    X, targets, mask = (torch.as_tensor(a) for a in (X, targets, mask))   # (B, T, V), (B, T), (B, T)
    batches = torch.Generator().manual_seed(seed)

    def batch_loss(model, step):
        idx = torch.randint(len(X), (batch_size,), generator=batches)
        return torch_loss(model, X[idx], targets[idx], mask[idx])

    return fit_torch(model, batch_loss, steps, lr=lr, every=50, live=live, desc=desc, validate=validate)


# -- exercises ---------------------------------------------------------------------
def check_rnn_step(student) -> Verdict:
    """Exercise (02): one step of the recurrence, for a batch."""
    rng = np.random.default_rng(3)
    cases = []
    for B, V, H in ((1, 4, 3), (5, 6, 2), (3, 32, 8), (2, 5, 5)):
        params = init_params(V, H, seed=int(rng.integers(100)))
        params["b_h"] = rng.normal(size=H)
        cases.append((params, np.tanh(rng.normal(size=(B, H))), one_hot(rng.integers(V, size=B), V)))
    wrong = [Mistake(lambda p, h, x: np.tanh(x @ p["W_xh"].T + h @ p["W_hh"] + p["b_h"]),
                     "h_prev @ W_hh uses W_hh where W_hh.T is needed (rows are examples: W_hh h for every row "
                     "is h_prev @ W_hh.T)"),
             Mistake(lambda p, h, x: np.tanh(x @ p["W_xh"].T + p["b_h"]), "it ignores h_prev: the state must feed in"),
             Mistake(lambda p, h, x: np.tanh(x @ p["W_xh"].T + h @ p["W_hh"].T), "it leaves out the bias b_h"),
             Mistake(lambda p, h, x: x @ p["W_xh"].T + h @ p["W_hh"].T + p["b_h"], "it leaves out the tanh")]
    return compare(student, rnn_step, cases, name="rnn_step", mistakes=wrong, hints=(
        "three terms go into the tanh: the input through W_xh, the previous state through W_hh, and b_h. "
        "Rows are examples, so a matrix applied to every row multiplies from the right, transposed.",
        "h_t = tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h), shape (B, H).",
        'return np.tanh(x_t @ params["W_xh"].T + h_prev @ params["W_hh"].T + params["b_h"])'))


def step_back(W_hh: np.ndarray, h_t: np.ndarray, dh_t: np.ndarray) -> np.ndarray:
    """dL/dh_{t-1} from dL/dh_t, through tanh and then W_hh.  # (B, H)"""
    return (dh_t * (1 - h_t**2)) @ W_hh


def check_step_back(student) -> Verdict:
    """Exercise (03): carry a gradient one step back along the unrolled graph."""
    rng = np.random.default_rng(4)
    cases = [(rng.normal(size=(H, H)), np.tanh(rng.normal(size=(B, H))), rng.normal(size=(B, H)))
             for B, H in ((1, 3), (4, 5), (2, 8), (3, 2))]
    wrong = [Mistake(lambda W, h, dh: (dh * (1 - h**2)) @ W.T,
                     "it uses W_hh.T where W_hh is needed: the forward pass is a = h_prev @ W_hh.T + ..., "
                     "so going back, dL/dh_prev = da @ W_hh"),
             Mistake(lambda W, h, dh: dh @ W, "dh_t @ W_hh skips the tanh: multiply by 1 - h_t**2 first"),
             Mistake(lambda W, h, dh: (dh @ W) * (1 - h**2), "it goes through W_hh before the tanh; going back, the "
                     "tanh (the last thing the forward pass did) comes first"),
             Mistake(lambda W, h, dh: dh * (1 - h**2), "it stops after the tanh: carry da on through W_hh")]
    return compare(student, step_back, cases, name="step_back", mistakes=wrong, hints=(
        "two links back, in the reverse order of the forward pass: first through the tanh (element-wise), "
        "then through the product with W_hh.",
        "da = dh_t * (1 - h_t**2); the forward pass is a = h_prev @ W_hh.T + ..., so dL/dh_prev = da @ W_hh.",
        "return (dh_t * (1 - h_t**2)) @ W_hh"))


# -- check your understanding (02 and 03) -----------------------------------------
def understanding(V: int = 32, H: int = 32) -> dict:
    """Notebook 02's closing questions, with answers computed from the model's own parameters."""
    from .quiz import Choice, Number

    size = sum(p.size for p in init_params(V, H).values())
    return {
        "parameter sets in the unrolled graph of a 5-word phrase": Number(1, 0, [
            "Unrolling copies the cell once per word. Does it copy the weights too?",
            "Every arrow between two h nodes is the same W_hh: theta is shared by every step."]),
        "numbers in theta for V = 32, H = 32": Number(size, 0, [
            "theta = (W_xh, W_hh, b_h, W_hy, b_y); count the entries of each from its shape.",
            f"W_xh is (H, V), W_hh (H, H), b_h (H,), W_hy (V, H), b_y (V,), with V = {V} and H = {H}."]),
        "what the RNN reads at step t": Choice("x_t and h_(t-1)", ["x_t only", "x_t and h_(t-1)",
                                                                   "x_1 ... x_t directly"], [
            "Look at the lit column of the unrolled graph: which arrows go into h_t?",
            "h_t = tanh(W_xh x_t + W_hh h_(t-1) + b_h): the past arrives only through the state."]),
    }


def understanding_bptt(steps_back: int = 3, w: float = 0.5, norm: float = 5.0, c: float = 1.0) -> dict:
    """Notebook 03's closing questions, with answers computed by the helpers above."""
    from .quiz import Choice, Number

    identity_1unit = np.array([[w]])                  # a 1-unit RNN, f = identity: each J_t is w
    g = np.ones((1, 1))
    for _ in range(steps_back):
        g = g @ identity_1unit                        # one step back through W_hh
    clipped = grad_norm(clip_by_norm({"g": np.array([norm])}, c))
    return {
        f"1 unit, f = identity, W_hh = {w}: gradient {steps_back} steps back, relative": Number(float(g[0, 0]), 1e-3, [
            "Each step back multiplies the gradient by the Jacobian J_t = f'(a_t) W_hh.",
            f"With f the identity, f' = 1: {steps_back} steps multiply by W_hh {steps_back} times."]),
        f"norm after clipping a gradient of norm {norm} at c = {c}": Number(clipped, 1e-3, [
            "Clipping keeps the direction and caps the length.",
            "g * min(1, c / |g|)."]),
        "does clipping help a vanishing gradient?": Choice("no", ["yes", "no"], [
            "What does min(1, c / |g|) do when |g| is tiny?",
            "It is 1: a small gradient is left as it is, never scaled up."]),
    }
