"""Notebook 06: character-level models of surnames, a count bigram and a GRU (numpy and torch).

Both models read a name one symbol at a time, ``<s> s m i t h``, and at every step give a
distribution over the next symbol (a letter or ``</s>``): one input, one output per step.
Generation feeds each sampled output back in as the next input.

GRU step (torch's layout, gates stacked r, z, n in W_xh (3H, V) and W_hh (3H, H)):

    r = σ(W_xr x + b_xr + W_hr h + b_hr)            reset gate
    z = σ(W_xz x + b_xz + W_hz h + b_hz)            update gate
    n = tanh(W_xn x + b_xn + r * (W_hn h + b_hn))   candidate state
    h' = (1 - z) * n + z * h                        h_t = f(h_{t-1}, x_t; θ)
    o = W_hy h' + b_y,   y = softmax(o)             scores and distribution of the next symbol
"""
from __future__ import annotations

import numpy as np

from . import gates
from .checks import Case, Mistake, Verdict, compare
from .surnames import ALPHABET, BOS, CHARS, EOS, INDEX, PAD, batch, encode

V = len(CHARS)                                   # 29 symbols: <pad>, <s>, </s>, a..z
NEXT = np.array([INDEX[EOS]] + [INDEX[c] for c in ALPHABET])   # the 27 symbols that can come next
NEVER = -1e9                                     # score of <pad> and <s>: they never come next
MASK = np.where(np.isin(np.arange(V), NEXT), 0.0, NEVER)       # (V,) added to every score vector
VOWELS = set("aeiou")


# -- the count-bigram baseline ------------------------------------------------------
def bigram_counts(names: list[str]) -> np.ndarray:
    """C[a, b] = how often symbol b follows symbol a in the names (with <s> and </s>).  # (V, V)"""
    ids, _ = batch(names)                          # (N, T) padded
    prev, nxt = ids[:, :-1], ids[:, 1:]
    keep = nxt != INDEX[PAD]
    C = np.zeros((V, V))
    np.add.at(C, (prev[keep], nxt[keep]), 1)
    return C


def bigram_probs(C: np.ndarray, k: float = 1.0) -> np.ndarray:
    """Add-k smoothing: P[a, b] = (C[a, b] + k) / (sum_b C[a, b] + 27 k), over the 27 possible b.  # (V, V)"""
    if C.shape != (V, V):
        raise ValueError(f"counts must have shape ({V}, {V}), got {C.shape}")
    S = np.zeros_like(C, dtype=float)
    S[:, NEXT] = C[:, NEXT] + k
    return S / S.sum(axis=1, keepdims=True)


def bigram_nats(P: np.ndarray, names: list[str]) -> float:
    """Mean -log P(next | previous) over every predicted symbol of the names (letters and </s>)."""
    ids, _ = batch(names)
    prev, nxt = ids[:, :-1], ids[:, 1:]
    keep = nxt != INDEX[PAD]
    return float(-np.log(P[prev[keep], nxt[keep]]).mean())


def best_k(C: np.ndarray, names: list[str], ks=(0.001, 0.01, 0.1, 1.0, 10.0)) -> float:
    """The smoothing k with the lowest nats/char on `names` (use validation names, not test)."""
    return min(ks, key=lambda k: bigram_nats(bigram_probs(C, k), names))


# -- the GRU, from scratch in numpy: notebook 05's cell (helpers.gates) plus an output layer --
def init_params(H: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random GRU weights in torch's layout (uniform ±1/sqrt(H), as torch initialises them)."""
    rng = np.random.default_rng(seed)
    u = lambda *shape: rng.uniform(-1 / np.sqrt(H), 1 / np.sqrt(H), shape)
    return {"W_xh": u(3 * H, V), "W_hh": u(3 * H, H), "b_xh": u(3 * H), "b_hh": u(3 * H),
            "W_hy": u(V, H), "b_y": u(V)}


def gru_step(params: dict, h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One GRU step, h_t = f(h_{t-1}, x_t): h (B, H) and one-hot x (B, V) -> new h (B, H)."""
    return gates.gru_step(params, x, h)[0]


def scores(params: dict, h: np.ndarray) -> np.ndarray:
    """Next-symbol scores o = W_hy h + b_y, with <pad> and <s> ruled out.  # (B, V)"""
    return h @ params["W_hy"].T + params["b_y"] + MASK


def log_softmax(o: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, shifted by the max for safety."""
    s = o - o.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def _check_ids(ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.shape[1] < 2:
        raise ValueError(f"ids must have shape (B, T) with T >= 2 (<s> ... </s>), got {ids.shape}")
    return ids


def run(params: dict, ids: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """States after reading each input symbol: ids (B, T) -> hs (B, T, H), from h0 = 0."""
    if np.ndim(ids) != 2:
        raise ValueError(f"ids must have shape (B, T), got {np.shape(ids)}")
    return gates.gru_forward(params, np.eye(V)[ids], h0)[0]


def nll(params: dict, ids: np.ndarray) -> float:
    """Mean nats per predicted symbol: inputs ids[:, :-1], targets ids[:, 1:], padding ignored."""
    ids = _check_ids(ids)
    hs = run(params, ids[:, :-1])
    logp = log_softmax(scores(params, hs))        # (B, T-1, V)
    tgt = ids[:, 1:]
    keep = tgt != INDEX[PAD]
    return float(-np.take_along_axis(logp, tgt[..., None], -1)[..., 0][keep].mean())


def loss_and_grads(params: dict, ids: np.ndarray):
    """nll and its gradients by backpropagation through time, by hand: (loss, grads).

    The output layer's part is here; the GRU's part is notebook 05's gates.gru_backward.
    """
    ids = _check_ids(ids)
    inp, tgt = ids[:, :-1], ids[:, 1:]
    hs, steps = gates.gru_forward(params, np.eye(V)[inp])     # (B, T, H)
    keep = (tgt != INDEX[PAD]).astype(float)                  # (B, T)
    logp = log_softmax(scores(params, hs))
    loss = float(-(np.take_along_axis(logp, tgt[..., None], -1)[..., 0] * keep).sum() / keep.sum())
    do = np.exp(logp)                                         # d loss / d o = (y - onehot) / N
    np.put_along_axis(do, tgt[..., None], np.take_along_axis(do, tgt[..., None], -1) - 1, -1)
    do *= (keep / keep.sum())[..., None]                      # (B, T, V)
    g, _ = gates.gru_backward(params, steps, do @ params["W_hy"])   # dL/dh_t from the outputs
    g["W_hy"] = np.einsum("btv,bth->vh", do, hs)
    g["b_y"] = do.sum(axis=(0, 1))
    return loss, g


# -- the same GRU in torch ----------------------------------------------------------
def make_torch(H: int, seed: int = 0, dtype=None):
    """A torch twin: nn.GRU (the same step, fused) and a linear read-out; weights as numpy's names."""
    import torch
    from torch import nn

    class CharGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(V, H, batch_first=True)
            self.out = nn.Linear(H, V)
            self.register_buffer("mask", torch.tensor(MASK))

        def forward(self, ids, h0=None):
            """ids (B, T) -> scores (B, T, V) and states (B, T, H)."""
            x = nn.functional.one_hot(ids, V).to(self.out.weight.dtype)
            hs, _ = self.rnn(x, h0)
            return self.out(hs) + self.mask.to(hs.dtype), hs

    from .training import seeded_torch
    with seeded_torch(seed):                  # the global generator is left alone
        model = CharGRU()
    return model.to(dtype) if dtype is not None else model


TORCH_NAMES = {"W_xh": "rnn.weight_ih_l0", "W_hh": "rnn.weight_hh_l0", "b_xh": "rnn.bias_ih_l0",
               "b_hh": "rnn.bias_hh_l0", "W_hy": "out.weight", "b_y": "out.bias"}


def to_numpy(model) -> dict[str, np.ndarray]:
    """The torch model's weights as a numpy params dict (float64 copies)."""
    state = model.state_dict()
    return {k: state[t].detach().double().numpy().copy() for k, t in TORCH_NAMES.items()}


def copy_to_torch(params: dict, model) -> None:
    """Copy numpy weights into the torch twin (in place)."""
    import torch

    state = dict(model.named_parameters())
    with torch.no_grad():
        for k, t in TORCH_NAMES.items():
            state[t].copy_(torch.from_numpy(params[k]))


def torch_nll(model, ids):
    """Mean nats per predicted symbol for a torch model (padding ignored); a scalar tensor."""
    import torch

    ids = torch.as_tensor(_check_ids(ids))
    o, _ = model(ids[:, :-1])
    return torch.nn.functional.cross_entropy(o.reshape(-1, V), ids[:, 1:].reshape(-1),
                                             ignore_index=INDEX[PAD])


def batches(names: list[str], batch_size: int, seed: int = 0):
    """batch_loss(model, step) for fit_torch: a fresh random batch of names at every step."""
    ids, lengths = batch(names)                    # (N, T) all names padded once
    rng = np.random.default_rng(seed)

    def batch_loss(model, step):
        pick = rng.integers(0, len(names), batch_size)
        return torch_nll(model, ids[pick, :lengths[pick].max()])
    return batch_loss


def nats_per_char(model, names: list[str]) -> float:
    """Held-out nats per character (letters and </s>) of a torch model on a list of names."""
    import torch

    with torch.no_grad():
        return float(torch_nll(model.eval(), batch(names)[0]))


def train(names: list[str], H: int = 64, steps: int = 600, batch_size: int = 128, lr: float = 0.01,
          seed: int = 0, val_names=None, every: int = 100, live: bool = True):
    """Train a CharGRU with Adam on random batches of names: (model, history).

    history["steps_per_s"] is the measured training speed, validation and drawing included.
    """
    import time

    from .training import fit_torch

    model = make_torch(H, seed)
    validate = (lambda m: nats_per_char(m, val_names)) if val_names else None
    batch_loss, calls = batches(names, batch_size, seed), []

    def timed(m, step):
        calls.append(time.perf_counter())                 # when each step starts
        return batch_loss(m, step)

    history = fit_torch(model, timed, steps, lr=lr, every=every, live=live, desc=f"GRU H={H}",
                        validate=validate, clip=1.0)
    history["steps_per_s"] = (len(calls) - 1) / (calls[-1] - calls[0]) if len(calls) > 1 else float("nan")
    return model, history


# -- sampling -------------------------------------------------------------------------
def next_char_probs(o: np.ndarray, temperature: float = 1.0, top_k: int | None = None) -> np.ndarray:
    """softmax(o / temperature) over the top_k highest scores only (the rest get 0).  # (..., V)"""
    o = np.asarray(o, dtype=float)
    if top_k is not None:
        kth = -np.sort(-o, axis=-1)[..., top_k - 1:top_k]    # the k-th highest score
        o = np.where(o >= kth, o, -np.inf)
    if temperature == 0:                                      # the limit: all mass on the argmax
        return np.eye(o.shape[-1])[np.argmax(o, axis=-1)]
    s = (o - o.max(axis=-1, keepdims=True)) / temperature
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def gru_stepper(params: dict):
    """step(h, tokens) -> (scores (n, V), new h) for the numpy GRU; start state: zeros."""
    eye = np.eye(V)

    def step(h, tokens):
        h = gru_step(params, h, eye[tokens])
        return scores(params, h), h
    return step, (lambda n: np.zeros((n, params["W_hh"].shape[1])))


def bigram_stepper(P: np.ndarray):
    """step(state, tokens) -> (log P[tokens] (n, V), tokens): the bigram's state is the last symbol."""
    logP = np.log(np.maximum(P, 1e-300)) + MASK

    def step(state, tokens):
        return logP[tokens], tokens
    return step, (lambda n: np.zeros(n, dtype=int))


def sample(stepper, n: int, rng: np.random.Generator, temperature: float = 1.0,
           top_k: int | None = None, prefix: str = "", max_len: int = 20) -> list[str]:
    """n names drawn one symbol at a time, each fed back in; stop at </s> or max_len letters."""
    step, start = stepper
    state = start(n)
    tokens = np.full(n, INDEX[BOS])
    for c in prefix:                                        # read the prefix first
        _, state = step(state, tokens)
        tokens = np.full(n, INDEX[c])
    out = [list(prefix) for _ in range(n)]
    alive = np.ones(n, dtype=bool)
    for _ in range(max_len - len(prefix)):
        o, state = step(state, tokens)
        p = next_char_probs(o, temperature, top_k)          # (n, V)
        cdf = p.cumsum(axis=1)
        u = rng.random(n)[:, None] * cdf[:, -1:]            # one uniform draw per name
        tokens = (cdf <= u).sum(axis=1)                     # the first symbol whose cdf passes u
        for i in np.flatnonzero(alive):
            if tokens[i] == INDEX[EOS]:
                alive[i] = False
            else:
                out[i].append(CHARS[tokens[i]])
        if not alive.any():
            break
    return ["".join(s) for s in out]


def sample_stats(samples: list[str], split: dict, short: int = 4) -> dict[str, float]:
    """Fractions of samples: copied (a training name), held_out (a val/test name), new; and more.

    distinct: different strings / samples; short: samples of at most `short` letters (real by
    chance more often); real_short, real_long: real names (any split) of at most `short` letters,
    and of more.
    """
    train, held = set(split["train"]), set(split["val"]) | set(split["test"])
    n = len(samples)
    copied = sum(s in train for s in samples) / n
    held_out = sum(s in held for s in samples) / n
    real = [s for s in samples if s in train or s in held]
    return {"copied": copied, "held_out": held_out, "new": 1 - copied - held_out,
            "distinct": len(set(samples)) / n, "short": sum(len(s) <= short for s in samples) / n,
            "real_short": sum(len(s) <= short for s in real) / n,
            "real_long": sum(len(s) > short for s in real) / n,
            "real_if_short": _share(real, samples, lambda s: len(s) <= short),
            "real_if_long": _share(real, samples, lambda s: len(s) > short)}


def _share(real: list[str], samples: list[str], keep) -> float:
    """Among the samples that pass `keep`, the share that are real names (nan if none pass)."""
    n = sum(map(keep, samples))
    return sum(map(keep, real)) / n if n else float("nan")


def sample_report(params: dict, P: np.ndarray, split: dict, n: int = 2000, seed: int = 0) -> dict:
    """sample_stats of n names at temperature 1 from the GRU and from the bigram, and their mean length."""
    out = {}
    for name, stepper in (("GRU", gru_stepper(params)), ("bigram", bigram_stepper(P))):
        samples = sample(stepper, n, np.random.default_rng(seed), temperature=1.0)
        out[name] = sample_stats(samples, split) | {"mean_len": float(np.mean([len(s) for s in samples]))}
    return out


# -- hidden units that mean something ------------------------------------------------
PROPERTIES = {
    "position in name": "letters read so far",
    "vowel just read": "1 if the last letter read is a, e, i, o or u",
    "letters left": "letters still to come before </s>",
    "name ends next": "1 if the next symbol is </s>",
}


def unit_table(params: dict, names: list[str]):
    """Every state h_t of every name (states after <s> and after each letter) and its properties.

    Returns acts (N, H) and props {name: (N,)}, N = total number of states.
    """
    ids, lengths = batch(names)
    hs = run(params, ids[:, :-1])                            # (B, T, H): after <s>, c1, ...
    acts, pos, vowel, left, ends = [], [], [], [], []
    for i, name in enumerate(names):
        n = len(name)
        acts.append(hs[i, :n + 1])
        j = np.arange(n + 1)
        pos.append(j)
        vowel.append(np.array([0] + [c in VOWELS for c in name], dtype=float))
        left.append(n - j)
        ends.append((j == n).astype(float))
    props = {"position in name": pos, "vowel just read": vowel, "letters left": left,
             "name ends next": ends}
    return np.concatenate(acts), {k: np.concatenate(v).astype(float) for k, v in props.items()}


def correlations(acts: np.ndarray, prop: np.ndarray) -> np.ndarray:
    """Pearson r between each unit's activation (N, H) and a property (N,).  # (H,)"""
    if acts.ndim != 2 or acts.shape[0] != prop.shape[0]:
        raise ValueError(f"acts must be (N, H) and prop (N,), got {acts.shape} and {prop.shape}")
    a = acts - acts.mean(0)
    p = prop - prop.mean()
    denom = np.sqrt((a**2).sum(0) * (p**2).sum()) + 1e-12
    return (a * p[:, None]).sum(0) / denom


def find_units(params: dict, pick_names: list[str], report_names: list[str]) -> list[dict]:
    """For each property: the unit with the largest |r| on pick_names, and its r on report_names."""
    acts, props = unit_table(params, pick_names)
    acts2, props2 = unit_table(params, report_names)
    rows = []
    for prop in props:
        r = correlations(acts, props[prop])
        u = int(np.argmax(np.abs(r)))
        rows.append({"property": prop, "unit": u, "r_pick": float(r[u]),
                     "r": float(correlations(acts2[:, [u]], props2[prop])[0])})
    return rows


def by_unit(rows: list[dict]) -> list[dict]:
    """Group find_units rows by unit (one unit can win several properties), in first-seen order."""
    groups: dict[int, dict] = {}
    for row in rows:
        g = groups.setdefault(row["unit"], {"unit": row["unit"], "properties": [], "r": []})
        g["properties"].append(row["property"])
        g["r"].append(row["r"])
    return list(groups.values())


def plot_units(params: dict, rows: list[dict], names: list[str]):
    """Karpathy-style cell pictures: each letter coloured by a unit's activation after reading it."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from .live import new_figure

    groups = by_unit(rows)
    ids, _ = batch(names)
    hs = run(params, ids[:, :-1])                             # (B, T, H)
    width = max(len(n) for n in names) + 1
    lines = 1 + max(len(g["properties"]) for g in groups)    # title lines above each panel
    width_in, height_in = 2.6 * len(groups) + 1.3, 0.3 * len(names) + 0.2 + 0.17 * lines
    fig = new_figure(width_in, height_in)
    axes = np.atleast_1d(fig.subplots(1, len(groups)))
    right = 1 - 1.1 / width_in                               # room for the colour bar and its label
    fig.subplots_adjust(left=0.02, right=right, top=1 - (0.17 * lines + 0.1) / height_in,
                        bottom=0.1 / height_in, wspace=0.08)
    cmap, norm = colormaps["RdBu_r"], Normalize(-1, 1)
    for ax, g in zip(axes, groups):
        grid = np.full((len(names), width), np.nan)
        for i, name in enumerate(names):
            grid[i, :len(name) + 1] = hs[i, :len(name) + 1, g["unit"]]
        ax.imshow(grid, cmap=cmap, norm=norm, aspect="auto")
        for i, name in enumerate(names):
            for j, c in enumerate("^" + name):               # ^ marks the state after <s>
                ax.text(j, i, c, ha="center", va="center", fontsize=9, family="monospace")
        ax.set(xticks=[], yticks=[])
        lines = [f"{p}: r = {r:+.2f}" for p, r in zip(g["properties"], g["r"])]
        ax.set_title(f"unit {g['unit']}\n" + "\n".join(lines), fontsize=8.5)
    cax = fig.add_axes([right + 0.25 / width_in, 0.1, 0.15 / width_in, 0.55])
    fig.colorbar(ScalarMappable(norm, cmap), cax=cax, label="activation")
    return fig


# -- exercises ---------------------------------------------------------------------
def check_next_char_probs(student) -> Verdict:
    """Exercise (06): temperature and top-k turn scores into the distribution to sample from."""
    rng = np.random.default_rng(5)
    cases = [(np.array([2.0, 1.0, 0.0, -1.0]), 1.0, None),
             (np.array([2.0, 1.0, 0.0, -1.0]), 0.5, None),
             (rng.normal(size=(3, 7)), 2.0, None),
             Case((rng.normal(size=(3, 7)), 1.0, 3), "(This case has top_k = 3.)"),
             Case((np.array([30.0, 29.0, 10.0]), 0.01, None), "(This case has scores / 0.01 = 3000.)"),
             (rng.normal(size=(2, 27)), 0.7, 5),
             Case((np.array([[0.5, 3.0, -1.0], [2.0, 1.0, 0.0]]), 0.0, None),
                  "Temperature 0 (this case) cannot be divided by: return the limit, probability 1 on the highest "
                  "score of each row and 0 elsewhere.")]
    wrong = [Mistake(lambda o, t=1.0, k=None: next_char_probs(o, 1.0, k), "it ignores the temperature: divide the "
                     "scores by it before the softmax"),
             Mistake(lambda o, t=1.0, k=None: next_char_probs(o * t, 1.0, k) if t else next_char_probs(o, 0, k),
                     "it multiplies the scores by the temperature; divide them by it"),
             Mistake(lambda o, t=1.0, k=None: next_char_probs(o, t, None), "it ignores top_k: only the top_k highest "
                     "scores may keep probability"),
             Mistake(lambda o, t=1.0, k=None: next_char_probs(-np.asarray(o), t, k) if k else next_char_probs(o, t, k),
                     "top_k keeps the lowest scores; keep the highest")]
    return compare(student, next_char_probs, cases, name="next_char_probs", mistakes=wrong, overflow=True, hints=(
        "three steps: divide the scores by the temperature; if top_k is not None, set every score below the "
        "top_k-th highest to -inf; then a softmax over the last axis, subtracting the max first.",
        "kth = np.sort(o, axis=-1)[..., -top_k:][..., :1] (the k-th highest, shape (..., 1)); "
        "o = np.where(o >= kth, o, -np.inf); s = (o - o.max(axis=-1, keepdims=True)) / temperature; "
        "p = np.exp(s) / np.exp(s).sum(axis=-1, keepdims=True). For temperature 0: "
        "np.eye(o.shape[-1])[np.argmax(o, axis=-1)].",
        "o = np.asarray(o, float); if top_k is not None: o = np.where(o >= np.sort(o, axis=-1)[..., -top_k:][..., :1], "
        "o, -np.inf); if temperature == 0: return np.eye(o.shape[-1])[np.argmax(o, axis=-1)]; "
        "e = np.exp((o - o.max(axis=-1, keepdims=True)) / temperature); return e / e.sum(axis=-1, keepdims=True)"))


# -- check your understanding ----------------------------------------------------------
def understanding() -> dict:
    """The closing questions of notebook 06 and their answers (helpers.quiz)."""
    from . import quiz

    prefix = "mac"
    return {
        "uniform nats": quiz.Number(float(np.log(len(NEXT))), 0.01, [
            "the score is the mean of -ln P(the symbol that came), and a uniform guess gives every "
            "symbol the same P", f"P = 1/{len(NEXT)} for each of the {len(NEXT)} symbols that can come next"]),
        "temperature 0": quiz.Choice("greedy", ["greedy", "uniform", "unchanged"], [
            "divide the scores by a smaller and smaller τ: what happens to the gap between the top two?",
            "all the probability goes to the highest score, every time"]),
        "steps before 'mac'": quiz.Number(len(prefix) + 1, 0, [
            "the GRU takes one step per input symbol, and the first input is not a letter",
            "it reads <s>, then m, a, c: the state after the last one gives the next letter's distribution"]),
    }
