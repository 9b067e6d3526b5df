"""Greedy decoding and beam search for any step-by-step model (notebooks 07 and 08).

A model is given as ``step(state, token) -> (log_probs, new_state)``: the log-probabilities
of the next token (V,) after feeding `token` in `state`. Both decoders stop at `eos` or
after `max_len` tokens and return (tokens without bos/eos, total log-probability).
"""
from __future__ import annotations

import numpy as np


def greedy(step, state, bos: int, eos: int, max_len: int):
    """Pick the most probable next token at every step."""
    tokens, score, token = [], 0.0, bos
    for _ in range(max_len):
        log_probs, state = step(state, token)
        token = int(np.argmax(log_probs))
        score += float(log_probs[token])
        if token == eos:
            break
        tokens.append(token)
    return tokens, score


def beam_search(step, state, bos: int, eos: int, max_len: int, width: int = 3):
    """Keep the `width` best partial sequences by total log-probability; return the best.

    Width 1 is greedy decoding. A wider beam usually, but not always, finds a sequence at
    least as probable as greedy's: the greedy prefix can be pruned by better-looking ones.
    """
    if width < 1:
        raise ValueError(f"beam width must be >= 1, got {width}")
    beams = [(0.0, [bos], state, False)]           # (score, tokens, state, finished)
    for _ in range(max_len):
        candidates = []
        for score, tokens, st, done in beams:
            if done:
                candidates.append((score, tokens, st, True))
                continue
            log_probs, new_state = step(st, tokens[-1])
            for tok in np.argsort(-log_probs, kind="stable")[:width]:
                candidates.append((score + float(log_probs[tok]), tokens + [int(tok)], new_state, tok == eos))
        candidates.sort(key=lambda c: -c[0])        # stable: ties keep their order
        beams = candidates[:width]
        if all(done for *_, done in beams):
            break
    score, tokens, _, done = beams[0]
    return [t for t in tokens[1:] if t != eos], score
