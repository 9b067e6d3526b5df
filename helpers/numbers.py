"""English number phrases ("three hundred and forty-two") as word sequences.

Made by num2words (installed, no download); split into train and held-out *by number*
with a fixed seed, so no held-out number's phrase was seen in training.
``scripts/build_data.py`` writes the same table to data/number_phrases.tsv, which load()
reads (a test keeps it equal to a fresh num2words build).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BOS, EOS = "<bos>", "<eos>"
MAX_NUMBER = 9999
SEED = 0
HELD_OUT_FRACTION = 0.2
DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "number_phrases.tsv"


def phrase(n: int, lang: str = "en") -> str:
    """The number n written out in words by num2words."""
    from num2words import num2words

    return num2words(int(n), lang=lang)


@functools.cache
def _committed_phrases() -> tuple[str, ...]:
    """Phrases of 1, 2, ... from data/number_phrases.tsv, or () if it is missing or out of order."""
    if not DATA_FILE.exists():
        return ()
    rows = [line.split("\t") for line in DATA_FILE.read_text(encoding="utf-8").splitlines()[1:]]
    if any(int(row[0]) != i for i, row in enumerate(rows, start=1)):
        return ()
    return tuple(row[1] for row in rows)


def phrases(max_number: int = MAX_NUMBER) -> list[str]:
    """Phrases of 1..max_number: from the committed table when it covers them (fast), else num2words."""
    table = _committed_phrases()
    if len(table) >= max_number:
        return list(table[:max_number])
    return [phrase(n) for n in range(1, max_number + 1)]


def tokenize(text: str) -> list[str]:
    """Lower-case words; hyphens and commas split ("forty-two" -> "forty", "two")."""
    return [w for w in re.split(r"[\s,\-]+", text.lower().strip()) if w]


def split_numbers(max_number: int = MAX_NUMBER, seed: int = SEED,
                  held_out: float = HELD_OUT_FRACTION) -> dict[str, np.ndarray]:
    """Numbers 1..max_number shuffled with a seed and cut into 'train' and 'held_out'."""
    held_out, max_number = fraction(held_out, "held_out"), whole(max_number, "max_number", 2)
    if not 0 < held_out < 1:
        raise ValueError(f"held_out must be strictly between 0 and 1 (both parts non-empty), got {held_out}")
    numbers = np.arange(1, max_number + 1)
    rng = np.random.default_rng(seed)
    rng.shuffle(numbers)
    cut = int(round(len(numbers) * (1 - held_out)))
    if not 0 < cut < len(numbers):
        raise ValueError(f"held_out = {held_out} leaves a part of {len(numbers)} numbers empty")
    return {"train": np.sort(numbers[:cut]), "held_out": np.sort(numbers[cut:])}


def whole(value, name: str, low: int) -> int:
    """value as an int >= low, or ValueError naming it (floats, text and bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)


def fraction(value, name: str) -> float:
    """value as a float in [0, 1], or ValueError naming it (NaN, inf, text and bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
    value = float(value)
    if not 0 <= value <= 1:                                  # also False for NaN
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
    return value


@dataclass
class Vocab:
    """Word <-> index maps; index 0 is <bos>, 1 is <eos>."""
    words: list[str]

    def __post_init__(self):
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: list[str]) -> np.ndarray:
        """Indices of known words; raises KeyError naming the first unknown one."""
        unknown = [t for t in tokens if t not in self.index]
        if unknown:
            raise KeyError(f"unknown word {unknown[0]!r}")
        return np.array([self.index[t] for t in tokens], dtype=np.int64)

    def decode(self, ids) -> list[str]:
        """Words for indices."""
        return [self.words[int(i)] for i in ids]


def build_vocab(max_number: int = MAX_NUMBER) -> Vocab:
    """Every word used by 1..max_number, after <bos> and <eos>, in order of first use."""
    seen: dict[str, None] = {}
    for text in phrases(max_number):
        for w in tokenize(text):
            seen.setdefault(w, None)
    return Vocab([BOS, EOS] + list(seen))


def load(max_number: int = MAX_NUMBER, seed: int = SEED) -> dict:
    """The data set: vocab, and for each split the numbers and their token-id sequences."""
    vocab, texts = build_vocab(max_number), phrases(max_number)
    out = {"vocab": vocab}
    for name, numbers in split_numbers(max_number, seed).items():
        seqs = [vocab.encode([BOS] + tokenize(texts[n - 1]) + [EOS]) for n in numbers]
        out[name] = {"numbers": numbers, "sequences": seqs}
    return out


def bigram_counts(sequences, vocab_size: int) -> np.ndarray:
    """C[a, b] = how often word b follows word a.  # (V, V)"""
    counts = np.zeros((vocab_size, vocab_size))
    for seq in sequences:
        np.add.at(counts, (seq[:-1], seq[1:]), 1)
    return counts


def pad_batch(sequences, pad: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Pad id-sequences to one length: ids (B, T) and a 0/1 mask (B, T)."""
    T = max(len(s) for s in sequences)
    ids = np.full((len(sequences), T), pad, dtype=np.int64)
    mask = np.zeros((len(sequences), T))
    for i, s in enumerate(sequences):
        ids[i, :len(s)] = s
        mask[i, :len(s)] = 1
    return ids, mask


def _entropy_bits(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def context_gain(sequences, vocab: Vocab) -> list[dict]:
    """Per current word: entropy of the next word given it alone, and given the word before too.

    The difference (bits) is what one earlier word of context tells about the next word,
    information a one-step model cannot use. Sorted by that gain, largest first.
    """
    from collections import Counter, defaultdict

    by_word, by_pair = defaultdict(Counter), defaultdict(Counter)
    for seq in sequences:
        for prev, cur, nxt in zip(seq[:-2], seq[1:-1], seq[2:]):
            by_word[cur][nxt] += 1
            by_pair[(cur, prev)][nxt] += 1
    rows = []
    for cur, nxt_counts in by_word.items():
        n = sum(nxt_counts.values())
        h1 = _entropy_bits(np.array(list(nxt_counts.values()), float))
        h2 = sum(sum(c.values()) / n * _entropy_bits(np.array(list(c.values()), float))
                 for (w, _), c in by_pair.items() if w == cur)
        rows.append({"word": vocab.words[cur], "count": n, "H(next|word)": h1,
                     "H(next|prev,word)": h2, "gain": h1 - h2})
    return sorted(rows, key=lambda r: -r["gain"])


def next_given_prev(sequences, vocab: Vocab, word: str, top: int = 3) -> dict[str, list]:
    """For one word: its most frequent next words after each earlier word, as (word, share) lists."""
    from collections import Counter, defaultdict

    w = vocab.index[word]
    table = defaultdict(Counter)
    for seq in sequences:
        for prev, cur, nxt in zip(seq[:-2], seq[1:-1], seq[2:]):
            if cur == w:
                table[vocab.words[prev]][vocab.words[nxt]] += 1
    out = {}
    for prev, c in sorted(table.items(), key=lambda kv: -sum(kv[1].values())):
        n = sum(c.values())
        out[prev] = [(nxt, k / n) for nxt, k in c.most_common(top)]
    return out
