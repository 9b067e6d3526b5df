"""Notebook 10: batches of sequences of unequal length: padding, masks, packing, and their bugs.

A batch of B sequences of lengths L_b is stored as one padded tensor (B, T) with
T = max L_b, a mask (B, T) saying which entries are real, and for torch's RNNs a
``PackedSequence`` (torch.nn.utils.rnn.pack_padded_sequence) that feeds, step by step,
only the rows still running. The classic bugs (final state from a PAD step, PAD counted
in the loss, a backward pass that starts on padding) are reproduced here with numbers.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import bidirectional as bd
from . import surnames
from .checks import Mistake, Verdict, compare

PAD = surnames.INDEX[surnames.PAD]   # 0


# -- padding, masks, packing ---------------------------------------------------------------
def pad(seqs, pad_id: int = PAD):
    """Padded ids (B, T), lengths (B,) and mask (B, T) (True where real) for a list of 1-D sequences."""
    if len(seqs) == 0:
        raise ValueError("pad needs at least one sequence")
    lengths = np.array([len(s) for s in seqs])
    if lengths.min() < 1:
        raise ValueError(f"every sequence needs at least one step, got lengths {lengths.tolist()}")
    ids = np.full((len(seqs), lengths.max()), pad_id, dtype=np.int64)
    for b, s in enumerate(seqs):
        ids[b, :len(s)] = s
    mask = np.arange(lengths.max())[None, :] < lengths[:, None]
    return ids, lengths, mask


def packed_order(lengths):
    """The (row, step) of each row of packed.data, and batch_sizes: step by step, longest rows first."""
    lengths = np.asarray(lengths)
    rows = np.argsort(-lengths, kind="stable")        # sorted_indices: longest first, ties in order
    order, batch_sizes = [], []
    for t in range(lengths.max()):
        alive = [b for b in rows if lengths[b] > t]   # the rows that still have a step t
        order += [(b, t) for b in alive]
        batch_sizes.append(len(alive))
    return np.array(order), np.array(batch_sizes)


def torch_packed_order(lengths):
    """The same as packed_order, read from torch's pack_padded_sequence of a tensor of cell numbers."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    lengths = np.asarray(lengths)
    B, T = len(lengths), int(lengths.max())
    cells = torch.arange(B * T).view(B, T)            # cell (b, t) holds the number b*T + t
    packed = pack_padded_sequence(cells, torch.as_tensor(lengths), batch_first=True, enforce_sorted=False)
    flat = packed.data.numpy()
    return np.stack([flat // T, flat % T], axis=1), packed.batch_sizes.numpy(), packed.sorted_indices.numpy()


@lru_cache(maxsize=1)
def _by_length() -> dict[int, tuple[str, ...]]:
    """Census surnames grouped by number of letters, most frequent first (read once, on first use)."""
    groups: dict[int, list[str]] = {}
    for n, _ in surnames.load_all():
        groups.setdefault(len(n), []).append(n)
    return {L: tuple(v) for L, v in sorted(groups.items())}


def names_of_lengths(lengths) -> list[str]:
    """A real surname for each requested number of letters: the most frequent ones, no repeats."""
    groups = _by_length()
    seen: dict[int, int] = {}
    out = []
    for L in lengths:
        if L not in groups:
            raise ValueError(f"no surname has {L} letters (they have {min(groups)} to {max(groups)})")
        i = seen.get(L, 0)
        seen[L] = i + 1
        out.append(groups[L][i % len(groups[L])])
    return out


# -- torch runs: padded (the bugs), packed (the fix), one by one (the truth) -------------------
def make_rnn(I: int = len(surnames.CHARS), H: int = 8, bidirectional: bool = False, num_layers: int = 1,
             batch_first: bool = True, seed: int = 0):
    """A float64 torch GRU with seeded weights."""
    import torch
    from torch import nn

    from .training import seeded_torch
    with seeded_torch(seed):                     # seeded here, the global generator untouched
        return nn.GRU(I, H, num_layers=num_layers, batch_first=batch_first, bidirectional=bidirectional).double()


def one_hot(ids) -> "torch.Tensor":
    """One-hot float64 inputs (B, T, V) for ids (B, T) (padding is id 0, a real one-hot row too)."""
    import torch

    return torch.nn.functional.one_hot(torch.as_tensor(ids), len(surnames.CHARS)).double()


def run_padded(rnn, ids):
    """The RNN over the padded batch as if every row were T long: output (B, T, D*H), h_n (L*D, B, H)."""
    import torch

    with torch.no_grad():
        return rnn(one_hot(ids))


def run_packed(rnn, ids, lengths):
    """The RNN over a packed batch: output (B, T, D*H) with zeros at padding, and h_n (L*D, B, H)."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    packed = pack_padded_sequence(one_hot(ids), torch.as_tensor(lengths), batch_first=True, enforce_sorted=False)
    with torch.no_grad():
        out, h_n = rnn(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
    return out, h_n


def run_one_by_one(rnn, seqs):
    """Each sequence alone, without padding: a list of outputs (L_b, D*H) and of h_n (L*D, H)."""
    import torch

    outs, finals = [], []
    with torch.no_grad():
        for s in seqs:
            out, h_n = rnn(one_hot(np.asarray(s)[None]))
            outs.append(out[0])
            finals.append(h_n[:, 0])
    return outs, finals


def final_state_bug(rnn, seqs) -> list[dict]:
    """Per sequence: how far each way of taking 'the final state' is from the true one (max |difference|)."""
    ids, lengths, _ = pad(seqs)
    out, h_n = run_padded(rnn, ids)
    _, h_n_packed = run_packed(rnn, ids, lengths)
    _, truth = run_one_by_one(rnn, seqs)
    rows = []
    for b, L in enumerate(lengths):
        true = truth[b][-1]
        rows.append({"length": int(L),
                     "output[:, -1] (bug)": float((out[b, -1] - true).abs().max()),
                     "h_n, padded run (bug)": float((h_n[-1, b] - true).abs().max()),
                     "output[b, L_b - 1] (fix)": float((out[b, L - 1] - true).abs().max()),
                     "h_n, packed run (fix)": float((h_n_packed[-1, b] - true).abs().max())})
    return rows


def backward_start_bug(rnn, seqs) -> list[dict]:
    """Per sequence, bidirectional rnn: max |difference| from running it alone, forward and backward halves."""
    ids, lengths, _ = pad(seqs)
    H = rnn.hidden_size
    out_pad, _ = run_padded(rnn, ids)
    out_pack, _ = run_packed(rnn, ids, lengths)
    truth, _ = run_one_by_one(rnn, seqs)
    rows = []
    for b, L in enumerate(lengths):
        d_pad = (out_pad[b, :L] - truth[b]).abs()
        d_pack = (out_pack[b, :L] - truth[b]).abs()
        rows.append({"length": int(L),
                     "h half, padded run": float(d_pad[:, :H].max()), "g half, padded run (bug)": float(d_pad[:, H:].max()),
                     "h half, packed": float(d_pack[:, :H].max()), "g half, packed (fix)": float(d_pack[:, H:].max())})
    return rows


def packed_vs_one_by_one(rnn, seqs) -> float:
    """Max |difference| between a packed run and one-by-one runs: every real output step and h_n."""
    ids, lengths, _ = pad(seqs)
    out, h_n = run_packed(rnn, ids, lengths)
    truth, finals = run_one_by_one(rnn, seqs)
    diffs = [float((out[b, :L] - truth[b]).abs().max()) for b, L in enumerate(lengths)]
    diffs += [float((h_n[:, b] - finals[b]).abs().max()) for b in range(len(seqs))]
    diffs += [float(out[b, L:].abs().max()) for b, L in enumerate(lengths) if L < ids.shape[1]]  # zeros at PAD
    return max(diffs)


def numpy_by_hand(rnn, seqs):
    """The fix by hand in numpy: state frozen on padding, g read within each row's length.  # (B, T, 2H)"""
    ids, lengths, _ = pad(seqs)
    X = np.eye(len(surnames.CHARS))[ids]
    pf, pb = bd.direction_to_numpy(rnn), bd.direction_to_numpy(rnn, reverse=True)
    h, g, _ = bd.bi_run(pf, pb, X, "gru", lengths)
    return np.concatenate([h, g], axis=-1), lengths


def markdown_table(rows: list[dict], fmt: str = "{:.1e}") -> str:
    """A list of dicts with the same keys as a Markdown table (floats formatted with fmt)."""
    keys = list(rows[0])
    cell = lambda v: fmt.format(v) if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


# -- the loss -------------------------------------------------------------------------------
def make_next_char(H: int = 32, seed: int = 0):
    """A small next-character model: GRU + linear read-out over the 29 ids (float32)."""
    import torch
    from torch import nn

    class NextChar(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(len(surnames.CHARS), H, batch_first=True)
            self.out = nn.Linear(H, len(surnames.CHARS))

        def forward(self, ids):                        # (B, T) -> (B, T, V)
            out, _ = self.rnn(nn.functional.one_hot(ids, len(surnames.CHARS)).float())
            return self.out(out)

    from .training import seeded_torch
    with seeded_torch(seed):                     # seeded here, the global generator untouched
        return NextChar()


def batch_loss(model, ids, count_pad: bool):
    """Mean cross-entropy of the next id over the batch; count_pad=True is the bug (PAD targets count)."""
    import torch
    from torch.nn import functional as F

    ids = torch.as_tensor(ids)
    logits = model(ids[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1),
                           ignore_index=-100 if count_pad else PAD)


def padded_to(ids: np.ndarray, T: int) -> np.ndarray:
    """The same batch with more PAD columns, T in all (as when padding to a fixed maximum)."""
    out = np.full((ids.shape[0], T), PAD, dtype=ids.dtype)
    out[:, :ids.shape[1]] = ids
    return out


def pad_loss_bug(model, names: list[str], extra_T: int = 25) -> dict:
    """The loss of the same names: one by one (truth), and as a batch with and without PAD counted."""
    import torch

    seqs = [surnames.encode(n) for n in names]
    ids, lengths, _ = pad(seqs)
    with torch.no_grad():
        per_name = [float(batch_loss(model, s[None], True)) * (len(s) - 1) for s in seqs]
        truth = sum(per_name) / float((lengths - 1).sum())
        out = {"one by one (truth)": truth}
        for T in (ids.shape[1], extra_T):
            x = padded_to(ids, T)
            out[f"PAD counted, padded to T={T} (bug)"] = float(batch_loss(model, x, True))
            out[f"PAD ignored, padded to T={T} (fix)"] = float(batch_loss(model, x, False))
    return out


def train_with_pad_bug(groups_names: list[str], steps: int = 120, batch: int = 64, H: int = 32, seed: int = 0,
                       live: bool = True):
    """Train a next-character model on padded batches of random names, PAD counted in the loss (the bug)."""
    from .training import fit_torch

    model = make_next_char(H, seed)
    rng = np.random.default_rng(seed)

    def loss(m, _step):
        pick = rng.integers(0, len(groups_names), batch)
        ids, _, _ = pad([surnames.encode(groups_names[i]) for i in pick])
        return batch_loss(m, ids, count_pad=True)

    history = fit_torch(model, loss, steps, lr=1e-2, every=20, live=live, desc="next-char GRU, PAD in the loss")
    return model, history


# -- shapes ---------------------------------------------------------------------------------
def trace_shapes(bidirectional: bool = False, num_layers: int = 1, batch_first: bool = True,
                 lengths=(5, 3, 2), I: int = 4, H: int = 3) -> list[tuple[str, tuple]]:
    """Every tensor's shape on the way through a packed torch GRU: [(expression, shape), ...]."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    B, T, D = len(lengths), max(lengths), 2 if bidirectional else 1
    rnn = make_rnn(I, H, bidirectional, num_layers, batch_first)
    x = torch.zeros((B, T, I) if batch_first else (T, B, I), dtype=torch.float64)
    rows = [("x (padded input)", tuple(x.shape)), ("lengths", (B,))]
    packed = pack_padded_sequence(x, torch.as_tensor(lengths), batch_first=batch_first, enforce_sorted=False)
    rows += [("packed.data", tuple(packed.data.shape)), ("packed.batch_sizes", tuple(packed.batch_sizes.shape))]
    out_packed, h_n = rnn(packed)
    out, _ = pad_packed_sequence(out_packed, batch_first=batch_first)
    rows += [("out_packed.data", tuple(out_packed.data.shape)), ("output (unpacked)", tuple(out.shape)),
             ("h_n", tuple(h_n.shape)), ("h_n.view(layers, directions, B, H)", (num_layers, D, B, H))]
    if bidirectional:
        rows += [("h_n[-2]  (last layer, forward)", tuple(h_n[-2].shape)),
                 ("h_n[-1]  (last layer, backward)", tuple(h_n[-1].shape)),
                 ("torch.cat([h_n[-2], h_n[-1]], dim=1)", (B, 2 * H)),
                 ("output[..., :H]  (forward h_t)", tuple(out[..., :H].shape)),
                 ("output[..., H:]  (backward g_t)", tuple(out[..., H:].shape))]
    else:
        rows += [("h_n[-1]  (last layer)", tuple(h_n[-1].shape))]
    return rows


def print_trace(rows) -> None:
    """The rows of trace_shapes, aligned."""
    width = max(len(name) for name, _ in rows)
    for name, shape in rows:
        print(f"{name:<{width}}  {shape}")


def bidirectional_layout(seqs, num_layers: int = 1, H: int = 4) -> dict[str, float]:
    """Which slice of a packed bidirectional GRU's output equals which h_n: max |difference| per claim."""
    import torch

    ids, lengths, _ = pad(seqs)
    rnn = make_rnn(H=H, bidirectional=True, num_layers=num_layers)
    out, h_n = run_packed(rnn, ids, lengths)
    B, last = len(seqs), torch.as_tensor(lengths) - 1
    at_last = out[torch.arange(B), last]               # (B, 2H): each row's last real step
    both = torch.cat([h_n[-2], h_n[-1]], dim=1)        # (B, 2H)
    d = lambda a, b: float((a - b).abs().max())
    return {"h_n[-2] == output[b, L_b - 1, :H]   (forward: its last real step)": d(h_n[-2], at_last[:, :H]),
            "h_n[-1] == output[b, 0, H:]         (backward: step 0, where it ends)": d(h_n[-1], out[:, 0, H:]),
            "h_n[-1] == output[b, L_b - 1, H:]   (wrong: where g starts)": d(h_n[-1], at_last[:, H:]),
            "cat(h_n[-2], h_n[-1]) == output[:, -1]  (wrong: a PAD column)": d(both, out[:, -1]),
            "cat(h_n[-2], h_n[-1]) == h_n[-2:].view(B, 2H)  (wrong: mixes rows)": d(both, h_n[-2:].reshape(B, 2 * H))}


# -- exercises ------------------------------------------------------------------------------
def last_states(out: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Each row's state at its last real step: out[b, lengths[b] - 1].  # (B, H)"""
    return out[np.arange(len(lengths)), np.asarray(lengths) - 1]


def masked_mean(losses: np.ndarray, lengths: np.ndarray) -> float:
    """Mean of per-step losses (B, T) over the real steps only."""
    mask = np.arange(losses.shape[1])[None, :] < np.asarray(lengths)[:, None]
    return float((losses * mask).sum() / mask.sum())


def _cases_with_lengths(seed: int, shapes):
    rng = np.random.default_rng(seed)
    cases = []
    for B, T, H in shapes:
        lengths = rng.integers(1, T + 1, B)
        lengths[0] = T                                  # the longest row fills the batch
        x = rng.normal(size=(B, T, H)) if H else rng.exponential(size=(B, T))
        cases.append((x, lengths))
    return cases


def check_last_states(student) -> Verdict:
    """Exercise (10): pick each row's final state from a padded output."""
    cases = _cases_with_lengths(9, [(4, 7, 3), (3, 5, 2), (1, 1, 2), (5, 6, 4)])
    wrong = [Mistake(lambda out, lengths: out[:, -1], "it takes the last column, T - 1, for every row; "
                     "for a row shorter than T that step is PAD"),
             Mistake(lambda out, lengths: out[np.arange(len(lengths)), np.minimum(np.asarray(lengths), out.shape[1] - 1)],
                     "it takes step lengths[b], one past the last real step")]
    return compare(student, last_states, cases, name="last_states", mistakes=wrong, hints=(
        "row b's last real step is lengths[b] - 1, not T - 1: the steps after it are PAD.",
        "pick one step per row with two index arrays of length B: out[np.arange(B), lengths - 1].",
        "return out[np.arange(len(lengths)), np.asarray(lengths) - 1]"))


def check_masked_mean(student) -> Verdict:
    """Exercise (10): a mean loss that ignores padding."""
    cases = _cases_with_lengths(10, [(3, 5, 0), (4, 7, 0), (1, 1, 0), (5, 6, 0)])
    wrong = [Mistake(lambda losses, lengths: float(losses.mean()), "it averages over all B * T steps, PAD included"),
             Mistake(lambda losses, lengths: masked_mean(losses, lengths) * (np.asarray(lengths).sum() / losses.size),
                     "it adds up the real steps only but divides by B * T; divide by the number of real steps"),
             Mistake(lambda losses, lengths: masked_mean(losses, lengths) * np.asarray(lengths).sum() / len(lengths),
                     "it divides by B, the number of rows; divide by the number of real steps")]
    return compare(student, masked_mean, cases, name="masked_mean", mistakes=wrong, hints=(
        "step t of row b is real when t < lengths[b]; add up the losses of the real steps only, and "
        "divide by how many real steps there are, not by B * T.",
        "build mask = np.arange(T)[None, :] < lengths[:, None] (shape (B, T)), then "
        "(losses * mask).sum() / mask.sum().",
        "mask = np.arange(losses.shape[1])[None, :] < np.asarray(lengths)[:, None]; "
        "return float((losses * mask).sum() / mask.sum())"))


# -- check your understanding -------------------------------------------------------------
def understanding() -> dict:
    """The closing questions of notebook 10, answers computed from the batch of lengths 5, 3, 7, 2."""
    from .quiz import Choice, Number

    lengths = np.array([5, 3, 7, 2])
    _, batch_sizes = packed_order(lengths)
    return {
        "PAD cells": Number(int(len(lengths) * lengths.max() - lengths.sum()), 0, [
            "The padded tensor is (B, T) with T the longest length; every cell that is not a real step is PAD.",
            "B * T cells in all, minus the sum of the lengths."]),
        "batch_sizes[3]": Number(int(batch_sizes[3]), 0, [
            "batch_sizes[t] counts the rows that still have a step t (steps counted from 0).",
            "Which of the lengths 5, 3, 7, 2 are greater than 3?"]),
        "backward h_n is output at": Choice("step 0", ["step 0", "the last real step", "the last column"], [
            "The backward direction reads each row from its end towards its start.",
            "h_n holds each direction's state where it finishes."]),
    }
