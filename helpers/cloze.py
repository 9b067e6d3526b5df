"""Notebook 09's two tasks on real surnames: fill a blank ("jo_nson"), and tag doubled letters.

A name is the tokens <s> x_1 .. x_L </s> (ids of helpers.surnames).

Cloze: the guess for letter x_k may use only states that never read x_k:

    forward-only:   h_{k-1}                 (the left context x_1 .. x_{k-1})
    bidirectional:  [h_{k-1} ; g_{k+1}]     (left context and right context x_{k+1} .. x_L)

so one pass over a name scores a guess for every letter at once. The bidirectional model
also has two extra read-outs, from h alone and from g alone, trained alongside, so the
widget can show what each side knows.

Tagging (the seed's picture: an output o_t at every step that reads [h_t; g_t]): tag each
letter 1 if it is one of a doubled pair ("ll" in "miller": both l's), else 0. The tag of the
first l depends on the letter after it, the tag of the second on the letter before it:

    forward-only:   o_t = W h_t + b               (has read x_1 .. x_t)
    bidirectional:  o_t = W [h_t ; g_t] + b       (has read the whole name)

Both tasks are read out of the same recurrent layer, trained on the sum of the losses (the
tagging loss weighted by TAG_WEIGHT).
Batches hold names of one length (no padding: notebook 10 is about padding). Models: torch
for training, a numpy twin for the widget and for the tests (same logits and gradients).
"""
from __future__ import annotations

import numpy as np

from . import bidirectional as bd
from . import surnames
from .live import figure_png, new_figure

V = len(surnames.CHARS)          # 29 input ids: pad, <s>, </s>, a-z (one-hot inputs)
LETTERS = surnames.ALPHABET      # the 26 possible answers; letter c has class INDEX[c] - 3
HEADS = {"uni": ("h",), "bi": ("hg", "h", "g")}   # cloze read-outs: from [h; g], from h, from g
TAG = "tag"                      # the tagging read-out of both kinds: o_t from h_t or [h_t; g_t]
TAG_WEIGHT = 3.0                 # the tagging loss counts 3 times: its 2-way losses are small
MODEL_NAMES = {"uni": "forward-only", "bi": "bidirectional"}
HEAD_LABELS = {"hg": "both (h and g)", "h": "h only (left)", "g": "g only (right)"}


# -- data ------------------------------------------------------------------------------
def by_length(names: list[str]) -> dict[int, np.ndarray]:
    """Names grouped by their number of letters L: ids (N_L, L + 2) with <s> and </s>."""
    groups: dict[int, list] = {}
    for n in names:
        groups.setdefault(len(n), []).append(surnames.encode(n))
    return {L: np.stack(groups[L]) for L in sorted(groups)}


def sampler(groups: dict[int, np.ndarray], batch: int, seed: int = 0):
    """A function step -> ids (B, L + 2): a length drawn in proportion to its names, then B of them."""
    rng = np.random.default_rng(seed)
    lengths = list(groups)
    p = np.array([len(groups[L]) for L in lengths], float)
    p /= p.sum()

    def draw(_step=None) -> np.ndarray:
        rows = groups[lengths[rng.choice(len(lengths), p=p)]]
        return rows[rng.integers(0, len(rows), batch)]

    return draw


def blanked(name: str, k: int) -> str:
    """The name with its k-th letter (1-based) shown as '_'."""
    return name[:k - 1] + "_" + name[k:]


def doubled(ids):
    """Tags of the letters of <s> x_1..x_L </s>: 1 where x_k equals x_{k-1} or x_{k+1}.  # (B, L)

    Works on numpy arrays and torch tensors alike (<s> and </s> never equal a letter).
    """
    if ids.ndim != 2 or ids.shape[1] < 3:
        raise ValueError(f"ids must have shape (B, L + 2) with L >= 1, got {tuple(ids.shape)}")
    x = ids[:, 1:-1]
    return ((x == ids[:, :-2]) | (x == ids[:, 2:])) * 1


def tags_text(name: str) -> str:
    """'miller' -> '001100': each letter's doubled-letter tag as a digit."""
    return "".join(str(int(t)) for t in doubled(surnames.encode(name)[None])[0])


# -- torch model -------------------------------------------------------------------------
def make_model(kind: str = "bi", H: int = 64, seed: int = 0):
    """A cloze model: a GRU over one-hot ids, forward-only ('uni') or bidirectional ('bi'), and read-outs."""
    import torch
    from torch import nn

    if kind not in HEADS:
        raise ValueError(f"kind must be 'uni' or 'bi', got {kind!r}")
    D = 2 if kind == "bi" else 1

    class Cloze(nn.Module):
        def __init__(self):
            super().__init__()
            self.kind, self.H = kind, H
            self.rnn = nn.GRU(V, H, batch_first=True, bidirectional=kind == "bi")
            self.heads = nn.ModuleDict({k: nn.Linear(2 * H if k == "hg" else H, 26) for k in HEADS[kind]})
            self.heads[TAG] = nn.Linear(D * H, 2)             # o_t from h_t, or from [h_t; g_t]

        def forward(self, ids):                               # ids: (B, L + 2)
            x = nn.functional.one_hot(ids, V).to(self.heads["h"].weight.dtype)
            out, _ = self.rnn(x)                              # (B, L + 2, D*H)
            h = out[:, :-2, :H]                               # h_{k-1} for letters k = 1..L
            feats = {"h": h, TAG: out[:, 1:-1]}               # tagging: h_k (and g_k) at letter k
            if self.kind == "bi":
                g = out[:, 2:, H:]                            # g_{k+1}
                feats.update(g=g, hg=torch.cat([h, g], dim=-1))
            return {k: self.heads[k](feats[k]) for k in self.heads}   # (B, L, 26) each; tag (B, L, 2)

    from .training import seeded_torch
    with seeded_torch(seed):                   # the global generator is left alone
        return Cloze()


def torch_loss(model, ids):
    """Sum over the read-outs of the mean cross-entropy of every letter's guess (cloze) and tag (x TAG_WEIGHT)."""
    import torch
    from torch.nn import functional as F

    ids = torch.as_tensor(ids)
    target = (ids[:, 1:-1] - 3).reshape(-1)                   # letters as classes 0..25
    out = model(ids)
    tag = F.cross_entropy(out.pop(TAG).reshape(-1, 2), doubled(ids).reshape(-1))
    return TAG_WEIGHT * tag + sum(F.cross_entropy(o.reshape(-1, 26), target) for o in out.values())


def train(kind: str, groups, steps: int = 250, batch: int = 128, H: int = 64, lr: float = 1e-2,
          seed: int = 0, live: bool = True, val_groups=None):
    """Train a cloze model with Adam for a fixed number of steps; returns (model, history)."""
    import torch

    from .training import fit_torch

    model = make_model(kind, H, seed)
    draw = sampler(groups, batch, seed)
    validate = None
    if val_groups is not None:
        val = {L: torch.as_tensor(x[:100]) for L, x in val_groups.items()}
        validate = lambda m: sum(float(torch_loss(m, x)) * len(x) for x in val.values()) / sum(
            len(x) for x in val.values())
    history = fit_torch(model, lambda m, step: torch_loss(m, draw(step)), steps, lr=lr, every=50,
                        live=live, desc=_desc(kind, H), validate=validate)
    return model, history


def _desc(kind: str, H: int) -> str:
    """The name of a cloze model in its training summary (the bi model's loss sums its read-outs)."""
    return f"{MODEL_NAMES[kind]} GRU, H={H}, loss summed over {len(HEADS[kind]) + 1} read-outs"


def accuracy(model, groups) -> dict:
    """Share of letters guessed right, per read-out, over every letter of every name in groups.

    Also 'top3': per read-out, the share with the right letter among its 3 likeliest;
    'by_position': for k = 1, 2, ... the accuracy at the k-th letter; 'names_by_position':
    how many names have a k-th letter; 'n': the number of letters.
    """
    import torch

    right: dict[str, np.ndarray] = {}
    top3 = dict.fromkeys(HEADS[model.kind], 0)
    count = np.zeros(max(groups) + 1)
    with torch.no_grad():
        for L, ids in groups.items():
            ids = torch.as_tensor(ids)
            target = ids[:, 1:-1] - 3                          # (N, L)
            count[1:L + 1] += len(ids)
            out = model(ids)
            for head in HEADS[model.kind]:
                logits = out[head]
                hits = (logits.argmax(-1) == target).sum(0).numpy()
                right.setdefault(head, np.zeros(len(count)))[1:L + 1] += hits
                top3[head] += int((logits.topk(3, dim=-1).indices == target[..., None]).sum())
    out = {head: float(r.sum() / count.sum()) for head, r in right.items()}
    out["top3"] = {head: hits / count.sum() for head, hits in top3.items()}
    out["by_position"] = {head: r[1:] / count[1:] for head, r in right.items()}
    out["names_by_position"] = count[1:].astype(int)
    out["n"] = int(count.sum())
    return out


def tag_scores(model, groups) -> dict:
    """Tagging over every letter of every name: accuracy; recall (doubled letters tagged 1), overall,
    on the first and on the second letter of each pair; and the accuracy of always tagging 0."""
    import torch

    n = right = zeros = 0
    found, pairs = np.zeros(3), np.zeros(3)           # [any doubled letter, first of a pair, second]
    with torch.no_grad():
        for ids in groups.values():
            ids = torch.as_tensor(ids)
            y, guess = doubled(ids), model(ids)[TAG].argmax(-1)      # (N, L) each
            n, right, zeros = n + y.numel(), right + int((guess == y).sum()), zeros + int((y == 0).sum())
            x = ids[:, 1:-1]
            for i, where in enumerate((y == 1, x == ids[:, 2:], x == ids[:, :-2])):
                pairs[i] += int(where.sum())
                found[i] += int((where & (guess == 1)).sum())
    recall = found / pairs
    return {"accuracy": right / n, "all_zero_accuracy": zeros / n, "recall": recall[0],
            "recall_first": recall[1], "recall_second": recall[2], "n": n, "doubled": int(pairs[0])}


def guesses(model, name: str, k: int, top: int = 3) -> dict:
    """For the k-th letter (1-based) of a name: per read-out, its `top` likeliest letters and their
    probabilities, [(letter, p), ...], best first."""
    import torch

    ids = torch.as_tensor(surnames.encode(name)[None])
    with torch.no_grad():
        out = model(ids)
    result = {}
    for head in HEADS[model.kind]:
        p = torch.softmax(out[head][0, k - 1].double(), -1)
        best = torch.argsort(p, descending=True)[:top]
        result[head] = [(LETTERS[int(i)], float(p[i])) for i in best]
    return result


def most_common_letter_accuracy(train_groups, test_groups) -> float:
    """A baseline that reads nothing: always guess the letter most common in the training names."""
    counts = sum(np.bincount(ids[:, 1:-1].ravel() - 3, minlength=26) for ids in train_groups.values())
    best = int(np.argmax(counts))
    hits = sum(int((ids[:, 1:-1] - 3 == best).sum()) for ids in test_groups.values())
    return hits / sum(ids[:, 1:-1].size for ids in test_groups.values())


# -- numpy twin --------------------------------------------------------------------------
def to_numpy(model) -> dict[str, np.ndarray]:
    """The torch model's weights as a flat dict of float64 arrays (keys as in np_forward)."""
    params = {f"{k}_f": v for k, v in bd.direction_to_numpy(model.rnn).items()}
    if model.kind == "bi":
        params.update({f"{k}_b": v for k, v in bd.direction_to_numpy(model.rnn, reverse=True).items()})
    for head in HEADS[model.kind] + (TAG,):
        lin = model.heads[head]
        params[f"W_{head}"] = lin.weight.detach().double().numpy().copy()   # (26 or 2, H or 2H)
        params[f"b_{head}"] = lin.bias.detach().double().numpy().copy()     # (26 or 2,)
    return params


def direction(params: dict, d: str) -> dict[str, np.ndarray]:
    """The four arrays of one direction ('f' or 'b') from the flat params."""
    return {k: params[f"{k}_{d}"] for k in bd.TORCH_NAMES}


def np_forward(params: dict, ids: np.ndarray) -> dict:
    """States h, g (B, L + 2, H) and the logits of every read-out (B, L, 26; tag (B, L, 2)), numpy."""
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.shape[1] < 3:
        raise ValueError(f"ids must have shape (B, L + 2) with L >= 1, got {ids.shape}")
    X = np.eye(V)[ids]                                         # (B, L + 2, V)
    h, cache_f = bd.run(direction(params, "f"), X)
    out = {"X": X, "h": h, "cache_f": cache_f, "logits": {}}
    feats = {"h": h[:, :-2], TAG: h[:, 1:-1]}                  # cloze reads h_{k-1}; tagging h_k
    if "W_xh_b" in params:                                     # bidirectional
        g, g_cache = bd.run(direction(params, "b"), X[:, ::-1])
        out.update(g=g[:, ::-1], cache_b=g_cache)
        feats.update(g=out["g"][:, 2:], hg=np.concatenate([h[:, :-2], out["g"][:, 2:]], axis=-1),
                     tag=np.concatenate([h[:, 1:-1], out["g"][:, 1:-1]], axis=-1))   # [h_k; g_k]
    for head, f in feats.items():
        out["logits"][head] = f @ params[f"W_{head}"].T + params[f"b_{head}"]
    out["feats"] = feats
    return out


def np_loss_and_grads(params: dict, ids: np.ndarray):
    """The summed mean cross-entropy of torch_loss, and its gradients by hand: (loss, grads)."""
    from .onestep import softmax

    ids = np.asarray(ids)
    fw = np_forward(params, ids)
    letters = ids[:, 1:-1] - 3                                 # (B, L) cloze targets
    B, L = letters.shape
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dfeat, loss = {}, 0.0
    for head, logits in fw["logits"].items():
        target, w = (doubled(ids), TAG_WEIGHT) if head == TAG else (letters, 1.0)
        p = softmax(logits)                                    # (B, L, 26 or 2)
        loss -= w * np.log(np.take_along_axis(p, target[..., None], -1)).mean()
        dlog = p.copy()
        np.put_along_axis(dlog, target[..., None], np.take_along_axis(p, target[..., None], -1) - 1, -1)
        dlog *= w / (B * L)
        f = fw["feats"][head]
        grads[f"W_{head}"] = np.einsum("blc,blh->ch", dlog, f)
        grads[f"b_{head}"] = dlog.sum((0, 1))
        dfeat[head] = dlog @ params[f"W_{head}"]               # (B, L, H or 2H)
    H = fw["h"].shape[2]
    dh = np.zeros_like(fw["h"])
    dh[:, :-2] += dfeat["h"] + (dfeat["hg"][..., :H] if "hg" in dfeat else 0)
    dh[:, 1:-1] += dfeat[TAG][..., :H]
    gf, _ = bd.run_backward(direction(params, "f"), fw["cache_f"], dh)
    grads.update({f"{k}_f": v for k, v in gf.items()})
    if "g" in fw:
        dg = np.zeros_like(fw["g"])
        dg[:, 2:] += dfeat["g"] + dfeat["hg"][..., H:]
        dg[:, 1:-1] += dfeat[TAG][..., H:]
        gb, _ = bd.run_backward(direction(params, "b"), fw["cache_b"], dg[:, ::-1])
        grads.update({f"{k}_b": v for k, v in gb.items()})
    return float(loss), grads


def np_predict(params: dict, name: str) -> dict:
    """For one name: h, g (L + 2, H) and, per read-out, the probabilities for every letter (L, 26; tag (L, 2))."""
    from .onestep import softmax

    fw = np_forward(params, surnames.encode(name)[None])
    out = {"h": fw["h"][0], "g": fw["g"][0] if "g" in fw else None}
    out["probs"] = {head: softmax(lg[0]) for head, lg in fw["logits"].items()}
    return out


# -- pictures ----------------------------------------------------------------------------
def plot_by_position(results: dict, max_k: int = 10) -> bytes:
    """PNG: accuracy at the k-th letter for each model and read-out, and the number of names, k = 1..max_k."""
    fig = new_figure(6.4, 3.9)
    ax, ax_n = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.12})
    fig.subplots_adjust(left=0.11, right=0.98, top=0.92, bottom=0.12)
    k = np.arange(1, max_k + 1)
    styles = {"uni h": ("forward-only model", "#2563eb", "o-"), "bi hg": ("bidirectional, both", "#16a34a", "s-"),
              "bi h": ("bidirectional, h only", "#7c3aed", "x:"), "bi g": ("bidirectional, g only", "#dc2626", "^--")}
    shown = []
    for key, (label, colour, style) in styles.items():
        model, head = key.split()
        if model in results:
            acc = results[model]["by_position"][head][:max_k]
            ax.plot(k, acc, style, color=colour, label=label, ms=4)
            shown.append(acc)
    ax.set(ylabel="accuracy", ylim=(0, 1.3 * float(np.max(shown))), title="Held-out accuracy by blank position")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    names = next(iter(results.values()))["names_by_position"][:max_k]
    ax_n.bar(k, names, color="#9ca3af", width=0.6)
    ax_n.set(xlabel="position k of the blank in the name", ylabel="names", xticks=k, ylim=(0, 1.15 * names.max()))
    ax_n.tick_params(axis="y", labelsize=7)
    ax_n.grid(alpha=0.3, axis="y")
    return figure_png(fig, dpi=90)


# -- when bidirectional is the wrong tool: generating ---------------------------------
def make_next_char(kind: str = "bi", H: int = 32, seed: int = 0):
    """A next-character model: the guess after x_t reads [h_t; g_t] ('bi') or h_t ('uni')."""
    import torch
    from torch import nn

    class NextChar(nn.Module):
        def __init__(self):
            super().__init__()
            self.kind = kind
            self.rnn = nn.GRU(V, H, batch_first=True, bidirectional=kind == "bi")
            self.out = nn.Linear(H * (2 if kind == "bi" else 1), V)

        def forward(self, ids):                                 # ids: (B, T) -> logits (B, T, V)
            out, _ = self.rnn(nn.functional.one_hot(ids, V).float())
            return self.out(out)

    from .training import seeded_torch
    with seeded_torch(seed):                     # the global generator is left alone
        return NextChar()


def next_char_loss(model, ids):
    """Mean cross-entropy of guessing x_{t+1} after x_0..x_t, with the whole name as input."""
    import torch
    from torch.nn import functional as F

    ids = torch.as_tensor(ids)
    logits = model(ids[:, :-1])                                 # input <s> x_1 .. x_L
    return F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))


def teacher_forced_loss(model, groups) -> float:
    """Mean cross-entropy per predicted token with the whole name as input (as in training)."""
    import torch

    total, count = 0.0, 0
    with torch.no_grad():
        for L, ids in groups.items():
            total += float(next_char_loss(model, ids)) * len(ids) * (L + 1)
            count += len(ids) * (L + 1)
    return total / count


def generation_loss(model, groups) -> float:
    """Mean cross-entropy when the model sees only the past: at step t the input is x_0..x_t alone."""
    import torch
    from torch.nn import functional as F

    total, count = 0.0, 0
    with torch.no_grad():
        for L, ids in groups.items():
            ids = torch.as_tensor(ids)
            for t in range(L + 1):                               # predict x_{t+1} from the prefix
                logits = model(ids[:, :t + 1])[:, -1]            # (N, V)
                total += float(F.cross_entropy(logits, ids[:, t + 1], reduction="sum"))
                count += len(ids)
    return total / count


def sample_names(model, n: int = 6, seed: int = 0, max_len: int = 12) -> list[str]:
    """Names written letter by letter, each letter drawn from the guess given the prefix so far."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    names = []
    with torch.no_grad():
        for _ in range(n):
            ids = [surnames.INDEX[surnames.BOS]]
            for _ in range(max_len):
                logits = model(torch.tensor([ids]))[0, -1, 2:]   # only </s> and letters may follow
                nxt = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)) + 2
                if nxt == surnames.INDEX[surnames.EOS]:
                    break
                ids.append(nxt)
            names.append(surnames.decode(ids))
    return names


def train_next_char(kind: str, groups, steps: int = 150, batch: int = 64, H: int = 32, lr: float = 1e-2,
                    seed: int = 0, live: bool = True):
    """Train a next-character model (teacher forcing, the whole name as input); returns (model, history)."""
    from .training import fit_torch

    model = make_next_char(kind, H, seed)
    draw = sampler(groups, batch, seed)
    history = fit_torch(model, lambda m, step: next_char_loss(m, draw(step)), steps, lr=lr, every=25,
                        live=live, desc=f"next letter, {MODEL_NAMES[kind]} GRU, H={H}")
    return model, history


# -- check your understanding ----------------------------------------------------------
def understanding() -> dict:
    """The closing questions of notebook 09 and their answers (helpers.quiz)."""
    from . import quiz

    name, k = "johnson", 3
    options = ["h_{k-1} and g_{k+1}", "h_k and g_k", "h_{k-1} only", "h_{k+1} and g_{k-1}"]
    return {
        "cloze reads": quiz.Choice(options[0], options, [
            "the guess for letter k must not read x_k, and h_k and g_k both have",
            "the last forward state before the gap and the first backward state after it"]),
        "tag reads": quiz.Choice(options[1], options, [
            "the tag of letter k may read x_k itself: whether it is doubled depends on it",
            "the seed's picture: o_t reads the two states at its own step"]),
        f"tokens g_(k+1) has read in {blanked(name, k)}": quiz.Number(len(name) - k + 1, 0, [
            "g reads from the right end of <s> x_1 .. x_L </s> towards the blank, and stops just after it",
            f"it has read the letters after the blank, {name[k:]!r}, and </s>"]),
    }

