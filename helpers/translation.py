"""English number words to German number words: the translation task of notebook 08.

Both sides are written by num2words (installed, no download): 31 -> "thirty-one" ->
"einunddreißig". The source is tokenised by words (helpers.numbers.tokenize), the target
by characters. Numbers 0..9999; the 28 numbers that English writes as one word (0-19 and
the tens) are the dictionary and always in training; the rest are split 80/20 by number
with a seed, so every held-out number is a combination never seen in training.
``scripts/build_data.py`` writes the table to data/number_translation.tsv.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .numbers import Vocab, fraction, pad_batch, tokenize, whole

MAX_NUMBER = 9999
SEED = 0
HELD_OUT_FRACTION = 0.2
PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "number_translation.tsv"


def english(n: int) -> str:
    """The number n in English words ("thirty-one")."""
    from num2words import num2words

    return num2words(int(n), lang="en")


def german(n: int) -> str:
    """The number n in German words ("einunddreißig")."""
    from num2words import num2words

    return num2words(int(n), lang="de")


def is_dictionary_word(n: int) -> bool:
    """True for the numbers English writes as one word: 0-19 and 20, 30, ..., 90."""
    return 0 <= n < 20 or (n < 100 and n % 10 == 0)


def split_numbers(max_number: int = MAX_NUMBER, seed: int = SEED,
                  held_out: float = HELD_OUT_FRACTION) -> dict[str, np.ndarray]:
    """One-word numbers in 'train'; the others shuffled with a seed and cut into 'train'/'held_out'."""
    held_out, max_number = fraction(held_out, "held_out"), whole(max_number, "max_number", 1)
    numbers = np.arange(0, max_number + 1)
    words = np.array([is_dictionary_word(n) for n in numbers])
    rest = numbers[~words]
    np.random.default_rng(seed).shuffle(rest)
    cut = int(round(len(rest) * (1 - held_out)))
    if not 0 < cut < len(rest):
        raise ValueError(f"held_out = {held_out} leaves the train or the held-out part empty")
    return {"train": np.sort(np.concatenate([numbers[words], rest[:cut]])),
            "held_out": np.sort(rest[cut:])}


def table(max_number: int = MAX_NUMBER, seed: int = SEED) -> list[tuple[int, str, str, str]]:
    """Rows (number, english, german, split) for 0..max_number, made by num2words."""
    split = {int(n): name for name, nums in split_numbers(max_number, seed).items() for n in nums}
    return [(n, english(n), german(n), split[n]) for n in range(max_number + 1)]


def read_table(path: Path = DATA_FILE) -> list[tuple[int, str, str, str]]:
    """Rows of the committed TSV (fast: no num2words calls)."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [(int(n), en, de, split) for n, en, de, split in (line.split("\t") for line in lines)]


def source_vocab(phrases) -> Vocab:
    """<pad> then every English word, in order of first use."""
    seen: dict[str, None] = {}
    for p in phrases:
        for w in tokenize(p):
            seen.setdefault(w, None)
    return Vocab([PAD] + list(seen))


def target_vocab(phrases) -> Vocab:
    """<pad>, <bos>, <eos>, then every German character, in order of first use."""
    seen: dict[str, None] = {}
    for p in phrases:
        for ch in p:
            seen.setdefault(ch, None)
    return Vocab([PAD, BOS, EOS] + list(seen))


@dataclass
class Pairs:
    """One split: numbers, their English and German, source ids and target ids (with bos/eos)."""
    numbers: np.ndarray
    english: list[str]
    german: list[str]
    src: list[np.ndarray]
    tgt: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.numbers)

    def source_lengths(self) -> np.ndarray:
        """Number of English words of each pair."""
        return np.array([len(s) for s in self.src])


def encode_target(text: str, vocab: Vocab) -> np.ndarray:
    """Character ids of a German phrase wrapped in <bos> ... <eos>."""
    return vocab.encode([BOS] + list(text) + [EOS])


def decode_target(ids, vocab: Vocab) -> str:
    """The German text of character ids (stops at <eos>, skips <pad> and <bos>)."""
    out = []
    for w in vocab.decode(ids):
        if w == EOS:
            break
        if w not in (PAD, BOS):
            out.append(w)
    return "".join(out)


def load(path: Path = DATA_FILE) -> dict:
    """The data set: both vocabularies and a Pairs for 'train' and 'held_out'."""
    rows = read_table(path) if path.exists() else table()
    src_vocab = source_vocab(en for _, en, _, _ in rows)
    tgt_vocab = target_vocab(de for _, _, de, _ in rows)
    out = {"src_vocab": src_vocab, "tgt_vocab": tgt_vocab}
    for name in ("train", "held_out"):
        part = [r for r in rows if r[3] == name]
        out[name] = Pairs(numbers=np.array([r[0] for r in part]),
                          english=[r[1] for r in part], german=[r[2] for r in part],
                          src=[src_vocab.encode(tokenize(r[1])) for r in part],
                          tgt=[encode_target(r[2], tgt_vocab) for r in part])
    return out


def pad(seqs, pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pad id sequences with pad_id: ids (B, T) and lengths (B,)."""
    if not len(seqs) or min(len(s) for s in seqs) == 0:
        raise ValueError("every sequence needs at least one token")
    ids, mask = pad_batch(seqs, pad=pad_id)
    return ids, mask.sum(1).astype(np.int64)


SHARES = {1: 0.04, 2: 0.08, 3: 0.0, 4: 0.12, 5: 0.16, 6: 0.2, 7: 0.4}


def balanced_weights(lengths, shares: dict = SHARES) -> np.ndarray:
    """Sampling weights giving the pairs of each source length (in words) their share of a batch."""
    lengths = np.asarray(lengths)
    w = np.zeros(len(lengths))
    for L in np.unique(lengths):
        sel = lengths == L
        w[sel] = shares.get(int(L), 0.0) / sel.sum()
    if w.sum() == 0:
        raise ValueError(f"no share given for any of the lengths {np.unique(lengths)}")
    return w / w.sum()


def nearest_words(word: str, vocab: Vocab, n: int = 3) -> list[str]:
    """The valid source words closest in spelling to word (difflib)."""
    words = [w for w in vocab.words if w != PAD]
    return difflib.get_close_matches(word.lower(), words, n=n, cutoff=0.5)


def parse_english(text: str, vocab: Vocab, max_words: int = 8) -> np.ndarray:
    """Source ids of typed English number words; ValueError with the nearest valid words."""
    words = tokenize(text)
    if not words:
        raise ValueError("type some English number words, e.g. 'thirty-one' or 'two hundred and five'")
    if len(words) > max_words:
        raise ValueError(f"{len(words)} words is too long: at most {max_words} (numbers 0-9999 take at most 7)")
    for w in words:
        if w not in vocab.index or w == PAD:
            close = nearest_words(w, vocab)
            hint = f"; did you mean {', '.join(close)}?" if close else \
                f"; valid words are e.g. {', '.join(vocab.words[1:6])} ..."
            raise ValueError(f"'{w}' is not a word of English numbers 0-9999{hint}")
    return vocab.encode(words)


def phrase_index(pairs_list) -> dict[tuple, int]:
    """Map from a tuple of English words to its number, over the given Pairs."""
    out = {}
    for pairs in pairs_list:
        for n, en in zip(pairs.numbers, pairs.english):
            out[tuple(tokenize(en))] = int(n)
    return out
