"""Real surnames: the 1990 US census list shipped in the `names` package (notebooks 06, 09, 10).

The file ``names/dist.all.last`` (about 88,800 surnames, most frequent first) comes from
the U.S. Census Bureau's 1990 surname list; the `names` package (MIT) ships it, so nothing
is downloaded. Names are lower-cased and split train/validation/test *by name* with a seed.
"""
from __future__ import annotations

import numpy as np

from . import numbers

PAD, BOS, EOS = "<pad>", "<s>", "</s>"
ALPHABET = "abcdefghijklmnopqrstuvwxyz"
CHARS = [PAD, BOS, EOS] + list(ALPHABET)   # ids: 0 pad, 1 start, 2 end, 3.. letters
INDEX = {c: i for i, c in enumerate(CHARS)}
SEED = 0
FRACTIONS = (0.8, 0.1, 0.1)


def load_all() -> list[tuple[str, float]]:
    """(name, frequency in percent) for every surname in the list, most frequent first."""
    from importlib.resources import files

    rows = []
    for line in files("names").joinpath("dist.all.last").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].isalpha():
            rows.append((parts[0].lower(), float(parts[1])))
    return rows


def split(seed: int = SEED, fractions=FRACTIONS) -> dict[str, list[str]]:
    """Names shuffled with a seed and cut into 'train', 'val' and 'test' (disjoint by name)."""
    fractions = check_fractions(fractions)
    names = sorted({n for n, _ in load_all()})
    order = np.random.default_rng(seed).permutation(len(names))
    a = int(round(fractions[0] * len(names)))
    b = a + int(round(fractions[1] * len(names)))
    if a == 0 or b >= len(names):
        raise ValueError(f"fractions {fractions} leave the train or the test part empty")
    pick = lambda idx: [names[i] for i in sorted(idx)]
    return {"train": pick(order[:a]), "val": pick(order[a:b]), "test": pick(order[b:])}


def check_fractions(fractions) -> tuple[float, float, float]:
    """(train, val, test) fractions, each in [0, 1], adding up to 1, train and test above 0; else ValueError."""
    try:
        parts = tuple(fractions)
    except TypeError:
        raise ValueError(f"fractions must be three numbers (train, val, test), got {fractions!r}") from None
    if len(parts) != 3:
        raise ValueError(f"fractions must be three numbers (train, val, test), got {len(parts)}")
    train, val, test = (numbers.fraction(f, name) for f, name in zip(parts, ("train", "val", "test")))
    if abs(train + val + test - 1) > 1e-9 or train == 0 or test == 0:
        raise ValueError(f"fractions must add up to 1 with train and test above 0 (disjoint, non-empty "
                         f"parts), got {parts}")
    return train, val, test


def encode(name: str, bos: bool = True, eos: bool = True) -> np.ndarray:
    """Character ids of a lower-case name, with optional start and end tokens."""
    bad = sorted({c for c in name if c not in ALPHABET})
    if bad:
        raise ValueError(f"characters outside a-z: {''.join(bad)!r} in {name!r}")
    ids = ([INDEX[BOS]] if bos else []) + [INDEX[c] for c in name] + ([INDEX[EOS]] if eos else [])
    return np.array(ids, dtype=np.int64)


def decode(ids) -> str:
    """Letters for ids, dropping pad/start/end tokens."""
    return "".join(CHARS[int(i)] for i in ids if int(i) >= 3)


def batch(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Padded ids (B, T) with <s> ... </s>, and the true lengths (B,)."""
    seqs = [encode(n) for n in names]
    lengths = np.array([len(s) for s in seqs])
    ids = np.full((len(seqs), lengths.max()), INDEX[PAD], dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
    return ids, lengths
