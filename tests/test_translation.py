"""English-to-German number data: split, vocabularies, padding, sampling weights, typed input."""
import numpy as np
import pytest

from helpers import translation as tr


@pytest.fixture(scope="module")
def data():
    return tr.load()


def test_split_is_disjoint_complete_seeded_and_keeps_the_dictionary_in_training():
    a, b = tr.split_numbers(), tr.split_numbers()
    assert np.array_equal(a["train"], b["train"]) and np.array_equal(a["held_out"], b["held_out"])
    assert not set(a["train"]) & set(a["held_out"])
    assert set(a["train"]) | set(a["held_out"]) == set(range(tr.MAX_NUMBER + 1))
    words = [n for n in range(100) if tr.is_dictionary_word(n)]
    assert len(words) == 28 and set(words) <= set(a["train"])
    rest = tr.MAX_NUMBER + 1 - 28
    assert len(a["held_out"]) == round(rest * tr.HELD_OUT_FRACTION)
    assert not np.array_equal(tr.split_numbers(seed=1)["held_out"], a["held_out"])


def test_dictionary_words_are_exactly_the_one_word_numbers():
    for n in range(100):
        assert tr.is_dictionary_word(n) == (len(tr.tokenize(tr.english(n))) == 1), n


def test_committed_table_is_num2words(data):
    rows = tr.read_table()
    assert len(rows) == tr.MAX_NUMBER + 1
    for n in (0, 31, 205, 1100, 7777, 9999):
        assert rows[n][:3] == (n, tr.english(n), tr.german(n))
    assert rows[31][2] == "einunddreißig" and rows[205][2] == "zweihundertfünf"
    split = tr.split_numbers()
    assert {r[0] for r in rows if r[3] == "held_out"} == set(split["held_out"].tolist())


def test_vocabularies_and_round_trips(data):
    src, tgt = data["src_vocab"], data["tgt_vocab"]
    assert src.words[0] == tr.PAD and len(src) == 32 and "thousand" in src.index
    assert tgt.words[:3] == [tr.PAD, tr.BOS, tr.EOS] and {"ß", "ü", "ö"} <= set(tgt.words)
    ids = tr.encode_target("einunddreißig", tgt)
    assert ids[0] == tgt.index[tr.BOS] and ids[-1] == tgt.index[tr.EOS] and len(ids) == 15
    assert tr.decode_target(ids, tgt) == "einunddreißig"
    assert tr.decode_target(list(ids) + [tgt.index["a"]], tgt) == "einunddreißig"   # stops at <eos>
    pairs = data["held_out"]
    i = 17
    assert src.decode(pairs.src[i]) == tr.tokenize(pairs.english[i])
    assert tr.decode_target(pairs.tgt[i], tgt) == pairs.german[i] == tr.german(pairs.numbers[i])
    assert pairs.source_lengths().max() == 7 and pairs.source_lengths().min() >= 2


def test_pad_gives_ids_and_lengths():
    ids, lengths = tr.pad([np.array([3, 4, 5]), np.array([7])])
    assert ids.tolist() == [[3, 4, 5], [7, 0, 0]] and lengths.tolist() == [3, 1]
    with pytest.raises(ValueError):
        tr.pad([np.array([1]), np.array([], dtype=int)])


def test_balanced_weights_give_each_length_its_share():
    lengths = np.array([1, 2, 2, 7, 7, 7, 7, 7])
    w = tr.balanced_weights(lengths, {1: 0.2, 2: 0.3, 7: 0.5})
    assert w.sum() == pytest.approx(1)
    assert w[lengths == 1].sum() == pytest.approx(0.2) and w[lengths == 7].sum() == pytest.approx(0.5)
    assert w[lengths == 2].sum() == pytest.approx(0.3)
    assert tr.balanced_weights(lengths, {7: 1.0})[0] == 0
    with pytest.raises(ValueError):
        tr.balanced_weights(lengths, {3: 1.0})


def test_typed_english_is_parsed_or_answered_with_the_nearest_words(data):
    src = data["src_vocab"]
    assert src.decode(tr.parse_english("Thirty-One", src)) == ["thirty", "one"]
    with pytest.raises(ValueError, match="forty"):
        tr.parse_english("fourty two", src)
    with pytest.raises(ValueError, match="type some"):
        tr.parse_english("   ", src)
    with pytest.raises(ValueError, match="too long"):
        tr.parse_english("one " * 9, src)
    with pytest.raises(ValueError, match="not a word"):
        tr.parse_english("<pad>", src)
    assert tr.nearest_words("thousnd", src)[0] == "thousand"


def test_phrase_index_finds_every_number(data):
    index = tr.phrase_index([data["train"], data["held_out"]])
    assert len(index) == tr.MAX_NUMBER + 1
    assert index[("thirty", "one")] == 31 and index[("one", "thousand", "one", "hundred")] == 1100
