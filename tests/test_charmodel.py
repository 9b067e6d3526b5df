"""Notebook 06: bigram baseline, numpy GRU == torch GRU, BPTT gradients, sampling, unit search, widget."""
import numpy as np
import pytest
import torch

from helpers import charmodel as cm
from helpers import decoding, gradcheck, surnames
from helpers.charmodel_widget import CharModelWidget, clean_prefix, compute, unit_label
from helpers.live import InputError

NAMES = ["smith", "li", "nguyen", "o", "abe", "schmidt", "mcdonald"]


@pytest.fixture(scope="module")
def split():
    return surnames.split()


@pytest.fixture(scope="module")
def params():
    return cm.init_params(12, seed=3)


# -- data --------------------------------------------------------------------------
def test_split_names_are_unique_encodable_and_in_one_split_only(split):
    seen = {}
    for part, names in split.items():
        assert len(set(names)) == len(names), f"a name repeats inside {part}"
        for n in names:
            assert n not in seen, f"{n!r} is in {seen.get(n)} and {part}"
            seen[n] = part
    for n in split["test"][:200]:
        assert surnames.decode(surnames.encode(n)) == n


# -- bigram --------------------------------------------------------------------------
def test_bigram_counts_and_add_k():
    C = cm.bigram_counts(["ab", "abb"])
    I = surnames.INDEX
    assert C[I["<s>"], I["a"]] == 2 and C[I["a"], I["b"]] == 2 and C[I["b"], I["b"]] == 1
    assert C[I["b"], I["</s>"]] == 2 and C.sum() == 3 + 4
    P = cm.bigram_probs(C, k=1.0)
    assert np.allclose(P.sum(1), 1) and np.all(P[:, [I["<pad>"], I["<s>"]]] == 0)
    assert np.isclose(P[I["a"], I["b"]], (2 + 1) / (2 + 27))
    P0 = cm.bigram_probs(C, k=1e-12)                       # k -> 0: relative frequencies
    assert np.isclose(P0[I["b"], I["</s>"]], 2 / 3, atol=1e-9)


def test_bigram_nats_is_the_mean_negative_log_probability():
    C = cm.bigram_counts(NAMES)
    P = cm.bigram_probs(C, 0.5)
    by_hand = []
    for n in ["abe", "li"]:
        ids = surnames.encode(n)
        by_hand += [-np.log(P[a, b]) for a, b in zip(ids[:-1], ids[1:])]
    assert np.isclose(cm.bigram_nats(P, ["abe", "li"]), np.mean(by_hand))
    assert cm.best_k(C, ["abe", "li"], ks=(0.01, 0.5)) in (0.01, 0.5)


# -- numpy GRU == torch GRU ---------------------------------------------------------------
def test_numpy_gru_equals_torch_states_loss_and_gradients():
    model = cm.make_torch(10, seed=1, dtype=torch.float64)
    params = cm.to_numpy(model)
    ids, _ = surnames.batch(NAMES)
    with torch.no_grad():
        _, hs = model(torch.from_numpy(ids))
    np.testing.assert_allclose(cm.run(params, ids), hs.numpy(), atol=1e-12)
    loss, grads = cm.loss_and_grads(params, ids)
    t_loss = cm.torch_nll(model, ids)
    t_loss.backward()
    assert abs(loss - float(t_loss.detach())) < 1e-10 and abs(cm.nll(params, ids) - loss) < 1e-12
    named = dict(model.named_parameters())
    for k, t in cm.TORCH_NAMES.items():
        np.testing.assert_allclose(grads[k], named[t].grad.numpy(), atol=1e-10, err_msg=k)


def test_copy_to_torch_round_trips(params):
    model = cm.make_torch(12, dtype=torch.float64)
    cm.copy_to_torch(params, model)
    back = cm.to_numpy(model)
    assert all(np.array_equal(back[k], params[k]) for k in params)


def test_gru_step_is_the_recurrence(params):
    """h_t = (1 - z) n + z h_{t-1}: with the update gate forced shut (z = 1) the state is kept."""
    H = 12
    p = {k: v.copy() for k, v in params.items()}
    p["b_xh"][H:2 * H] = 50.0                               # z = sigmoid(50 + ...) = 1
    h = np.random.default_rng(0).uniform(-1, 1, (2, H))
    x = np.eye(cm.V)[[5, 9]]
    np.testing.assert_allclose(cm.gru_step(p, h, x), h, atol=1e-12)
    assert not np.allclose(cm.gru_step(params, h, x), h)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        cm.nll(params, np.array([1, 3, 2]))


def test_bptt_gradients_match_finite_differences():
    params = cm.init_params(5, seed=2)
    ids, _ = surnames.batch(["abe", "li", "o"])
    _, grads = cm.loss_and_grads(params, ids)
    errors = gradcheck.check_gradients(lambda: cm.nll(params, ids), params, grads)
    assert max(errors.values()) < 1e-6, errors


def test_training_lowers_the_held_out_loss(split):
    torch.set_num_threads(1)
    model = cm.make_torch(16, seed=0)
    before = cm.nats_per_char(model, split["val"][:300])
    model, history = cm.train(split["train"][:5000], H=16, steps=40, batch_size=64, lr=0.02,
                              live=False, val_names=split["val"][:300], every=20)
    after = cm.nats_per_char(model, split["val"][:300])
    assert after < before - 0.3 and len(history["val"]) == 2
    assert after < np.log(27)                               # better than uniform guessing
    assert history["steps_per_s"] > 0 and np.isfinite(history["steps_per_s"])   # measured, for the notebook


# -- sampling ------------------------------------------------------------------------
def test_next_char_probs_temperature_and_top_k():
    o = np.array([2.0, 1.0, 0.5, -1.0])
    p1 = cm.next_char_probs(o)
    assert np.isclose(p1.sum(), 1) and np.allclose(p1, np.exp(o) / np.exp(o).sum())
    assert cm.next_char_probs(o, 0.5)[0] > p1[0] > cm.next_char_probs(o, 2.0)[0]
    pk = cm.next_char_probs(o, 1.0, top_k=2)
    assert np.all(pk[2:] == 0) and np.isclose(pk[:2].sum(), 1)
    assert np.array_equal(cm.next_char_probs(o, 0.0), np.eye(4)[0])
    np.testing.assert_allclose(cm.next_char_probs(o, 1e-6), np.eye(4)[0], atol=1e-12)
    big = cm.next_char_probs(np.array([1000.0, 999.0]), 0.01)  # no overflow
    assert np.all(np.isfinite(big)) and np.isclose(big.sum(), 1)


def test_check_next_char_probs_passes_the_reference_and_catches_mistakes():
    assert cm.check_next_char_probs(cm.next_char_probs)
    no_temperature = lambda o, t=1.0, k=None: cm.next_char_probs(o, 1.0, k)
    no_top_k = lambda o, t=1.0, k=None: cm.next_char_probs(o, t, None)
    unsafe = lambda o, t=1.0, k=None: np.exp(np.asarray(o) / t) / np.exp(np.asarray(o) / t).sum(-1, keepdims=True)
    def no_greedy(o, t=1.0, k=None):                          # forgets that temperature 0 is the limit
        with np.errstate(divide="ignore", invalid="ignore"):
            return cm.next_char_probs(o, t, k) if t else unsafe(o, t, k)
    for wrong in (no_temperature, no_top_k, unsafe, no_greedy):
        verdict = cm.check_next_char_probs(wrong)
        assert not verdict and "Hint" in verdict.message
    assert "Temperature 0" in cm.check_next_char_probs(no_greedy).message
    assert not cm.check_next_char_probs(None)


def test_temperature_to_zero_is_greedy(params):
    gru = cm.gru_stepper(params)
    greedy0 = cm.sample(gru, 3, np.random.default_rng(0), temperature=0)
    assert len(set(greedy0)) == 1                          # no randomness left
    assert cm.sample(gru, 3, np.random.default_rng(9), temperature=1e-6) == greedy0
    assert cm.sample(gru, 3, np.random.default_rng(9), top_k=1) == greedy0

    def step(h, token):                                    # the same model for decoding.greedy
        o, h = gru[0](h, np.array([token]))
        return cm.log_softmax(o)[0], h
    tokens, _ = decoding.greedy(step, gru[1](1), surnames.INDEX["<s>"], surnames.INDEX["</s>"], 20)
    assert surnames.decode(tokens) == greedy0[0]


def test_sampling_is_seeded_and_follows_the_model(params):
    gru = cm.gru_stepper(params)
    a = cm.sample(gru, 50, np.random.default_rng(4), temperature=1.2, top_k=10)
    assert a == cm.sample(gru, 50, np.random.default_rng(4), temperature=1.2, top_k=10)
    assert a != cm.sample(gru, 50, np.random.default_rng(5), temperature=1.2, top_k=10)
    assert all(set(s) <= set(surnames.ALPHABET) for s in a)
    # the first letter's frequencies match the model's first distribution (P(</s>) included)
    n = 4000
    first = cm.sample(gru, n, np.random.default_rng(6), max_len=1)
    p = cm.next_char_probs(cm.scores(params, cm.run(params, np.array([[1]]))[:, 0]))[0]
    counts = np.array([sum(s == c for s in first) for c in surnames.ALPHABET])
    np.testing.assert_allclose(counts / n, p[3:], atol=4 * np.sqrt(0.25 / n))
    assert abs(sum(s == "" for s in first) / n - p[2]) < 4 * np.sqrt(0.25 / n)


def test_sampling_with_prefix_and_length_limit(params):
    gru = cm.gru_stepper(params)
    out = cm.sample(gru, 20, np.random.default_rng(0), temperature=2.0, prefix="mc", max_len=6)
    assert all(s.startswith("mc") and len(s) <= 6 for s in out)
    P = cm.bigram_probs(cm.bigram_counts(NAMES), 0.1)
    out = cm.sample(cm.bigram_stepper(P), 20, np.random.default_rng(0), max_len=30)
    assert all(set(s) <= set("".join(NAMES)) | set(surnames.ALPHABET) for s in out)


def test_sample_stats_sorts_samples_into_copied_held_out_and_new():
    split = {"train": ["smith", "li"], "val": ["jones"], "test": ["garcia"]}
    st = cm.sample_stats(["smith", "smith", "jones", "garcia", "zork", "li", "qq", "brownx"], split)
    assert st["copied"] == 3 / 8 and st["held_out"] == 2 / 8 and np.isclose(st["new"], 3 / 8)
    assert st["distinct"] == 7 / 8 and st["short"] == 3 / 8 and st["real_long"] == 4 / 8
    assert st["real_short"] == 1 / 8                           # 'li' is real; 'zork' and 'qq' are short, not real
    assert np.isclose(st["real_short"] + st["real_long"], st["copied"] + st["held_out"])


# -- interpretable units ----------------------------------------------------------------
def test_unit_table_properties_for_a_known_name(params):
    acts, props = cm.unit_table(params, ["abe", "li"])
    assert acts.shape == (4 + 3, 12)
    assert list(props["position in name"]) == [0, 1, 2, 3, 0, 1, 2]
    assert list(props["vowel just read"]) == [0, 1, 0, 1, 0, 0, 1]
    assert list(props["letters left"]) == [3, 2, 1, 0, 2, 1, 0]
    assert list(props["name ends next"]) == [0, 0, 0, 1, 0, 0, 1]
    np.testing.assert_allclose(acts[:4], cm.run(params, surnames.encode("abe")[None, :-1])[0])


def test_correlations_and_find_units_pick_by_computed_r(params):
    rng = np.random.default_rng(0)
    acts, prop = rng.normal(size=(200, 6)), rng.normal(size=200)
    acts[:, 4] = -3 * prop + 0.1 * rng.normal(size=200)      # unit 4 tracks the property (negatively)
    r = cm.correlations(acts, prop)
    assert np.allclose(r, [np.corrcoef(acts[:, j], prop)[0, 1] for j in range(6)])
    assert int(np.argmax(np.abs(r))) == 4
    rows = cm.find_units(params, NAMES, NAMES[::-1])
    a, props = cm.unit_table(params, NAMES)
    for row in rows:
        r = cm.correlations(a, props[row["property"]])
        assert row["unit"] == int(np.argmax(np.abs(r))) and np.isclose(row["r"], r[row["unit"]])
    groups = cm.by_unit(rows)
    assert sum(len(g["properties"]) for g in groups) == len(rows) == len(cm.PROPERTIES)
    fig = cm.plot_units(params, rows, NAMES[:3])
    assert len(fig.axes) == len(groups) + 1                  # one panel per unit and a colour bar


# -- the widget ----------------------------------------------------------------------
def test_unit_label_wraps_between_properties():
    row = {"unit": 18, "properties": ["position in name", "letters left", "name ends next"]}
    label = unit_label(row)
    assert label.replace("\n", " ") == "unit 18: position, letters left, ends next"
    assert all(len(line) <= 26 for line in label.split("\n")) and "letters\nleft" not in label


def test_compute_is_the_model(params):
    r = compute(params, "abe", temperature=0.7, top_k=5)
    ids = surnames.encode("abe")[None, :-1]
    np.testing.assert_allclose(r["hs"], cm.run(params, ids)[0])
    expect = cm.next_char_probs(cm.scores(params, cm.run(params, ids)[0]), 0.7, 5)
    np.testing.assert_allclose(r["probs"], expect)
    assert r["probs"].shape == (4, cm.V) and np.all((r["probs"] > 0).sum(1) == 5)


def test_widget_updates_in_place_on_every_control(params):
    rows = cm.find_units(params, NAMES, NAMES)
    w = CharModelWidget(params, rows, prefix="mac")
    fig, img = w.fig, w.image.value
    assert w.values["at"] == 3 and w.controls["at"].max == 3
    assert [t.get_text() for t in w.fig.axes[2].get_yticklabels()][-1] == "</s>"   # the text's name for it
    w.controls["at"].value = 1                               # scrub back to 'm'
    assert w.image.value != img and w.fig is fig and w.values["at"] == 1
    shown = [s[1][0] for s in w.bars.get_segments()]
    np.testing.assert_allclose(shown, w.values["probs"][1, [surnames.INDEX[c] for c in "abcdefghijklmnopqrstuvwxyz"] + [2]])
    w.controls["prefix"].value = "schmidt"                   # a new prefix: the scrub jumps to its end
    assert w.controls["at"].max == 7 and w.values["at"] == 7 and w.values["hs"].shape == (8, 12)
    drawn = np.ma.asarray(w.img_h.get_array()).reshape(12, -1)   # the heatmap on screen: (H, columns)
    np.testing.assert_allclose(drawn[:, :8].filled(np.nan), w.values["hs"].T)
    assert drawn[:, 8:].mask.all()                            # columns after the prefix are blank
    img = w.image.value
    w.controls["temperature"].value = 0.0                    # the slider's end: greedy, one bar
    assert w.image.value != img and w.message.value == ""
    assert np.isclose(max(s[1][0] for s in w.bars.get_segments()), 1.0)
    w.controls["top_k"].value = 1
    w.controls["temperature"].value = 2.0
    assert w.message.value == "" and np.isclose(max(s[1][0] for s in w.bars.get_segments()), 1.0)
    assert w.samples.value == ""
    w.controls["at"].value = 3
    w.controls["sample"].click()                             # samples continue 'sch'
    assert "sch" in w.samples.value and w.samples.value.count(", ") >= 4
    n = len(w.latencies_ms)
    assert n >= 8 and all(t > 0 for t in w.latencies_ms)


def test_widget_answers_bad_input_with_a_message(params):
    w = CharModelWidget(params, prefix="li")
    good = w.image.value
    for text, expected in (("o'neil", "only the letters a-z"), ("", "type the start"), ("   ", "type the start"),
                           ("müller", "only the letters a-z"), ("ab3", "only the letters a-z"),
                           ("x" * 10000, "at most")):
        w.controls["prefix"].value = text
        assert expected in w.message.value, text
        assert len(w.message.value) < 400
    w.controls["prefix"].value = "  Smith "                  # case and spaces around are forgiven
    assert w.message.value == "" and w.values["prefix"] == "smith" and w.image.value != good
    with pytest.raises(InputError):
        clean_prefix("a b")
    with pytest.raises(ValueError):
        compute(params, "a-b")


def test_demo_builds():
    from helpers import charmodel_widget

    w = charmodel_widget.demo()
    assert w.image.value and w.message.value == ""


# -- check your understanding --------------------------------------------------------------
def test_closing_questions_take_the_right_answers_and_reject_wrong_ones():
    from helpers import quiz

    qs = cm.understanding()
    right = {"uniform nats": float(np.log(27)), "temperature 0": "Greedy", "steps before 'mac'": 4}
    assert quiz.check(right, qs, name="t06")
    for key, wrong in (("uniform nats", np.log(29)), ("uniform nats", 27), ("temperature 0", "uniform"),
                       ("temperature 0", 0), ("steps before 'mac'", 3), ("steps before 'mac'", "four"),
                       ("steps before 'mac'", None)):
        verdict = quiz.check(right | {key: wrong}, qs, name="t06w")
        assert not verdict and "2 of 3 right" in verdict.message, (key, wrong)
    first = quiz.check(right | {"steps before 'mac'": 3}, qs, name="t06h").message
    assert "Hint 1 of 3" in first and "the answer is" not in first


def test_make_torch_takes_a_seed_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a, b, c = cm.make_torch(4, seed=5), cm.make_torch(4, seed=5), cm.make_torch(4, seed=6)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a.rnn.weight_hh_l0, b.rnn.weight_hh_l0) and not torch.equal(a.rnn.weight_hh_l0, c.rnn.weight_hh_l0)
