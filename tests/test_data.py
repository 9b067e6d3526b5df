"""Data: committed files equal a fresh build; splits are disjoint and seeded."""
import numpy as np

from conftest import ROOT
from helpers import numbers


def test_committed_data_equals_a_fresh_build(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_data", ROOT / "scripts" / "build_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for path in mod.build(tmp_path):
        committed = ROOT / "data" / path.name
        assert committed.exists(), f"data/{path.name} is not committed"
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"data/{path.name} differs from a fresh build: run python scripts/build_data.py")


def test_phrases_from_the_committed_table_are_num2words_phrases():
    table = numbers.phrases()
    assert len(table) == numbers.MAX_NUMBER
    for n in (1, 13, 100, 101, 999, 1000, 2024, 7777, 9999):
        assert table[n - 1] == numbers.phrase(n)
    assert numbers.phrases(12) == [numbers.phrase(n) for n in range(1, 13)]


def test_load_reads_the_same_data_as_num2words(monkeypatch):
    fast = numbers.load(max_number=300)
    monkeypatch.setattr(numbers, "_committed_phrases", lambda: ())          # no table: num2words for every number
    slow = numbers.load(max_number=300)
    assert fast["vocab"].words == slow["vocab"].words
    for name in ("train", "held_out"):
        assert all(np.array_equal(a, b) for a, b in zip(fast[name]["sequences"], slow[name]["sequences"], strict=True))


def test_number_split_is_disjoint_complete_and_seeded():
    a, b = numbers.split_numbers(), numbers.split_numbers()
    assert np.array_equal(a["train"], b["train"])
    assert not set(a["train"]) & set(a["held_out"])
    assert set(a["train"]) | set(a["held_out"]) == set(range(1, numbers.MAX_NUMBER + 1))
    assert len(a["held_out"]) == 2000
    assert not np.array_equal(numbers.split_numbers(seed=1)["train"], a["train"])


def test_tokenize_and_vocab():
    assert numbers.tokenize("Nine thousand, nine hundred and ninety-nine") == [
        "nine", "thousand", "nine", "hundred", "and", "ninety", "nine"]
    vocab = numbers.build_vocab()
    assert vocab.words[:2] == ["<bos>", "<eos>"] and len(vocab) == 32
    ids = vocab.encode(["three", "hundred"])
    assert vocab.decode(ids) == ["three", "hundred"]


def test_bigram_counts_count_every_transition():
    seqs = [np.array([0, 2, 3, 1]), np.array([0, 2, 1])]
    c = numbers.bigram_counts(seqs, 4)
    assert c.sum() == 5 and c[0, 2] == 2 and c[2, 3] == 1 and c[2, 1] == 1


def test_context_gain_finds_words_whose_next_word_depends_on_the_word_before():
    d = numbers.load()
    rows = numbers.context_gain(d["train"]["sequences"], d["vocab"])
    assert all(r["gain"] >= -1e-12 for r in rows)  # conditioning never adds entropy
    top = rows[0]
    assert top["gain"] > 1.0 and top["H(next|prev,word)"] < 0.5 * top["H(next|word)"]
