"""Notebooks 04 and 05: how long a state remembers, and what gates change.

- Markovization: the state s_t = f(s_{t-1}, x_t; θ) is all the past the model keeps.
- A 2-unit RNN's map h -> tanh(W h + u x + b): flow, fixed points, trajectories.
- Influence of x_1 on the state s_t, for vanilla, GRU and LSTM cells.
- A delayed-recall task (name the first letter after D steps of distractors).
- A causal 1-D CNN and an RNN on a local-pattern task and a long-range task.

torch is imported inside the functions that need it (importing this module is cheap).
"""
from __future__ import annotations

import numpy as np

from . import gates
from .checks import Case, Mistake, Verdict, compare

# -- Markovization ---------------------------------------------------------------------


def fold_state(step, s0, xs):
    """s_t = f(...f(f(s_0, x_1), x_2)..., x_t): apply the same step to each input in turn."""
    s = s0
    for x in xs:
        s = step(s, x)
    return s


def unrolled_formula(t: int, start: int = 0) -> str:
    """The state s_t written out as nested f's from s_start, e.g. f(f(s_0, x_1; θ), x_2; θ) for t = 2."""
    if not 0 <= start <= t:
        raise ValueError(f"need 0 <= start <= t, got start = {start}, t = {t}")
    text = f"s_{start}"
    for k in range(start + 1, t + 1):
        text = f"f({text}, x_{k}; θ)"
    return f"s_{t} = {text}"


def resume_check(kind: str, p: dict, X: np.ndarray, k: int) -> dict:
    """Run X (B, T, I) whole, and again from s_k on with the first k inputs thrown away.

    Returns both sets of states for steps k+1..T and the largest difference between them.
    """
    if not 0 < k < X.shape[1]:
        raise ValueError(f"k must be in 1..T-1 = 1..{X.shape[1] - 1}, got {k}")
    whole = gates.run(kind, p, X)
    s_k = gates.run(kind, p, X[:, :k])["state"]           # everything the prefix left behind
    resumed = gates.run(kind, p, X[:, k:], state=s_k)
    a, b = whole["h"][:, k:], resumed["h"]
    return {"whole": a, "resumed": b, "max_diff": float(np.max(np.abs(a - b)))}


def _wrong_folds():
    """Known wrong versions of fold_state, for the check's diagnoses."""
    def all_states(step, s0, xs):
        out, s = [], s0
        for x in xs:
            s = step(s, x)
            out.append(s)
        return out

    def swapped(step, s0, xs):
        s = s0
        for x in xs:
            s = step(x, s)
        return s

    def reversed_inputs(step, s0, xs):
        s = s0
        for x in list(xs)[::-1]:
            s = step(s, x)
        return s

    def drops_last(step, s0, xs):
        s = s0
        for x in list(xs)[:-1]:
            s = step(s, x)
        return s

    return [Mistake(all_states, "it returns every state; return only the last one, s_t"),
            Mistake(swapped, "it calls step(x, s); the step takes the state first: step(s, x)"),
            Mistake(reversed_inputs, "it reads the inputs backwards; x_1 comes first"),
            Mistake(drops_last, "it stops one input early: every x in xs gets a step")]


def check_fold_state(student) -> Verdict:
    """Exercise (04): fold a step function over the inputs, s_t = f(...f(f(s_0, x_1), x_2)..., x_t)."""
    p = gates.init_params("rnn", 2, 3, seed=4)
    X = np.random.default_rng(4).normal(size=(5, 2, 2))           # 5 steps of (B=2, I=2)
    cases = [Case((lambda s, x: 10 * s + x, 0, [1, 2, 3]), "(step(s, x) = 10 s + x, s_0 = 0, xs = [1, 2, 3]: "
                  "the answer is 123)"),
             Case((lambda s, x: s - x, 10, [1, 2, 3]), "(step(s, x) = s - x from s_0 = 10)"),
             Case((lambda s, x: s + x, 7, []), "(no inputs at all: the state stays s_0)"),
             Case((lambda s, x: np.tanh(rotation_scale(30, 1.2) @ s + U_IN * x), np.array([0.5, -0.5]),
                   [1.0, 0.0, -0.5, 0.2]), "(the 2-unit tanh step of section 2)"),
             Case((lambda s, x: gates.rnn_step(p, x, s)[0], np.zeros((2, 3)), list(X)),
                  "(a vanilla RNN step on a batch of 2)")]
    return compare(student, fold_state, cases, name="my_fold_state", mistakes=_wrong_folds(), hints=(
        "start from s = s0 and let the step make every new state: one call step(s, x) per input, in order; "
        "return the last state only.",
        "s = s0, then for each x in xs: s = step(s, x); after the loop, return s.",
        "def my_fold_state(step, s0, xs):\n    s = s0\n    for x in xs:\n        s = step(s, x)\n    return s"))


def fixed_point_1d(w: float, x: float = 0.0, start: float = 1.0, iters: int = 200) -> float:
    """The fixed point h* = tanh(w h* + x) reached by iterating the 1-unit map from start."""
    h = start
    for _ in range(iters):
        h = float(np.tanh(w * h + x))
    return h


def understanding() -> dict:
    """Notebook 04's closing questions, with answers computed here (never printed by the notebook)."""
    from . import quiz

    p = gates.init_params("rnn", 3, 4, seed=0)
    diff = resume_check("rnn", p, np.random.default_rng(0).normal(size=(2, 12, 3)), k=5)["max_diff"]
    n_stable = int(fixed_points(rotation_scale(0, 0.5), np.zeros(2))[1].sum())
    return {
        "fixed point for w = 1.5": quiz.Number(round(fixed_point_1d(1.5), 4), 0.01, [
            "a fixed point does not move: h = tanh(1.5 h). In the phase plane, angle 0 and scale 1.5 "
            "make each unit this 1-unit map; read a corner's coordinate.",
            "start at h = 1 and repeat h = tanh(1.5 * h) a few dozen times (np.tanh in a loop)."]),
        "largest difference, resumed from s_5": quiz.Number(diff, 1e-12, [
            "the resumed run starts from the very state the whole run had at step 5.",
            "the same f, the same θ and the same state give the same next state, bit for bit."]),
        "where the 8 paths end for scale 0.5": quiz.Choice(
            "one point" if n_stable == 1 else "their own corners", ["one point", "their own corners"], [
                "with scale below 1 every step shrinks the differences between states.",
                "count the stable fixed points (black dots) at angle 0, scale 0.5."]),
    }


# -- a 2-unit RNN: h_t = tanh(W h_{t-1} + u x_t + b) ----------------------------------
U_IN = np.array([1.0, 0.0])  # the input pushes unit 0 only


def rotation_scale(angle_deg: float, scale: float) -> np.ndarray:
    """W = scale * (rotation by angle): eigenvalues scale * e^(±i angle).  # (2, 2)"""
    a = np.deg2rad(angle_deg)
    return scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def phase_step(W: np.ndarray, b: np.ndarray, h: np.ndarray) -> np.ndarray:
    """One step of the 2-unit map for many points at once: h (N, 2) -> tanh(h W^T + b)."""
    if h.ndim != 2 or h.shape[1] != 2:
        raise ValueError(f"h must have shape (N, 2), got {h.shape}")
    return np.tanh(h @ W.T + b)


def trajectories(W: np.ndarray, b: np.ndarray, starts: np.ndarray, T: int) -> np.ndarray:
    """States h_0..h_T from each start under a constant input (folded into b).  # (N, T+1, 2)"""
    out = np.empty((len(starts), T + 1, 2))
    out[:, 0] = h = starts
    for t in range(1, T + 1):
        out[:, t] = h = phase_step(W, b, h)
    return out


def fixed_points(W: np.ndarray, b: np.ndarray, n_starts: int = 7, iters: int = 40):
    """Points with h = tanh(W h + b), by Newton's method from a grid; and which are stable.

    Stable means the map's Jacobian diag(1 - h^2) W there has every |eigenvalue| < 1.
    Returns points (M, 2) and stable (M,) bools.
    """
    g = np.linspace(-0.95, 0.95, n_starts)
    h = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)   # (N, 2)
    eye = np.eye(2)
    for _ in range(iters):
        y = phase_step(W, b, h)
        J = (1 - y**2)[:, :, None] * W[None] - eye        # (N, 2, 2) Jacobian of tanh(Wh+b) - h
        det = J[:, 0, 0] * J[:, 1, 1] - J[:, 0, 1] * J[:, 1, 0]
        det = np.where(np.abs(det) < 1e-12, 1e-12, det)
        F = y - h
        step = np.stack([J[:, 1, 1] * F[:, 0] - J[:, 0, 1] * F[:, 1],
                         -J[:, 1, 0] * F[:, 0] + J[:, 0, 0] * F[:, 1]], 1) / det[:, None]
        h = np.clip(h - step, -1, 1)
    ok = np.max(np.abs(phase_step(W, b, h) - h), axis=1) < 1e-9
    points = []
    for q in h[ok]:
        if all(np.max(np.abs(q - r)) > 1e-5 for r in points):
            points.append(q)
    points = np.array(points).reshape(-1, 2)
    y = phase_step(W, b, points)
    stable = np.array([np.max(np.abs(np.linalg.eigvals((1 - yy**2)[:, None] * W))) < 1 for yy in y], bool)
    return points, stable


def flow(W: np.ndarray, b: np.ndarray, n: int = 13, lim: float = 1.0):
    """The step h -> f(h) - h on an n x n grid: X, Y, U, V (each (n, n)) for a quiver plot."""
    g = np.linspace(-lim, lim, n)
    X, Y = np.meshgrid(g, g)
    h = np.stack([X.ravel(), Y.ravel()], 1)
    d = phase_step(W, b, h) - h
    return X, Y, d[:, 0].reshape(n, n), d[:, 1].reshape(n, n)


def spread(traj: np.ndarray) -> np.ndarray:
    """How far apart the trajectories are at each step: the largest distance from their mean.  # (T+1,)"""
    centre = traj.mean(axis=0, keepdims=True)
    return np.max(np.linalg.norm(traj - centre, axis=2), axis=0)


# -- the delayed-recall task -----------------------------------------------------------
LETTERS = "abcd"
QUERY = "?"
SYMBOLS = LETTERS + QUERY    # one-hot input channels
K_RECALL = len(LETTERS)
FAIL_THRESHOLD = (1 + 1 / K_RECALL) / 2   # halfway between chance and perfect: 0.625
NAMES = {"rnn": "vanilla RNN", "gru": "GRU", "lstm": "LSTM"}
COLOURS = {"rnn": "#dc2626", "gru": "#2563eb", "lstm": "#16a34a"}


def recall_batch(delays, rng: np.random.Generator):
    """Sequences 'letter, D-1 random letters, ?' for each delay D; the answer is the first letter.

    Returns X (B, T, 5) one-hot (zeros after the '?'), the answers y (B,) and the index q
    (B,) of each '?', with T = max(delays) + 1.
    """
    D = np.asarray(delays, dtype=int)
    if D.ndim != 1 or D.min() < 1:
        raise ValueError(f"delays must be a 1-D array of integers >= 1, got {D}")
    B, T = len(D), int(D.max()) + 1
    ids = rng.integers(0, K_RECALL, (B, T))
    ids[np.arange(B), D] = K_RECALL                       # the '?' at step D + 1 (index D)
    X = np.eye(len(SYMBOLS))[ids]                         # (B, T, 5)
    X[np.arange(T)[None, :] > D[:, None]] = 0             # nothing after the question
    return X, ids[:, 0].copy(), D


def decode(X: np.ndarray) -> str:
    """The string of one sequence X (T, 5), up to its '?'."""
    on = X.sum(1) > 0
    return "".join(SYMBOLS[i] for i in X[on].argmax(1))


def encode(text: str) -> np.ndarray:
    """One-hot inputs (1, T, 5) for a string over 'abcd?'; ValueError names a bad character."""
    bad = [ch for ch in text if ch not in SYMBOLS]
    if bad:
        raise ValueError(f"unknown character {bad[0]!r}: use the letters {LETTERS} and {QUERY}")
    if not text:
        raise ValueError("empty sequence")
    return np.eye(len(SYMBOLS))[[SYMBOLS.index(ch) for ch in text]][None]


def _seeded(seed: int, build):
    """build() with torch's generator seeded by seed, the global generator left as it was."""
    import torch

    from .training import seeded_torch
    with seeded_torch(seed):
        return build()


FORGET_BIAS = 1.0   # the LSTM's forget gate starts at sigmoid(1) = 0.73, a common choice


def make_recall_net(kind: str, H: int = 8, seed: int = 0):
    """A recurrent cell (nn.RNN/GRU/LSTM) and a linear readout applied at the '?' step."""
    import torch
    from torch import nn

    cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]

    class RecallNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.kind = kind
            self.rnn = cls(len(SYMBOLS), H, batch_first=True)
            self.out = nn.Linear(H, K_RECALL)
            if kind == "lstm":
                with torch.no_grad():
                    self.rnn.bias_ih_l0[H:2 * H] += FORGET_BIAS

        def forward(self, X, q):                          # X (B, T, 5), q (B,)
            hs, _ = self.rnn(X)                           # (B, T, H)
            return self.out(hs[torch.arange(len(q)), q])  # (B, 4) scores at the '?'

    return _seeded(seed, RecallNet)


def train_recall(kind: str, H: int = 8, steps: int = 120, batch: int = 128, max_delay: int = 20,
                 lr: float = 0.03, seed: int = 0, live: bool = True):
    """Train a recall net (weights from seed) with Adam; each step a fresh batch, delays drawn from 1..max_delay."""
    import torch
    import torch.nn.functional as F

    from .training import fit_torch

    rng = np.random.default_rng(seed)
    model = make_recall_net(kind, H, seed)

    def batch_loss(m, step):
        X, y, q = recall_batch(rng.integers(1, max_delay + 1, batch), rng)
        return F.cross_entropy(m(torch.tensor(X, dtype=torch.float32), torch.from_numpy(q)),
                               torch.from_numpy(y))

    history = fit_torch(model, batch_loss, steps, lr=lr, every=100, live=live, desc=f"{NAMES[kind]}, H={H}")
    return model, history


def _answers(model, delay: int, n: int, seed: int):
    """The true first letters (n,) and the model's answers (n,) on n held-out sequences at one delay."""
    import torch

    X, y, q = recall_batch(np.full(n, delay), np.random.default_rng([seed, delay]))
    with torch.no_grad():
        pred = model(torch.tensor(X, dtype=torch.float32), torch.from_numpy(q)).argmax(1).numpy()
    return y, pred


def recall_accuracy(model, delays, n: int = 200, seed: int = 1) -> np.ndarray:
    """Held-out accuracy at each delay D, on the n sequences recall_confusion reads.  # (len(delays),)"""
    return np.array([np.mean(np.equal(*_answers(model, int(d), n, seed))) for d in delays])


def recall_confusion(model, delay: int, n: int = 200, seed: int = 1) -> np.ndarray:
    """Counts of (true first letter, answer) on recall_accuracy's n sequences at this delay.  # (4, 4)"""
    y, pred = _answers(model, delay, n, seed)
    counts = np.zeros((K_RECALL, K_RECALL), int)
    np.add.at(counts, (y, pred), 1)
    return counts


def failing_delay(delays, acc, threshold: float = FAIL_THRESHOLD):
    """The smallest delay whose accuracy is below threshold (None if there is none)."""
    below = [d for d, a in zip(delays, acc) if a < threshold]
    return min(below) if below else None


def numpy_cell(model):
    """The trained cell and readout as numpy arrays: (kind, cell params, W_hy (4, H), b_y (4,))."""
    out = model.out
    return (gates.kind_of(model.rnn), gates.from_torch(model.rnn),
            out.weight.detach().double().numpy().copy(), out.bias.detach().double().numpy().copy())


def plot_recall(ax, delays, acc: dict, max_train_delay: int, threshold: float = FAIL_THRESHOLD) -> None:
    """Accuracy against delay, one line per cell; chance, the failure line and the trained range marked.

    Lines that coincide stay visible: their markers alternate along the line, and a note says so.
    """
    styles = {"rnn": dict(marker="o", ls="-", ms=3.5, lw=1.5),
              "gru": dict(marker="s", ls="-", ms=5, lw=2.5, markevery=(0, 2)),
              "lstm": dict(marker="^", ls="--", ms=5, lw=1.5, markevery=(1, 2))}
    for kind, a in acc.items():
        ax.plot(delays, a, color=COLOURS[kind], label=NAMES[kind], alpha=0.9,
                **styles.get(kind, dict(marker="o", ls="-", ms=3.5, lw=1.5)))
    if "gru" in acc and "lstm" in acc and np.max(np.abs(np.asarray(acc["gru"]) - acc["lstm"])) < 0.02:
        low = np.floor(100 * min(np.min(acc["gru"]), np.min(acc["lstm"]))) / 100   # rounded down: "at least"
        ax.annotate(f"GRU and LSTM lie on top of each other\n(both at least {low:.2f} at every delay)",
                    xy=(0.3 * max(delays), 1.0), xytext=(0.3 * max(delays), 0.8), fontsize=8, ha="center",
                    color="#1f2937", arrowprops=dict(arrowstyle="->", color="#6b7280", lw=0.8))
    ax.axhline(1 / K_RECALL, color="#6b7280", ls=":", lw=1, label="chance")
    ax.axhline(threshold, color="#b45309", ls="--", lw=1, label="'fails' below this")
    ax.axvspan(max_train_delay + 0.5, max(delays) + 0.5, color="#f3f4f6", zorder=0)
    ax.text(max_train_delay + 1, 0.06, "longer than any\ntraining delay", fontsize=8, color="#4b5563")
    ax.set(xlabel="delay D (steps between the letter and the '?')", ylabel="held-out accuracy",
           ylim=(0, 1.05), xlim=(0.5, max(delays) + 0.5))
    ax.legend(fontsize=8, loc="lower left", ncol=3)
    ax.grid(alpha=0.3)


def answer_groups(confusion: np.ndarray) -> dict[str, str]:
    """Which first letters get which answer most often, e.g. {'d': 'abd', 'c': 'c'}, from a (4, 4) confusion."""
    if confusion.shape != (K_RECALL, K_RECALL):
        raise ValueError(f"confusion must have shape ({K_RECALL}, {K_RECALL}), got {confusion.shape}")
    groups: dict[str, str] = {}
    for true, answer in enumerate(confusion.argmax(1)):
        groups[LETTERS[answer]] = groups.get(LETTERS[answer], "") + LETTERS[true]
    return groups


# -- influence of x_1 on the state ------------------------------------------------------
def influence_of_first(kind: str, p: dict, T: int = 30, n: int = 200, seed: int = 2) -> np.ndarray:
    """Mean distance ||h_t - h'_t|| at t = 1..T when only x_1 differs (another letter).  # (T,)"""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, K_RECALL, (n, T))               # letters only: x_2..x_T are distractors
    other = ids.copy()
    other[:, 0] = (ids[:, 0] + rng.integers(1, K_RECALL, n)) % K_RECALL
    eye = np.eye(len(SYMBOLS))
    a, b = gates.run(kind, p, eye[ids])["h"], gates.run(kind, p, eye[other])["h"]
    return np.linalg.norm(a - b, axis=2).mean(0)


def plot_influence(ax, curves: dict) -> None:
    """Influence of x_1 against t (log scale): {(kind, 'trained' or 'untrained'): (T,) curve}.

    Untrained: dotted. Trained: solid with markers at staggered steps, so close lines stay visible.
    """
    markers = {"rnn": ("o", 0), "gru": ("s", 1), "lstm": ("^", 2)}
    for (kind, state), c in curves.items():
        t = np.arange(1, len(c) + 1)
        if state == "trained":
            marker, offset = markers.get(kind, ("o", 0))
            style = dict(ls="-", lw=1.5, marker=marker, ms=5, markevery=(offset, 3))
        else:
            style = dict(ls=":", lw=1.5)
        ax.semilogy(t, np.maximum(c, 1e-12), color=COLOURS[kind], label=f"{NAMES[kind]}, {state}", **style)
    ax.set(xlabel="step t", ylabel="||h_t - h'_t||  (x_1 changed)", ylim=(1e-8, 10))
    ax.legend(fontsize=8, ncol=2, loc="lower left")
    ax.grid(alpha=0.3)


# -- a causal CNN against an RNN: a local task and a long-range task --------------------
TAG_LETTERS = "abc"
WINDOW = 5               # the local pattern spans 5 letters; the CNN sees exactly 5
TASKS = {"palindrome": 2, "first": len(TAG_LETTERS)}   # task -> number of classes


def tag_batch(task: str, lengths, rng: np.random.Generator, T: int | None = None):
    """Sequences over 'abc' with a label at every step, for a task:

    'palindrome' (local): y_t = 1 if x_{t-4..t} reads the same backwards (5 letters), else 0;
    'first' (long range): y_t = x_1, the sequence's first letter, at every step.
    Returns X (B, T, 3) (zeros after each length), y (B, T) and valid (B, T) bools.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}")
    L = np.asarray(lengths, int)
    B, T = len(L), int(T or L.max())
    if T < WINDOW:
        raise ValueError(f"sequences must be at least {WINDOW} long, got T = {T}")
    K = len(TAG_LETTERS)
    ids = rng.integers(0, K, (B, T))
    mask = np.arange(T)[None, :] < L[:, None]
    if task == "palindrome":
        for _ in range(T // 2):                           # plant palindromes so about a third of steps are 'yes'
            s, r = rng.integers(0, T - WINDOW + 1, B), np.arange(B)
            ids[r, s + 4], ids[r, s + 3] = ids[r, s], ids[r, s + 1]
        y = np.zeros((B, T), int)
        y[:, 4:] = (ids[:, 4:] == ids[:, :-4]) & (ids[:, 3:-1] == ids[:, 1:-3])
        valid = mask & (np.arange(T)[None, :] >= WINDOW - 1)
    else:
        y = np.repeat(ids[:, :1], T, axis=1)
        valid = mask
    X = np.eye(K)[ids] * mask[:, :, None]
    return X, y, valid


def make_cnn(n_classes: int, channels: int = 16, kernel: int = 3, layers: int = 2, seed: int = 0):
    """A causal 1-D CNN: each output sees the last layers*(kernel-1)+1 inputs (its receptive field)."""
    import torch.nn.functional as F
    from torch import nn

    class CausalCNN(nn.Module):
        def __init__(self):
            super().__init__()
            sizes = [len(TAG_LETTERS)] + [channels] * layers
            self.convs = nn.ModuleList(nn.Conv1d(a, b, kernel) for a, b in zip(sizes, sizes[1:]))
            self.out = nn.Conv1d(channels, n_classes, 1)
            self.receptive_field = layers * (kernel - 1) + 1

        def forward(self, X):                             # X (B, T, 3) -> scores (B, T, C)
            u = X.transpose(1, 2)                         # (B, channels, T): what each layer reads
            for conv in self.convs:
                u = F.relu(conv(F.pad(u, (kernel - 1, 0))))  # pad on the left only: no peeking ahead
            return self.out(u).transpose(1, 2)

    return _seeded(seed, CausalCNN)


def cnn_params(model) -> list[tuple[np.ndarray, np.ndarray]]:
    """The CNN's weights as numpy: [(W (C_out, C_in, k), b (C_out,)), ...], the 1x1 output layer last."""
    layers = list(model.convs) + [model.out]
    return [(c.weight.detach().double().numpy().copy(), c.bias.detach().double().numpy().copy()) for c in layers]


def cnn_forward(params: list, X: np.ndarray):
    """The causal CNN in numpy: X (B, T, C_in) -> scores (B, T, C) and a cache for cnn_backward."""
    X = np.asarray(X, float)
    if X.ndim != 3 or X.shape[2] != params[0][0].shape[1]:
        raise ValueError(f"X must have shape (B, T, {params[0][0].shape[1]}), got {X.shape}")
    u, cache = X, []                                      # u (B, T, C): what each layer reads
    for i, (W, b) in enumerate(params):
        k = W.shape[2]
        up = np.pad(u, ((0, 0), (k - 1, 0), (0, 0)))      # left padding only: causal
        T = u.shape[1]
        a = sum(up[:, j:j + T] @ W[:, :, j].T for j in range(k)) + b   # (B, T, C_out) pre-activations
        cache.append((up, a))
        u = np.maximum(a, 0) if i < len(params) - 1 else a
    return u, cache


def cnn_backward(params: list, cache: list, dscores: np.ndarray) -> list:
    """Gradients [(dW, db), ...] of a loss given dL/dscores (B, T, C), layer by layer backwards."""
    grads, d = [None] * len(params), dscores
    for i in reversed(range(len(params))):
        W, _ = params[i]
        up, a = cache[i]
        if i < len(params) - 1:
            d = d * (a > 0)                               # through the ReLU
        k, T = W.shape[2], a.shape[1]
        dW = np.stack([np.einsum("bto,bti->oi", d, up[:, j:j + T]) for j in range(k)], axis=2)
        dup = np.zeros_like(up)
        for j in range(k):
            dup[:, j:j + T] += d @ W[:, :, j]
        grads[i] = (dW, d.sum((0, 1)))
        d = dup[:, k - 1:]                                # drop the padding
    return grads


def make_tagger_rnn(n_classes: int, H: int = 16, seed: int = 0):
    """A GRU with a linear readout at every step."""
    from torch import nn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(len(TAG_LETTERS), H, batch_first=True)
            self.out = nn.Linear(H, n_classes)

        def forward(self, X):                             # X (B, T, 3) -> scores (B, T, C)
            return self.out(self.rnn(X)[0])

    return _seeded(seed, Tagger)


TAG_STEPS = 60


def train_tagger(model, task: str, steps: int = TAG_STEPS, batch: int = 128, lengths=(6, 20),
                 lr: float = 0.03, seed: int = 0, live: bool = True, desc: str = "training"):
    """Adam on fresh batches of tag_batch(task) with lengths drawn from the range; loss on valid steps."""
    import torch
    import torch.nn.functional as F

    from .training import fit_torch

    rng = np.random.default_rng(seed)

    def batch_loss(m, step):
        X, y, valid = tag_batch(task, rng.integers(lengths[0], lengths[1] + 1, batch), rng)
        v = torch.from_numpy(valid)
        return F.cross_entropy(m(torch.tensor(X, dtype=torch.float32))[v], torch.from_numpy(y)[v])

    return fit_torch(model, batch_loss, steps, lr=lr, every=50, live=live, desc=desc)


def tag_accuracy(model, task: str, length: int = 40, n: int = 500, seed: int = 1):
    """Accuracy at each position t = 1..length on n held-out sequences, and over all labelled steps."""
    import torch

    rng = np.random.default_rng(seed)
    X, y, valid = tag_batch(task, np.full(n, length), rng)
    with torch.no_grad():
        pred = model(torch.tensor(X, dtype=torch.float32)).argmax(-1).numpy()
    ok = (pred == y) & valid
    by_t = np.where(valid.any(0), ok.sum(0) / np.maximum(valid.sum(0), 1), np.nan)
    return by_t, float(ok.sum() / valid.sum())


def majority_baseline(task: str, length: int = 40, n: int = 500, seed: int = 1) -> float:
    """Accuracy of always answering the most common label (what 'learned nothing' scores)."""
    rng = np.random.default_rng(seed)
    _, y, valid = tag_batch(task, np.full(n, length), rng)
    return float(np.bincount(y[valid]).max() / valid.sum())


def plot_tagging(axes, by_t: dict, receptive_field: int, max_train_length: int, baselines: dict) -> None:
    """Accuracy at each position t, one panel per task: {(task, model name): (T,) accuracies}."""
    styles = {"CNN": ("#ea580c", "s-"), "RNN": ("#2563eb", "o-")}
    for ax, task in zip(axes, TASKS):
        for (tk, name), acc in by_t.items():
            if tk == task:
                colour, style = styles[name.split()[0]]
                ax.plot(np.arange(1, len(acc) + 1), acc, style, ms=3, color=colour, label=name)
        ax.axhline(baselines[task], color="#6b7280", ls=":", lw=1, label="always the commonest answer")
        ax.axvline(receptive_field + 0.5, color="#ea580c", ls="--", lw=1)
        ax.text(receptive_field + 0.8, 0.05, f"CNN's receptive field: {receptive_field} steps", fontsize=8,
                color="#9a3412")
        ax.axvspan(max_train_length + 0.5, len(acc) + 0.5, color="#f3f4f6", zorder=0)
        ax.text(max_train_length + 1, 0.14, "longer than any\ntraining sequence", fontsize=8, color="#4b5563")
        ax.set(xlabel="position t in the sequence", ylim=(0, 1.05), xlim=(0.5, len(acc) + 0.5),
               title={"palindrome": "local: do the last 5 letters form a palindrome?",
                      "first": "long range: what was the first letter?"}[task])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("held-out accuracy")
    axes[-1].legend(fontsize=8, loc="center right")
