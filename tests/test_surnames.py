"""The census surname data: loaded from the installed package, split disjointly and reproducibly."""
import numpy as np
import pytest

from helpers import surnames


def test_loads_the_full_census_list():
    rows = surnames.load_all()
    assert len(rows) > 80000
    assert rows[0][0] == "smith"  # the most frequent surname comes first in the list
    assert all(n.isalpha() and n.islower() for n, _ in rows[:1000])


def test_split_is_disjoint_complete_and_seeded():
    s = surnames.split()
    sets = {k: set(v) for k, v in s.items()}
    assert not sets["train"] & sets["val"] and not sets["train"] & sets["test"] and not sets["val"] & sets["test"]
    assert sum(len(v) for v in s.values()) == len({n for n, _ in surnames.load_all()})
    assert surnames.split() == s
    assert surnames.split(seed=1)["test"] != s["test"]


def test_encode_decode_and_batch():
    ids = surnames.encode("jones")
    assert ids[0] == surnames.INDEX[surnames.BOS] and ids[-1] == surnames.INDEX[surnames.EOS]
    assert surnames.decode(ids) == "jones"
    with pytest.raises(ValueError, match="outside a-z"):
        surnames.encode("o'neil")
    b, lengths = surnames.batch(["li", "smith"])
    assert b.shape == (2, 7) and list(lengths) == [4, 7] and np.all(b[0, 4:] == 0)
