"""Greedy and beam search on small random Markov models where the optimum can be enumerated."""
import itertools

import numpy as np
import pytest

from helpers import decoding

V, BOS, EOS = 5, 0, 1


def markov(seed):
    """A random first-order model: log p(next | current), as a step function (state unused)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (V, V))
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    return (lambda state, tok: (logp[tok], state)), logp


def exhaustive_best(logp, max_len):
    best = -np.inf
    for n in range(1, max_len + 1):
        for seq in itertools.product(range(V), repeat=n):
            if EOS in seq[:-1]:
                continue
            if n < max_len and seq[-1] != EOS:
                continue
            prev, s = BOS, 0.0
            for t in seq:
                s += logp[prev, t]
                prev = t
            best = max(best, s)
    return best


@pytest.mark.parametrize("seed", range(20))
def test_width_one_is_greedy(seed):
    step, _ = markov(seed)
    assert decoding.beam_search(step, None, BOS, EOS, 6, width=1) == decoding.greedy(step, None, BOS, EOS, 6)


@pytest.mark.parametrize("seed", range(20))
def test_wide_beam_finds_the_optimum_and_never_scores_below_greedy(seed):
    step, logp = markov(seed)
    max_len = 4
    _, g = decoding.greedy(step, None, BOS, EOS, max_len)
    _, b = decoding.beam_search(step, None, BOS, EOS, max_len, width=V**max_len)
    assert b == pytest.approx(exhaustive_best(logp, max_len))
    assert b >= g - 1e-12


def test_scores_are_the_sum_of_chosen_log_probs():
    step, logp = markov(3)
    tokens, score = decoding.greedy(step, None, BOS, EOS, 8)
    path = [BOS] + tokens + ([EOS] if len(tokens) < 8 else [])
    assert score == pytest.approx(sum(logp[a, b] for a, b in zip(path[:-1], path[1:])))


def test_bad_width_is_refused():
    step, _ = markov(0)
    with pytest.raises(ValueError, match="width"):
        decoding.beam_search(step, None, BOS, EOS, 3, width=0)
