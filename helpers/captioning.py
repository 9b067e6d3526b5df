"""Notebook 07: a tiny CNN turns a picture into one vector v; a GRU decoder turns v into words.

Two ways to give the decoder the vector (both built here, `mode` picks one):

    mode "h0"     h_0 = tanh(W_vh v + b_vh),  x_t = embed(w_{t-1})            (v seen once)
    mode "input"  h_0 = 0,                    x_t = [embed(w_{t-1}); v]       (v seen at every step)

Then, at every step, h_t = GRU(x_t, h_{t-1}) and y_t = softmax(W_hy h_t + b_y). Training
uses teacher forcing (the true previous word is fed in); decoding feeds back the model's
own choice, through helpers.decoding (greedy and beam search). The decoder step also
exists in numpy, forward and backward, checked against torch in tests/test_captioning.py.
"""
from __future__ import annotations

import numpy as np

from . import decoding, scenes
from .checks import Case, Stop, Verdict, compare

MODES = ("h0", "input")
MAX_LEN = scenes.MAX_WORDS + 1        # decoding stops at <eos> or after this many words


# -- torch model -------------------------------------------------------------------
STAGE = [1 * 3 + 0, 1 * 3 + 1, 1 * 3 + 2, 0 * 3 + 1, 2 * 3 + 1]   # grid cells left, centre, right, top, bottom


def cell_patches(x):
    """Cut pictures (B, C, S, S) into the 5 stage cells: (B, 5, C, S/3, S/3)."""
    B, C, S = x.shape[0], x.shape[1], x.shape[-1]
    c = S // 3
    p = x.reshape(B, C, 3, c, 3, c).permute(0, 2, 4, 1, 3, 5).reshape(B, 9, C, c, c)
    return p[:, STAGE]


def make_model(K: int = 16, E: int = 16, H: int = 128, mode: str = "input", seed: int = 0, dtype=None,
               F: int = 32, streams: bool = True, Kc: int = 6):
    """Encoder (one small network for every stage cell: picture -> v, K numbers per cell) and
    GRU decoder; the weights come from `seed` (the global generator is left as it was).

    With streams, a cell's K numbers are Kc from a colour stream (a layer on each pixel's colour,
    then the max over the cell's pixels) and K - Kc from a form stream (a layer of F units on the
    grey cell: the brightest channel of each pixel). Without, one layer of F units sees the RGB cell.
    """
    import torch
    from torch import nn

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    V, D = len(scenes.WORDS), len(STAGE) * K
    cell = scenes.SIZE // 3

    class Captioner(nn.Module):
        def __init__(self):
            super().__init__()
            self.mode, self.D, self.E, self.H, self.K, self.Kc, self.streams = mode, D, E, H, K, Kc, streams
            Kf = K - Kc if streams else K
            self.form_in = nn.Linear((1 if streams else 3) * cell * cell, F)   # form stream, the whole cell
            self.form_out = nn.Linear(F, Kf)
            if streams:
                self.colour_in = nn.Linear(3, 8)                            # colour stream, per pixel
                self.colour_out = nn.Linear(8, Kc)
            self.emb = nn.Embedding(V, E)
            self.init = nn.Linear(D, H)                                     # used by mode "h0"
            self.gru = nn.GRU(E + (D if mode == "input" else 0), H, batch_first=True)
            self.out = nn.Linear(H, V)

        def encode(self, images):
            """Pictures (B, 3, S, S) -> vectors v (B, D): K numbers for each of the 5 stage cells."""
            x = cell_patches((images - 0.1) * 4)                            # (B, 5, 3, c, c), background near 0
            grey = x.amax(2) if streams else x                              # (B, 5, c, c) grey: the hue is gone
            code = self.form_out(torch.relu(self.form_in(grey.flatten(2))))  # (B, 5, Kf)
            if streams:
                pixels = torch.relu(self.colour_in(x[..., ::2, ::2].flatten(3).transpose(2, 3)))  # (B, 5, c*c/4, 8)
                code = torch.cat([self.colour_out(pixels.amax(2)), code], -1)      # (B, 5, K)
            return code.reshape(images.shape[0], D)

        def h0(self, v):
            """The decoder's first state from v: (1, B, H)."""
            if self.mode == "h0":
                return torch.tanh(self.init(v))[None]
            return torch.zeros(1, v.shape[0], self.H, dtype=v.dtype)

        def forward(self, images, inputs):
            """Teacher forcing: scores o (B, T, V) for the next word after each input word (B, T)."""
            v = self.encode(images)                                         # (B, D)
            x = self.emb(inputs)                                            # (B, T, E)
            if self.mode == "input":
                x = torch.cat([x, v[:, None].expand(-1, x.shape[1], -1)], dim=-1)   # (B, T, E + D)
            hs, _ = self.gru(x, self.h0(v))                                 # (B, T, H)
            return self.out(hs)

    from .training import seeded_torch
    with seeded_torch(seed):                                # the global generator is untouched
        model = Captioner()
    model.config = dict(K=K, E=E, H=H, mode=mode, seed=seed, dtype=dtype, F=F, streams=streams, Kc=Kc)
    return model.to(dtype) if dtype is not None else model


def greedy_batch(model, images, max_len: int = MAX_LEN) -> list[list[int]]:
    """Greedy decoding of many pictures at once in torch (the same captions as decoding.greedy)."""
    import torch

    eos = scenes.INDEX[scenes.EOS]
    with torch.no_grad():
        v = model.encode(torch.as_tensor(images, dtype=next(model.parameters()).dtype))   # (B, D)
        h, token = model.h0(v), torch.full((len(v), 1), scenes.INDEX[scenes.BOS])
        out = []
        for _ in range(max_len):
            x = model.emb(token)                                            # (B, 1, E)
            if model.mode == "input":
                x = torch.cat([x, v[:, None]], -1)
            o, h = model.gru(x, h)
            token = model.out(o).argmax(-1)                                 # (B, 1)
            out.append(token)
    rows = torch.cat(out, 1).tolist()                                       # (B, max_len)
    return [row[:row.index(eos)] if eos in row else row for row in rows]


def batch_loss(model, images, ids):
    """Teacher forcing: mean cross-entropy of each next word given the true words before it."""
    import torch
    import torch.nn.functional as F

    ids = torch.as_tensor(ids)                                              # (B, T + 1) <bos> ... <eos> <pad>...
    o = model(torch.as_tensor(images), ids[:, :-1])                        # (B, T, V)
    return F.cross_entropy(o.reshape(-1, o.shape[-1]), ids[:, 1:].reshape(-1),
                           ignore_index=scenes.INDEX[scenes.PAD])


def train(model, data: dict, steps: int = 500, batch: int = 32, lr: float = 1e-2, seed: int = 0,
          live: bool = True, validate=None, every: int = 50, clip: float | None = 1.0,
          snapshots: tuple = ()) -> dict:
    """Teacher-forced training on random mini-batches of data (images, ids) with fit_torch.

    The learning rate falls linearly from lr to 0 over the steps. For each s in snapshots,
    history["snapshots"][s] holds a copy of the weights after s steps.
    """
    import torch

    from .training import fit_torch

    images, ids = torch.as_tensor(data["images"]), data["ids"]
    if images.ndim != 4 or images.shape[1:] != (3, scenes.SIZE, scenes.SIZE):
        raise ValueError(f"images must have shape (N, 3, {scenes.SIZE}, {scenes.SIZE}), got {tuple(images.shape)}")
    rng, saved = np.random.default_rng(seed), {}

    def loss(m, step):
        if step - 1 in snapshots:                                          # after step - 1 updates
            saved[step - 1] = {k: t.detach().clone() for k, t in m.state_dict().items()}
        idx = rng.integers(len(images), size=batch)
        T = int((ids[idx] != scenes.INDEX[scenes.PAD]).sum(1).max())       # drop all-padding columns
        return batch_loss(m, images[idx], ids[idx, :T])

    history = fit_torch(model, loss, steps, lr=lambda done: lr * (1 - done / steps), live=live, every=every,
                        validate=validate, clip=clip,
                        desc=f"captioner, v {'at every step' if model.mode == 'input' else 'as h_0'}")
    if steps in snapshots:
        saved[steps] = {k: t.detach().clone() for k, t in model.state_dict().items()}
    history["snapshots"] = saved
    return history


def with_weights(model, state: dict):
    """A new model built like `model`, holding the weights `state` (a state_dict)."""
    copy = make_model(**model.config)
    copy.load_state_dict(state)
    return copy.eval()


def teacher_forced_accuracy(model, data: dict) -> float:
    """Share of caption words right when every previous word given is the true one (no free running)."""
    import torch

    ids = torch.as_tensor(data["ids"])
    with torch.no_grad():
        pred = model(torch.as_tensor(data["images"]), ids[:, :-1]).argmax(-1)   # (B, T)
    target = ids[:, 1:]
    mask = target > scenes.INDEX[scenes.EOS]                                # words, not <pad> or <eos>
    return float((pred == target)[mask].float().mean())


def encode_images(model, images) -> np.ndarray:
    """The vectors v (B, D) of pictures (B, 3, S, S), as numpy."""
    import torch

    if images.ndim != 4 or tuple(images.shape[1:]) != (3, scenes.SIZE, scenes.SIZE):
        raise ValueError(f"images must have shape (B, 3, {scenes.SIZE}, {scenes.SIZE}), got {tuple(images.shape)}")
    with torch.no_grad():
        return model.encode(torch.as_tensor(images, dtype=next(model.parameters()).dtype)).numpy()


# -- the decoder step in numpy ------------------------------------------------------
def numpy_params(model) -> dict[str, np.ndarray]:
    """The decoder's weights as float64 numpy arrays (torch names, GRU gate order r, z, n)."""
    g = model.gru
    get = lambda t: t.detach().double().numpy().copy()
    return {"emb": get(model.emb.weight), "W_ih": get(g.weight_ih_l0), "W_hh": get(g.weight_hh_l0),
            "b_ih": get(g.bias_ih_l0), "b_hh": get(g.bias_hh_l0), "W_vh": get(model.init.weight),
            "b_vh": get(model.init.bias), "W_hy": get(model.out.weight), "b_y": get(model.out.bias)}


def sigmoid(z):
    """1 / (1 + exp(-z))."""
    return 1 / (1 + np.exp(-z))


def log_softmax(o):
    """log of softmax(o) over the last axis, computed stably."""
    o = o - o.max(axis=-1, keepdims=True)
    return o - np.log(np.exp(o).sum(axis=-1, keepdims=True))


def initial_state(p: dict, v: np.ndarray, mode: str) -> np.ndarray:
    """h_0 from the vector v (D,): tanh(W_vh v + b_vh) in mode 'h0', zeros in mode 'input'."""
    if mode == "h0":
        return np.tanh(p["W_vh"] @ v + p["b_vh"])
    return np.zeros(p["W_hh"].shape[1])


def decoder_step(p: dict, v: np.ndarray, h: np.ndarray, token: int, mode: str):
    """One decoder step: previous word and state h (H,) -> log y (V,) and the new h (H,)."""
    x = p["emb"][token]                                 # (E,)
    if mode == "input":
        x = np.concatenate([x, v])                      # (E + D,): the vector at every step
    H = h.shape[0]
    gi = p["W_ih"] @ x + p["b_ih"]                      # (3H,) input part of r, z, n
    gh = p["W_hh"] @ h + p["b_hh"]                      # (3H,) state part of r, z, n
    r = sigmoid(gi[:H] + gh[:H])                        # reset gate
    z = sigmoid(gi[H:2 * H] + gh[H:2 * H])              # update gate
    n = np.tanh(gi[2 * H:] + r * gh[2 * H:])            # candidate state
    h_new = (1 - z) * n + z * h
    o = p["W_hy"] @ h_new + p["b_y"]                    # (V,) scores
    return log_softmax(o), h_new


def step_function(p: dict, v: np.ndarray, mode: str):
    """step(state, token) -> (log_probs, new_state) for helpers.decoding, for one picture's v."""
    D = p["W_vh"].shape[1]
    if v.shape != (D,):
        raise ValueError(f"v must have shape ({D},), got {v.shape}")
    return lambda h, token: decoder_step(p, v, h, token, mode)


def caption_ids(p: dict, v: np.ndarray, mode: str, width: int = 1) -> tuple[list[int], float]:
    """Decode one vector: greedy if width == 1, beam search otherwise; (word ids, log-prob)."""
    step, h0 = step_function(p, v, mode), initial_state(p, v, mode)
    bos, eos = scenes.INDEX[scenes.BOS], scenes.INDEX[scenes.EOS]
    if width == 1:
        return decoding.greedy(step, h0, bos, eos, MAX_LEN)
    return decoding.beam_search(step, h0, bos, eos, MAX_LEN, width)


def decoder_step_backward(p: dict, v, h, token: int, mode: str, target: int) -> tuple[float, dict]:
    """Loss -log y[target] of one step and its gradients (params, 'h', 'v') by the chain rule."""
    x = p["emb"][token]
    if mode == "input":
        x = np.concatenate([x, v])
    H = h.shape[0]
    gi, gh = p["W_ih"] @ x + p["b_ih"], p["W_hh"] @ h + p["b_hh"]
    r, z = sigmoid(gi[:H] + gh[:H]), sigmoid(gi[H:2 * H] + gh[H:2 * H])
    n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
    h_new = (1 - z) * n + z * h
    logy = log_softmax(p["W_hy"] @ h_new + p["b_y"])
    do = np.exp(logy)
    do[target] -= 1                                     # d(-log y[target]) / d o
    dh_new = p["W_hy"].T @ do
    dn, dz = dh_new * (1 - z), dh_new * (h - n)
    da_n = dn * (1 - n**2)                              # through tanh
    dr = da_n * gh[2 * H:]
    da_r, da_z = dr * r * (1 - r), dz * z * (1 - z)     # through the sigmoids
    dgi = np.concatenate([da_r, da_z, da_n])            # (3H,)
    dgh = np.concatenate([da_r, da_z, da_n * r])
    dx = p["W_ih"].T @ dgi
    g = {k: np.zeros_like(val) for k, val in p.items()}
    g.update(W_hy=np.outer(do, h_new), b_y=do, W_ih=np.outer(dgi, x), b_ih=dgi,
             W_hh=np.outer(dgh, h), b_hh=dgh)
    g["emb"][token] += dx[:p["emb"].shape[1]]
    g["h"] = dh_new * z + p["W_hh"].T @ dgh
    g["v"] = dx[p["emb"].shape[1]:] if mode == "input" else np.zeros_like(v)
    return float(-logy[target]), g


# -- evaluation ---------------------------------------------------------------------
def word_accuracy(pred: list[int], ref: list[int]) -> tuple[int, int]:
    """(words equal at the same position, max of the two lengths): extra or missing words count as wrong."""
    same = sum(a == b for a, b in zip(pred, ref))
    return same, max(len(pred), len(ref))


def evaluate(model, data: dict, width: int = 1, limit: int | None = None) -> dict:
    """Exact-caption and word accuracy of free-running decoding (greedy or beam) on a split.

    Greedy runs on all pictures at once in torch (greedy_batch: the same captions as the numpy
    decoder, tested); a beam runs picture by picture through decoding.beam_search in numpy.
    """
    n = len(data["images"]) if limit is None else min(limit, len(data["images"]))
    if width == 1:
        preds = greedy_batch(model, data["images"][:n])
    else:
        p, vs = numpy_params(model), encode_images(model, data["images"][:n]).astype(np.float64)
        preds = [caption_ids(p, v, model.mode, width)[0] for v in vs]
    exact, same, total = 0, 0, 0
    for pred, ids in zip(preds, data["ids"][:n]):
        ref = [int(t) for t in ids if t > scenes.INDEX[scenes.EOS]]
        exact += pred == ref
        s, t = word_accuracy(pred, ref)
        same, total = same + s, total + t
    return {"exact": exact / n, "words": same / total, "n": n, "preds": preds}


def mistakes(result: dict, data: dict, k: int = 5) -> list[tuple[str, str]]:
    """Up to k (reference, prediction) caption pairs that differ."""
    out = []
    for pred, ids in zip(result["preds"], data["ids"]):
        ref = scenes.decode(ids)
        if scenes.decode(pred) != ref:
            out.append((" ".join(ref), " ".join(scenes.decode(pred))))
        if len(out) == k:
            break
    return out


# -- exercises ----------------------------------------------------------------------
def _random_decoder(seed: int, V: int = 7, H: int = 5):
    """A random GRU decoder step (numpy, mode 'input') with its v and h_0, for exercise checks."""
    rng = np.random.default_rng(seed)
    E, D = 3, 4
    p = {"emb": rng.normal(0, 1, (V, E)), "W_ih": rng.normal(0, 1, (3 * H, E + D)),
         "W_hh": rng.normal(0, 1, (3 * H, H)), "b_ih": rng.normal(0, 1, 3 * H), "b_hh": rng.normal(0, 1, 3 * H),
         "W_hy": rng.normal(0, 2, (V, H)), "b_y": rng.normal(0, 1, V),
         "W_vh": rng.normal(0, 1, (H, D)), "b_vh": np.zeros(H)}
    v = rng.normal(0, 1, D)
    return step_function(p, v, "input"), np.zeros(H)


class _CountedStep:
    """A decoder step that stops a learner's loop (checks.Stop) once it is called more than max_len times."""

    def __init__(self, step, max_len: int):
        self.step, self.max_len, self.calls = step, max_len, 0

    def __call__(self, state, token):
        self.calls += 1
        if self.calls > self.max_len:
            raise Stop(f"it called step more than max_len = {self.max_len} times: stop after max_len steps, "
                       f"even when <eos> has not come")
        return self.step(state, token)


# (decoder seed, max_len): tokens before <eos> 3, 1, 0, 5 (<eos> at step max_len), 2; then 3 tokens
# cut at max_len, and a decoder that never says <eos>.
_GREEDY_CASES = ((180, 10), (0, 6), (36, 5), (82, 6), (226, 8), (139, 3), (1, 4))


def _explain_greedy(got, want, args) -> str | None:
    """A diagnosis for a wrong (tokens, score): <eos> or bos kept, one token too many, the score."""
    _, _, bos, eos, max_len = args
    try:
        tokens, score = [int(t) for t in got[0]], float(got[1])
    except Exception:  # noqa: BLE001 - not readable as (tokens, score): the generic message says why
        return None
    ref, ref_score = list(want[0]), want[1]
    if tokens == ref + [eos]:
        return "It keeps <eos> at the end: stop at <eos> without appending it"
    if tokens == [bos] + ref:
        return "It keeps bos at the start: the tokens start with the first one chosen"
    if len(tokens) == len(ref) + 1 and tokens[:-1] == ref:
        return "One token too many: kept <eos>, or one step past max_len?"
    if tokens == ref and abs(score - ref_score) > 1e-6 and len(ref) == max_len - 1:
        return ("The tokens are right but the score misses a step: here <eos> comes at step max_len, so "
                "the loop must run max_len times (and add the log-probability of <eos>)")
    if tokens == ref and abs(score - ref_score) > 1e-6:
        return ("The tokens are right, the score is not: add log_probs[token] for every token chosen, "
                "the final <eos> included (a sum of log-probabilities, not of probabilities)")
    return None


def check_greedy(student) -> Verdict:
    """Exercise (07): greedy(step, state, bos, eos, max_len) -> (tokens, total log-prob)."""
    cases = []
    for seed, max_len in _GREEDY_CASES:
        step, h0 = _random_decoder(seed)
        note = "" if seed not in (139, 1) else "(In this case <eos> does not come within max_len steps.)"
        cases.append(Case((_CountedStep(step, max_len), h0, 0, 1, max_len), note))
    return compare(student, decoding.greedy, cases, name="greedy", outputs=("tokens", "score"),
                   explain=_explain_greedy, hints=(
        "one loop of at most max_len steps: call step, pick the most probable token, add its log-probability "
        "to the score, and stop at eos (not kept). Return (tokens, score).",
        "token = bos; for each of max_len steps: log_probs, state = step(state, token); token = "
        "int(np.argmax(log_probs)); score += log_probs[token]; break if token == eos, else tokens.append(token).",
        "tokens, score, token = [], 0.0, bos; for _ in range(max_len): log_probs, state = step(state, token); "
        "token = int(np.argmax(log_probs)); score += float(log_probs[token]); if token == eos: break; "
        "tokens.append(token); (after the loop) return tokens, score"))


def understanding(model=None) -> dict:
    """The closing questions of notebook 07 with their answers, computed (helpers.quiz)."""
    from . import quiz

    model = model or make_model()
    E, D = model.E, model.D
    return {
        "x_t size, v at every step": quiz.Number(E + D, 0.5, [
            "x_t is what the GRU reads at one step: the previous word's embedding, and in this mode v too.",
            f"The embedding has E = {E} numbers and v has D = {D}: put them side by side."]),
        "x_t size, v only as h_0": quiz.Number(E, 0.5, [
            "With v only in h_0, what is left for x_t to carry at each step?",
            "Only the embedding of the previous word."]),
        "all teacher-forced words right: greedy caption right?": quiz.Choice("yes", ["yes", "no", "it depends"], [
            "Greedy's first step reads <bos>, exactly as under teacher forcing. What does it pick?",
            "If the top word is the true one at every step given a true past, greedy's past stays true "
            "step after step."]),
    }
