"""Sequence to sequence: a GRU encoder reads English words, a GRU decoder writes German characters.

The encoder's last real state is the context C (B, H). The decoder starts from C
(h_0 = C) *and* reads C again at every step, next to the previous character: over some
forty character steps the initial state alone gets overwritten, while an input at every
step keeps the source in reach (Cho et al., 2014, "Learning phrase representations using
RNN encoder-decoder"). The attention decoder adds Luong et al.'s (2015) "general"
attention on top: at step t the decoder output s_t scores every encoder state h_j,
e_tj = s_t . W_a h_j, PAD positions get weight 0, and the weighted context feeds the
output layer.

Padding: the encoder runs on packed sequences, so C is the state after the last real
word, never after a PAD; the loss ignores PAD targets. Both are proved in tests.
The same networks are written again in numpy (encode_np, decoder_step_np) for the widget,
for beam search and for the tests that compare them with torch.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .checks import Case, Mistake, Verdict, compare

PAD_ID, BOS_ID, EOS_ID = 0, 1, 2     # the target vocabulary's first three ids (helpers.translation)
MAX_LEN = 48                          # longest German output decoded (the data's longest is 42 + <eos>)


def _torch():
    import torch

    return torch


@contextmanager
def single_thread():
    """Run torch on one thread inside the block, then restore the thread count.

    These GRUs are small (a batch of 64 x 64 units): an op is over before a second thread
    has started, and on a busy 2-core machine waiting for it made training several times slower.
    """
    torch = _torch()
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def make_model(src_vocab_size: int, tgt_vocab_size: int, E: int = 32, H: int = 64,
               attention: bool = False, seed: int = 0, c_every_step: bool = True):
    """A Seq2Seq torch module (encoder GRU, decoder GRU, optional attention); C as s_0, and as an input at every step if c_every_step."""
    torch = _torch()
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(src_vocab_size, E, padding_idx=PAD_ID)
            self.gru = nn.GRU(E, H, batch_first=True)

        def forward(self, x, x_len):
            """States (B, S, H), zero at PAD, and C (B, H): the state after each row's last word."""
            packed = pack_padded_sequence(self.emb(x), x_len.cpu(), batch_first=True, enforce_sorted=False)
            out, h_n = self.gru(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
            return out, h_n[0]

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(tgt_vocab_size, E, padding_idx=PAD_ID)
            self.gru = nn.GRU(E + H if c_every_step else E, H, batch_first=True)
            self.attention, self.c_every_step = attention, c_every_step
            if attention:
                self.W_a = nn.Linear(H, H, bias=False)
                self.W_c = nn.Linear(2 * H, H)
            self.out = nn.Linear(H, tgt_vocab_size)

        def forward(self, y_in, C, h0, enc_out=None, src_mask=None):
            """Logits (B, T, V), last state (B, H), attention (B, T, S) or None.

            Not packed: steps after a row's end run on PAD, but they come *after* every real
            step (they cannot change it) and their targets are PAD, which the loss skips.
            """
            B, T = y_in.shape
            inp = self.emb(y_in)                                                      # (B, T, E)
            if self.c_every_step:
                inp = torch.cat([inp, C[:, None, :].expand(B, T, H)], dim=-1)         # (B, T, E+H)
            s, h_n = self.gru(inp, h0[None])                                         # (B, T, H)
            alpha = None
            if self.attention:
                scores = s @ self.W_a(enc_out).transpose(1, 2)                       # (B, T, S)
                scores = scores.masked_fill(~src_mask[:, None, :], float("-inf"))
                alpha = torch.softmax(scores, dim=-1)                                # (B, T, S)
                s = torch.tanh(self.W_c(torch.cat([s, alpha @ enc_out], dim=-1)))   # (B, T, H)
            return self.out(s), h_n[0], alpha

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = Encoder(), Decoder()

        def forward(self, x, x_len, y_in):
            """Teacher-forced logits (B, T, V) and attention (B, T, S) or None."""
            check_batch(x, x_len, y_in)
            enc_out, C = self.encoder(x, x_len)
            logits, _, alpha = self.decoder(y_in, C, C, enc_out, source_mask(x_len, x.shape[1]))
            return logits, alpha

    from .training import seeded_torch
    with seeded_torch(seed):                     # seeded here, the global generator untouched
        return Seq2Seq()


def check_batch(x, x_len, y_in=None) -> None:
    """Raise ValueError unless x is (B, S), x_len (B,) with 1 <= x_len <= S, and y_in (B, T)."""
    if x.dim() != 2 or x_len.shape != (x.shape[0],):
        raise ValueError(f"expected x (B, S) and x_len (B,), got {tuple(x.shape)} and {tuple(x_len.shape)}")
    if len(x_len) and (int(x_len.min()) < 1 or int(x_len.max()) > x.shape[1]):
        raise ValueError(f"x_len must lie in [1, S={x.shape[1]}], got {x_len.tolist()}")
    if y_in is not None and (y_in.dim() != 2 or y_in.shape[0] != x.shape[0]):
        raise ValueError(f"expected y_in ({x.shape[0]}, T), got {tuple(y_in.shape)}")


def source_mask(x_len, S: int):
    """True where a source position holds a real word.  # (B, S)"""
    torch = _torch()
    return torch.arange(S)[None, :] < x_len[:, None]


def to_tensors(src, tgt=None):
    """Padded torch tensors x (B, S), x_len (B,) and, if tgt is given, y (B, T), y_len (B,)."""
    torch = _torch()
    from .translation import pad

    x, x_len = pad(src)
    out = [torch.from_numpy(x), torch.from_numpy(x_len)]
    if tgt is not None:
        y, y_len = pad(tgt)
        out += [torch.from_numpy(y), torch.from_numpy(y_len)]
    return tuple(out)


def loss(model, x, x_len, y, y_len):
    """Mean cross-entropy per real target character (PAD targets do not count).  x (B, S), y (B, T)"""
    torch = _torch()
    logits, _ = model(x, x_len, y[:, :-1])                            # predict y_1.. from y_0..
    target = y[:, 1:]                                                 # (B, T-1)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                             ignore_index=PAD_ID)


def batch_sampler(pairs, batch: int, seed: int = 0, weights=None):
    """batch_loss(model, step) for helpers.training.fit_torch: a fresh random batch each step."""
    torch = _torch()
    from .translation import pad

    x_all, xl_all = (torch.from_numpy(a) for a in pad(pairs.src))
    y_all, yl_all = (torch.from_numpy(a) for a in pad(pairs.tgt))
    rng = np.random.default_rng(seed)

    def batch_loss(model, step):
        idx = torch.from_numpy(rng.choice(len(pairs), batch, replace=False, p=weights))
        xl, yl = xl_all[idx], yl_all[idx]
        x, y = x_all[idx, :int(xl.max())], y_all[idx, :int(yl.max())]
        return loss(model, x, xl, y, yl)

    return batch_loss


def train(model, pairs, held_out=None, steps: int = 200, batch: int = 64, lr: float = 1e-2, seed: int = 0,
          live: bool = True, desc: str = "training"):
    """Train with Adam on batches that favour rare short numbers; held-out loss every 50 steps."""
    from .training import fit_torch
    from .translation import balanced_weights

    validate = None
    if held_out is not None:
        tensors = to_tensors(held_out.src[::8], held_out.tgt[::8])          # ~250 numbers across the range

        def validate(m):
            return loss(m, *tensors)

    sampler = batch_sampler(pairs, batch, seed, balanced_weights(pairs.source_lengths()))
    with single_thread():
        return fit_torch(model, sampler, steps, lr=lr, every=50, live=live, desc=desc, validate=validate, clip=1.0)


def train_side_by_side(models: dict, pairs, held_out=None, steps: int = 200, batch: int = 64, lr: float = 1e-2,
                       seed: int = 0) -> dict:
    """Train several models in place the same way (same batches, steps and lr), at once: {name: history}.

    helpers.training.side_by_side: two cores train two models at once (in processes of their
    own on Linux), and the result is the same as training them one after the other.
    """
    from .training import side_by_side

    return side_by_side({name: (lambda m=m, name=name: train(m, pairs, held_out, steps, batch, lr, seed,
                                                              live=False, desc=name))
                         for name, m in models.items()}, show=False, modules=models)


def subset(pairs, index):
    """The Pairs at some positions (a slice or an index array)."""
    from .translation import Pairs

    pick = np.arange(len(pairs))[index]
    return Pairs(pairs.numbers[pick], [pairs.english[i] for i in pick], [pairs.german[i] for i in pick],
                 [pairs.src[i] for i in pick], [pairs.tgt[i] for i in pick])


def final_state_without_packing(model, x):
    """The classic bug: run the encoder over the padded batch and take h_n, i.e. the state after the PADs.  # (B, H)"""
    torch = _torch()
    with torch.no_grad():
        _, h_n = model.encoder.gru(model.encoder.emb(x))
    return h_n[0]


def context_by_row(model, src) -> list[dict]:
    """For each source of one padded batch: its length, and how far C packed and h_n unpacked are from C alone."""
    torch = _torch()
    x, x_len = to_tensors(src)
    with torch.no_grad(), single_thread():
        _, C_packed = model.encoder(x, x_len)
        C_alone = torch.cat([model.encoder(*to_tensors([s]))[1] for s in src])
    C_bug = final_state_without_packing(model, x)
    return [{"English words": int(L), "PAD after it": int(x.shape[1] - L),
             "max |C packed - C alone|": float((C_packed[b] - C_alone[b]).abs().max()),
             "max |h_n not packed - C alone| (bug)": float((C_bug[b] - C_alone[b]).abs().max())}
            for b, L in enumerate(x_len.tolist())]


# -- decoding in torch (a whole batch at once) -----------------------------------------
def greedy_batch(model, x, x_len, max_len: int = MAX_LEN, C=None):
    """Greedy decoding of a batch; ids (B, T) and attention (B, T, S) or None, T <= max_len.

    Stops once every row has written <eos>.
    With C given (B, H) the encoder is skipped and the decoder starts from that context
    (plain decoder only): used to decode from contexts between two inputs.
    """
    torch = _torch()
    dec = model.decoder
    with torch.no_grad(), single_thread():
        if C is None:
            enc_out, C = model.encoder(x, x_len)
            mask = source_mask(x_len, x.shape[1])
        else:
            enc_out = mask = None
        h, token = C, torch.full((C.shape[0], 1), BOS_ID)
        ids, alphas, done = [], [], torch.zeros(C.shape[0], dtype=torch.bool)
        for _ in range(max_len):
            logits, h, alpha = dec(token, C, h, enc_out, mask)
            token = logits[:, -1].argmax(-1, keepdim=True)               # (B, 1)
            ids.append(token)
            if alpha is not None:
                alphas.append(alpha)
            done |= token[:, 0] == EOS_ID
            if done.all():                                               # every row has written <eos>
                break
        ids = torch.cat(ids, 1).numpy()
        return ids, (torch.cat(alphas, 1).numpy() if alphas else None)


def translate(model, src, tgt_vocab, batch: int = 1024) -> list[str]:
    """Greedy German for a list of source id arrays."""
    from .translation import decode_target

    out = []
    with single_thread():
        for i in range(0, len(src), batch):
            x, x_len = to_tensors(src[i:i + batch])
            ids, _ = greedy_batch(model, x, x_len)
            out += [decode_target(row, tgt_vocab) for row in ids]
    return out


def exact_match(predicted, reference) -> float:
    """Share of outputs equal to the reference, character for character."""
    return float(np.mean([p == r for p, r in zip(predicted, reference)]))


def accuracy_by_length(predicted, reference, lengths) -> dict[int, tuple[float, int]]:
    """Exact match per source length: {length: (accuracy, count)}."""
    lengths = np.asarray(lengths)
    ok = np.array([p == r for p, r in zip(predicted, reference)])
    return {int(L): (float(ok[lengths == L].mean()), int((lengths == L).sum())) for L in np.unique(lengths)}


def teacher_forced_accuracy(model, pairs) -> dict[str, float]:
    """Fed the true previous characters: share of characters right, and of sequences with all right."""
    torch = _torch()
    x, x_len, y, y_len = to_tensors(pairs.src, pairs.tgt)
    with torch.no_grad(), single_thread():
        logits, _ = model(x, x_len, y[:, :-1])
    target = y[:, 1:].numpy()
    real = target != PAD_ID
    right = (logits.argmax(-1).numpy() == target) & real
    return {"char": float(right.sum() / real.sum()),
            "sequence": float(np.mean(right.sum(1) == real.sum(1)))}


def edit_distance(a, b) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions turning a into b."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def teacher_vs_free(model, pairs) -> dict[str, float]:
    """Character errors fed the true prefix (teacher forcing) and fed its own output (free running).

    Per real target character (<eos> included): under teacher forcing the wrong predictions,
    free running the edit distance from the greedy output to the target. A number is exactly
    right free running if and only if no character is wrong under teacher forcing, so
    'exact' is one number; the difference is in how much one slip costs.
    """
    torch = _torch()
    x, x_len, y, _ = to_tensors(pairs.src, pairs.tgt)
    with torch.no_grad(), single_thread():
        logits, _ = model(x, x_len, y[:, :-1])
    target = y[:, 1:].numpy()
    real = target != PAD_ID
    tf_wrong = ((logits.argmax(-1).numpy() != target) & real).sum(1)                 # (B,)
    bad = tf_wrong > 0                                  # exactly the numbers free running gets wrong
    fr_wrong = np.zeros(len(bad), dtype=int)
    if bad.any():                                       # free running matters only where a slip happens
        ids, _ = greedy_batch(model, *to_tensors([pairs.src[i] for i in np.flatnonzero(bad)]))
        for row, i in zip(ids, np.flatnonzero(bad)):
            fr_wrong[i] = edit_distance(_until_eos(row), list(pairs.tgt[i][1:]))
    return {"exact": float(np.mean(~bad)), "teacher_forcing": float(tf_wrong.sum() / real.sum()),
            "free_running": float(fr_wrong.sum() / real.sum()),
            "tf_per_wrong_number": float(tf_wrong[bad].mean()) if bad.any() else 0.0,
            "fr_per_wrong_number": float(fr_wrong[bad].mean()) if bad.any() else 0.0}


def _until_eos(row) -> list[int]:
    """Ids up to and including the first <eos> (all of them if there is none)."""
    row = list(row)
    return row[:row.index(EOS_ID) + 1] if EOS_ID in row else row


def contexts(model, src) -> np.ndarray:
    """C for each source: (N, H)."""
    torch = _torch()
    x, x_len = to_tensors(src)
    with torch.no_grad(), single_thread():
        _, C = model.encoder(x, x_len)
    return C.numpy().astype(float)


def pca_2d(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Projection of rows of X (N, D) on its two main axes (N, 2), and the variance share of each."""
    Xc = X - X.mean(0)
    var, axes = np.linalg.eigh(Xc.T @ Xc)              # ascending eigenvalues of the scatter matrix
    top = axes[:, ::-1][:, :2]                          # (D, 2)
    return Xc @ top, var[::-1][:2] / var.sum()


def interpolate_contexts(model, src_a, src_b, tgt_vocab, steps: int = 9) -> list[tuple[float, str]]:
    """Decode from C = (1-a) C_A + a C_B for a from 0 to 1 (plain decoder)."""
    torch = _torch()
    C = contexts(model, [src_a, src_b])
    a = np.linspace(0, 1, steps)
    mixed = torch.tensor((1 - a)[:, None] * C[0] + a[:, None] * C[1], dtype=torch.float32)
    ids, _ = greedy_batch(model, None, None, C=mixed)
    from .translation import decode_target

    return [(float(ai), decode_target(row, tgt_vocab)) for ai, row in zip(a, ids)]


def beam_vs_greedy(model, pairs, predicted, tgt_vocab, width: int = 3, n_right: int = 50, seed: int = 0) -> dict:
    """Beam search (numpy) on every greedy error and on n_right greedy successes: how many it fixes and breaks."""
    from .decoding import beam_search
    from .translation import decode_target

    p = numpy_params(model)
    bad = [i for i, (q, g) in enumerate(zip(predicted, pairs.german)) if q != g]
    right = [i for i, (q, g) in enumerate(zip(predicted, pairs.german)) if q == g]
    good = [int(i) for i in np.random.default_rng(seed).choice(right, min(n_right, len(right)), replace=False)]
    beam = {}
    for i in bad + good:
        step, state = make_step(p, pairs.src[i])
        beam[i] = decode_target(beam_search(step, state, BOS_ID, EOS_ID, MAX_LEN, width)[0], tgt_vocab)
    return {"fixed": sum(beam[i] == pairs.german[i] for i in bad), "wrong": len(bad),
            "broken": sum(beam[i] != pairs.german[i] for i in good), "right": len(good)}


def digits_changed(a: int, b: int) -> int:
    """How many of the four digits (thousands, hundreds, tens, ones) differ between a and b."""
    return sum(x != y for x, y in zip(f"{int(a):04d}", f"{int(b):04d}"))


def digit_spread(xy: np.ndarray, numbers) -> dict[str, float]:
    """Share of the 2-D spread of the points (N, 2) explained by each digit's group means (0 to 1)."""
    numbers, total = np.asarray(numbers), ((xy - xy.mean(0)) ** 2).sum()
    out = {}
    for name, digit in (("ones", numbers % 10), ("tens", numbers // 10 % 10), ("hundreds", numbers // 100 % 10),
                        ("thousands", numbers // 1000)):
        means = np.array([xy[digit == d].mean(0) for d in digit])    # each point's group mean, (N, 2)
        out[name] = float(((means - xy.mean(0)) ** 2).sum() / total)
    return out


# -- check your understanding -------------------------------------------------------------
def understanding(exact: dict) -> dict:
    """The closing questions, answers computed: exact = {decoder name: held-out exact match}."""
    from .quiz import Choice, Number

    worse = min(["C at s_0 only", "C at every step"], key=lambda k: exact[k])
    return {
        "decoder input size": Number(32 + 64, 0, [
            "The decoder that reads C at every step gets [y_{t-1}; C] as its input x_t.",
            "Its size is the embedding size E of y_{t-1} plus the size H of C (E = 32, H = 64 here)."]),
        "step of C": Number(3, 0, [
            "With packing, the encoder stops at each row's own last word.",
            "C = h_S with S the number of real words, not the padded width."]),
        "worse decoder": Choice(worse, ["C at s_0 only", "C at every step"], [
            "Look at the three headlines 08.1-08.3 printed after training.",
            "Which decoder must carry C through every one of some forty updates of its state?"]),
    }


# -- the same networks in numpy ----------------------------------------------------------
def numpy_params(model) -> dict[str, np.ndarray]:
    """Every weight of a torch Seq2Seq as float64 numpy arrays, by the names the numpy code uses."""
    p = {}
    for name, value in model.state_dict().items():
        p[_SHORT_NAMES[name]] = value.detach().double().numpy().copy()
    return p


_SHORT_NAMES = {"encoder.emb.weight": "enc_emb", "decoder.emb.weight": "dec_emb",
                "decoder.out.weight": "W_hy", "decoder.out.bias": "b_y", "decoder.W_a.weight": "W_a",
                "decoder.W_c.weight": "W_c", "decoder.W_c.bias": "b_c",
                "encoder.gru.weight_ih_l0": "enc_W_ih", "encoder.gru.weight_hh_l0": "enc_W_hh",
                "encoder.gru.bias_ih_l0": "enc_b_ih", "encoder.gru.bias_hh_l0": "enc_b_hh",
                "decoder.gru.weight_ih_l0": "dec_W_ih", "decoder.gru.weight_hh_l0": "dec_W_hh",
                "decoder.gru.bias_ih_l0": "dec_b_ih", "decoder.gru.bias_hh_l0": "dec_b_hh"}


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z))."""
    return 0.5 * (1 + np.tanh(0.5 * z))


def gru_step(x, h, W_ih, W_hh, b_ih, b_hh):
    """One GRU step, torch's equations and gate order (r, z, n).  x (D,), h (H,) -> (H,)"""
    H = h.shape[-1]
    gi = W_ih @ x + b_ih                                   # (3H,)
    gh = W_hh @ h + b_hh                                   # (3H,)
    r = sigmoid(gi[:H] + gh[:H])                           # reset gate
    z = sigmoid(gi[H:2 * H] + gh[H:2 * H])                 # update gate
    n = np.tanh(gi[2 * H:] + r * gh[2 * H:])               # candidate state
    return (1 - z) * n + z * h


def encode_np(p: dict, src_ids) -> tuple[np.ndarray, np.ndarray]:
    """Encoder states h_1..h_S (S, H) of one unpadded source, and C = h_S (H,)."""
    src_ids = np.asarray(src_ids)
    if src_ids.ndim != 1 or len(src_ids) == 0:
        raise ValueError(f"src_ids must have shape (S,) with S >= 1, got {src_ids.shape}")
    h = np.zeros(p["enc_W_hh"].shape[1])
    states = []
    for i in src_ids:
        h = gru_step(p["enc_emb"][i], h, p["enc_W_ih"], p["enc_W_hh"], p["enc_b_ih"], p["enc_b_hh"])
        states.append(h)
    return np.array(states), h


def attention(s, enc_out, W_a, mask=None):
    """Luong 'general' attention: weights over source positions (S,) and the context (H,)."""
    if s.ndim != 1 or enc_out.ndim != 2 or enc_out.shape[1] != s.shape[0]:
        raise ValueError(f"expected s (H,) and enc_out (S, H), got {s.shape} and {enc_out.shape}")
    scores = enc_out @ (W_a.T @ s)                        # e_j = s . W_a h_j, (S,)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)          # PAD positions get weight 0
    alpha = np.exp(scores - scores.max())
    alpha = alpha / alpha.sum()                           # (S,)
    return alpha, alpha @ enc_out                         # (S,), (H,)


def log_softmax(o: np.ndarray) -> np.ndarray:
    """log(softmax(o)), shifted by the max for numerical safety."""
    z = o - o.max()
    return z - np.log(np.exp(z).sum())


def decoder_step_np(p: dict, token: int, h, C, enc_out=None):
    """One decoder step: log-probabilities of the next character (V,), new state (H,), attention (S,) or None."""
    x = p["dec_emb"][token]                                      # previous character: (E,)
    if p["dec_W_ih"].shape[1] > len(x):                          # the decoder that reads C at every step
        x = np.concatenate([x, C])                               # (E+H,)
    h = gru_step(x, h, p["dec_W_ih"], p["dec_W_hh"], p["dec_b_ih"], p["dec_b_hh"])  # (H,)
    s, alpha = h, None
    if "W_a" in p:                                               # the attention decoder
        alpha, ctx = attention(h, enc_out, p["W_a"])             # (S,), (H,)
        s = np.tanh(p["W_c"] @ np.concatenate([h, ctx]) + p["b_c"])
    o = p["W_hy"] @ s + p["b_y"]                                 # scores o_t: (V,)
    return log_softmax(o), h, alpha


def make_step(p: dict, src_ids):
    """(step, state) for helpers.decoding: step(state, token) -> (log_probs, new state)."""
    enc_out, C = encode_np(p, src_ids)

    def step(h, token):
        log_probs, h, _ = decoder_step_np(p, token, h, C, enc_out)
        return log_probs, h

    return step, C


def run_decoder_np(p: dict, src_ids, forced=None, max_len: int = MAX_LEN, top: int = 3) -> dict:
    """Decode one source step by step in numpy, free running, or fed `forced` ids (teacher forcing).

    Returns encoder states (S, H), C (H,), the output ids, the ids fed at each step (T,), the
    decoder states s_1..s_T (T, H), the top candidates and their probabilities at each step
    (T, top), and the attention (T, S) if the model has it.
    """
    enc_out, C = encode_np(p, src_ids)
    h, token, out, cand, probs, alphas, fed, hs = C, BOS_ID, [], [], [], [], [], []
    n = max_len if forced is None else len(forced) - 1
    for t in range(n):
        fed.append(token)
        log_probs, h, alpha = decoder_step_np(p, token, h, C, enc_out)
        hs.append(h)
        best = np.argsort(-log_probs, kind="stable")[:top]
        cand.append(best)
        probs.append(np.exp(log_probs[best]))
        alphas.append(alpha)
        out.append(int(best[0]))
        if forced is None and best[0] == EOS_ID:
            break
        token = int(best[0]) if forced is None else int(forced[t + 1])
    return {"states": enc_out, "C": C, "ids": np.array(out), "fed": np.array(fed), "dec_states": np.array(hs),
            "candidates": np.array(cand),
            "probs": np.array(probs), "attention": None if alphas[0] is None else np.array(alphas)}


# -- the attention step's backward, by hand ---------------------------------------------
def attention_output(p: dict, s, enc_out, mask=None) -> dict:
    """Forward of the attention read-out for one step: the cache backward needs."""
    alpha, ctx = attention(s, enc_out, p["W_a"], mask)
    u = np.concatenate([s, ctx])                          # (2H,)
    s_tilde = np.tanh(p["W_c"] @ u + p["b_c"])            # (H,)
    return {"s": s, "enc_out": enc_out, "alpha": alpha, "ctx": ctx, "u": u, "s_tilde": s_tilde}


def attention_backward(p: dict, cache: dict, d_s_tilde) -> dict:
    """Gradients of a loss w.r.t. W_a, W_c, b_c, s and enc_out, given dL/ds_tilde (H,)."""
    s, enc_out, alpha, u, st = cache["s"], cache["enc_out"], cache["alpha"], cache["u"], cache["s_tilde"]
    H = s.shape[0]
    dz = d_s_tilde * (1 - st ** 2)                        # through tanh
    du = p["W_c"].T @ dz                                  # (2H,)
    ds, dctx = du[:H].copy(), du[H:]
    d_alpha = enc_out @ dctx                              # ctx = alpha @ enc_out
    d_enc = np.outer(alpha, dctx)                         # (S, H)
    d_scores = alpha * (d_alpha - alpha @ d_alpha)        # through softmax (masked: alpha = 0 there)
    q = p["W_a"].T @ s                                    # scores = enc_out @ q
    d_enc += np.outer(d_scores, q)
    dq = enc_out.T @ d_scores                             # (H,)
    ds += p["W_a"] @ dq
    return {"W_a": np.outer(s, dq), "W_c": np.outer(dz, u), "b_c": dz, "s": ds, "enc_out": d_enc}


# -- exercise ------------------------------------------------------------------------------
def attention_weights(s, enc_out, W_a, mask):
    """Reference for the exercise: softmax over j of s . W_a h_j, zero where mask is False."""
    return attention(s, enc_out, W_a, mask)[0]


def _attention_no_renormalise(s, enc_out, W_a, mask):
    e = enc_out @ (W_a.T @ s)
    return np.exp(e - e.max()) / np.exp(e - e.max()).sum() * mask


def check_attention_weights(student) -> Verdict:
    """Exercise (08): attention weights over the source, with PAD positions masked out."""
    rng = np.random.default_rng(7)
    cases = []
    for S, real in ((3, 3), (5, 2), (7, 7), (4, 1), (6, 3)):
        H = 4
        mask = np.arange(S) < real
        enc = rng.normal(size=(S, H)) * mask[:, None]     # PAD states are zero, as packing leaves them
        cases.append((rng.normal(size=H), enc, rng.normal(size=(H, H)), mask))
    big = cases[2]
    cases.append(Case((40 * big[0], big[1], big[2], big[3]), "(This case has scores in the hundreds.)"))
    wrong = [Mistake(lambda s, enc, W, m: attention_weights(s, enc, W, None),
                     "PAD positions get weight above 0: set their scores to -inf before the softmax (a zero PAD "
                     "state still scores 0, and exp(0) = 1)"),
             Mistake(lambda s, enc, W, m: attention_weights(s, enc, W.T, m),
                     "it uses W_a.T where W_a is needed: e_j = s @ W_a @ enc_out[j], for all j at once "
                     "enc_out @ (W_a.T @ s)"),
             Mistake(_attention_no_renormalise, "it zeroes the PAD weights after the softmax, so the rest no "
                     "longer add up to 1: mask the scores (-inf) before the softmax instead")]
    return compare(student, attention_weights, cases, name="attention_weights", mistakes=wrong, overflow=True,
                   hints=(
        "a score e_j = s . W_a h_j for every source position j, then a softmax over j; PAD positions "
        "(mask False) must end with weight exactly 0, so mask the scores (-inf), not the states.",
        "e = enc_out @ (W_a.T @ s); e = np.where(mask, e, -np.inf); alpha = exp(e - e.max()) / its sum.",
        "e = np.where(mask, enc_out @ (W_a.T @ s), -np.inf); a = np.exp(e - e.max()); return a / a.sum()"))
