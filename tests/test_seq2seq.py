"""Encoder-decoder: numpy equals torch, padding never leaks, decoding agrees, the widget answers."""
import numpy as np
import pytest
import torch

from helpers import decoding, gradcheck, seq2seq as s2s, translation as tr
from helpers import seq2seq_widget as w_mod
from helpers.seq2seq_widget import Seq2SeqWidget, compute


@pytest.fixture(scope="module")
def data():
    return tr.load()


def tiny(data, attention, seed=0, double=True, c_every_step=True):
    m = s2s.make_model(len(data["src_vocab"]), len(data["tgt_vocab"]), E=6, H=5, attention=attention, seed=seed,
                       c_every_step=c_every_step)
    return m.double() if double else m


def sample(data, n=6, seed=0):
    pairs = data["held_out"]
    idx = np.random.default_rng(seed).choice(len(pairs), n, replace=False)
    idx[0] = int(np.argmin(pairs.source_lengths()))            # make sure lengths differ
    return [pairs.src[i] for i in idx], [pairs.tgt[i] for i in idx]


# -- numpy twin == torch ------------------------------------------------------------------
@pytest.mark.parametrize("attention,c_every_step", [(False, False), (False, True), (True, True)])
def test_numpy_encoder_and_decoder_steps_equal_torch(data, attention, c_every_step):
    model = tiny(data, attention, c_every_step=c_every_step)
    p = s2s.numpy_params(model)
    src, tgt = sample(data)
    x, x_len, y, y_len = s2s.to_tensors(src, tgt)
    with torch.no_grad():
        enc_out, C = model.encoder(x, x_len)
        logits, alpha = model(x, x_len, y[:, :-1])
    log_probs = torch.log_softmax(logits, -1).numpy()
    for b in range(len(src)):
        states, C_np = s2s.encode_np(p, src[b])
        np.testing.assert_allclose(states, enc_out[b, :len(src[b])].numpy(), atol=1e-12)
        np.testing.assert_allclose(C_np, C[b].numpy(), atol=1e-12)
        h = C_np
        for t in range(len(tgt[b]) - 1):
            lp, h, a = s2s.decoder_step_np(p, tgt[b][t], h, C_np, states)
            np.testing.assert_allclose(lp, log_probs[b, t], atol=1e-10)
            if attention:
                np.testing.assert_allclose(a, alpha[b, t, :len(src[b])].numpy(), atol=1e-12)
            else:
                assert a is None and alpha is None


def test_attention_backward_equals_torch_autograd_and_finite_differences(data):
    model = tiny(data, True, seed=3)
    p = s2s.numpy_params(model)
    rng = np.random.default_rng(0)
    S, H = 4, p["W_a"].shape[0]
    s, enc = rng.normal(size=H), rng.normal(size=(S, H))
    mask = np.array([True, True, True, False])
    enc[~mask] = 0
    g = rng.normal(size=H)                                     # dL/ds_tilde for L = g . s_tilde

    cache = s2s.attention_output(p, s, enc, mask)
    grads = s2s.attention_backward(p, cache, g)

    dec = model.decoder
    s_t = torch.tensor(s, requires_grad=True)
    enc_t = torch.tensor(enc, requires_grad=True)
    scores = (s_t @ dec.W_a(enc_t).T).masked_fill(~torch.tensor(mask), float("-inf"))
    alpha = torch.softmax(scores, -1)
    s_tilde = torch.tanh(dec.W_c(torch.cat([s_t, alpha @ enc_t])))
    np.testing.assert_allclose(cache["s_tilde"], s_tilde.detach().numpy(), atol=1e-12)
    (s_tilde @ torch.tensor(g)).backward()
    np.testing.assert_allclose(grads["s"], s_t.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(grads["enc_out"], enc_t.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(grads["W_a"], dec.W_a.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(grads["W_c"], dec.W_c.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(grads["b_c"], dec.W_c.bias.grad.numpy(), atol=1e-10)

    params = {"W_a": p["W_a"], "W_c": p["W_c"], "b_c": p["b_c"], "s": s, "enc_out": enc}
    loss = lambda: float(g @ s2s.attention_output(p, s, enc, mask)["s_tilde"])   # noqa: E731
    errors = gradcheck.check_gradients(loss, params, grads)
    assert max(errors.values()) < 1e-6, errors
    assert np.all(grads["enc_out"][~mask] == 0)                # a PAD state gets no gradient


# -- padding --------------------------------------------------------------------------------
def test_context_of_a_padded_batch_equals_one_at_a_time_and_never_comes_from_pad(data):
    model = tiny(data, False)
    src, _ = sample(data, 8)
    x, x_len = s2s.to_tensors(src)
    assert len(set(x_len.tolist())) > 1
    with torch.no_grad():
        out, C = model.encoder(x, x_len)
        alone = torch.cat([model.encoder(*s2s.to_tensors([s]))[1] for s in src])
    torch.testing.assert_close(C, alone, atol=1e-12, rtol=0)
    for b, L in enumerate(x_len.tolist()):
        torch.testing.assert_close(out[b, L - 1], C[b])        # C is the state at the last real word
        assert torch.all(out[b, L:] == 0)
    wrong = s2s.final_state_without_packing(model, x)          # the bug this avoids
    short = x_len < x.shape[1]
    assert (wrong[short] - alone[short]).abs().max() > 1e-3
    torch.testing.assert_close(wrong[~short], alone[~short], atol=1e-12, rtol=0)


@pytest.mark.parametrize("attention", [False, True])
def test_pad_never_counts_in_the_loss(data, attention):
    model = tiny(data, attention)
    src, tgt = sample(data, 6)
    x, x_len, y, y_len = s2s.to_tensors(src, tgt)
    with torch.no_grad():
        loss = s2s.loss(model, x, x_len, y, y_len)
        more = s2s.loss(model, torch.nn.functional.pad(x, (0, 3)), x_len, torch.nn.functional.pad(y, (0, 5)), y_len)
        # the mean over real characters, computed one pair at a time without any padding
        total, count = 0.0, 0
        for s, t in zip(src, tgt):
            xs, xl, ys, yl = s2s.to_tensors([s], [t])
            total += float(s2s.loss(model, xs, xl, ys, yl)) * (len(t) - 1)
            count += len(t) - 1
    assert float(loss) == pytest.approx(float(more), abs=1e-12)
    assert float(loss) == pytest.approx(total / count, abs=1e-12)


def test_attention_gives_pad_positions_zero_weight(data):
    model = tiny(data, True)
    src, tgt = sample(data, 6)
    x, x_len, y, _ = s2s.to_tensors(src, tgt)
    with torch.no_grad():
        _, alpha = model(x, x_len, y[:, :-1])
    for b, L in enumerate(x_len.tolist()):
        assert torch.all(alpha[b, :, L:] == 0)
        torch.testing.assert_close(alpha[b].sum(-1), torch.ones(alpha.shape[1], dtype=alpha.dtype))


# -- decoding ---------------------------------------------------------------------------------
@pytest.mark.parametrize("attention", [False, True])
def test_batched_greedy_equals_helpers_decoding_greedy_and_beam_width_one(data, attention):
    model = tiny(data, attention, seed=2, double=False)
    p = s2s.numpy_params(model)
    src, _ = sample(data, 5, seed=1)
    ids, _ = s2s.greedy_batch(model, *s2s.to_tensors(src), max_len=12)
    for b, s in enumerate(src):
        step, state = s2s.make_step(p, s)
        tokens, _ = decoding.greedy(step, state, s2s.BOS_ID, s2s.EOS_ID, 12)
        row = list(ids[b])
        expect = row[:row.index(s2s.EOS_ID)] if s2s.EOS_ID in row else row
        assert tokens == expect
        assert decoding.beam_search(step, state, s2s.BOS_ID, s2s.EOS_ID, 12, width=1)[0] == tokens
        free = s2s.run_decoder_np(p, s, max_len=12)
        assert list(free["ids"][:len(tokens)]) == tokens
        forced = s2s.run_decoder_np(p, s, forced=[s2s.BOS_ID] + list(free["ids"]))
        np.testing.assert_array_equal(forced["ids"], free["ids"])   # fed its own output = free running


def test_interpolation_ends_are_the_two_translations(data):
    model = tiny(data, False, seed=4, double=False)
    a, b = data["held_out"].src[10], data["held_out"].src[900]
    path = s2s.interpolate_contexts(model, a, b, data["tgt_vocab"], steps=3)
    assert [t for t, _ in path] == [0.0, 0.5, 1.0]
    assert [path[0][1], path[-1][1]] == s2s.translate(model, [a, b], data["tgt_vocab"])


def test_metrics():
    assert s2s.exact_match(["ab", "c"], ["ab", "d"]) == 0.5
    by = s2s.accuracy_by_length(["a", "b", "c"], ["a", "x", "c"], [2, 2, 5])
    assert by == {2: (0.5, 2), 5: (1.0, 1)}


def test_shapes_are_checked_where_data_enters(data):
    model = tiny(data, True)
    x, x_len = s2s.to_tensors([np.array([3, 4]), np.array([5])])
    with pytest.raises(ValueError, match="x_len"):
        model(x, torch.tensor([2, 3]), x)
    with pytest.raises(ValueError, match="y_in"):
        model(x, x_len, x[:1])
    with pytest.raises(ValueError, match="enc_out"):
        s2s.attention(np.zeros(5), np.zeros((3, 4)), np.zeros((5, 5)))
    with pytest.raises(ValueError, match="src_ids"):
        s2s.encode_np(s2s.numpy_params(model), [])


def test_edit_distance():
    assert s2s.edit_distance("kitten", "sitting") == 3
    assert s2s.edit_distance([], [1, 2]) == 2 and s2s.edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert s2s.edit_distance("einundzwanzig", "zweiundzwanzig") == 3


def test_make_model_is_seeded_and_leaves_the_global_generator_alone(data):
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = tiny(data, False, seed=5, c_every_step=False)
    assert torch.equal(torch.rand(3), before)                  # the global generator did not move
    b = tiny(data, False, seed=5, c_every_step=False)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert a.decoder.gru.input_size == 6 and tiny(data, False).decoder.gru.input_size == 6 + 5


def test_the_first_state_only_decoder_never_reads_c_after_step_one(data):
    """Without C at every step, C enters only as s_0: the same s_0 with another C changes nothing."""
    p = s2s.numpy_params(tiny(data, False, c_every_step=False))
    h = np.random.default_rng(0).normal(size=5)
    a = s2s.decoder_step_np(p, 4, h, np.zeros(5))
    b = s2s.decoder_step_np(p, 4, h, np.ones(5))
    np.testing.assert_array_equal(a[0], b[0])
    q = s2s.numpy_params(tiny(data, False))
    assert not np.allclose(s2s.decoder_step_np(q, 4, h, np.zeros(5))[0], s2s.decoder_step_np(q, 4, h, np.ones(5))[0])


def test_side_by_side_training_equals_one_model_at_a_time(data):
    kw = dict(steps=6, batch=16, lr=2e-2, seed=1)
    make = lambda: {"a": tiny(data, False, seed=1, double=False, c_every_step=False),   # noqa: E731
                    "b": tiny(data, True, seed=2, double=False)}
    together = make()
    histories = s2s.train_side_by_side(together, data["train"], data["held_out"], **kw)
    alone = make()
    for name, m in alone.items():
        h = s2s.train(m, data["train"], data["held_out"], live=False, **kw)
        assert h["loss"] == histories[name]["loss"]
        assert all(torch.equal(x, y) for x, y in zip(m.parameters(), together[name].parameters()))


def test_beam_vs_greedy_counts(data):
    model = tiny(data, False, seed=2)
    few = s2s.subset(data["held_out"], slice(None, None, 200))
    pred = s2s.translate(model, few.src, data["tgt_vocab"])
    pred[0] = few.german[0]                                    # pretend one is right
    r = s2s.beam_vs_greedy(model, few, pred, data["tgt_vocab"], width=1, n_right=1)
    assert r["wrong"] == sum(p != g for p, g in zip(pred, few.german)) and r["right"] == 1
    assert r["fixed"] == 0 and r["broken"] == 1 - (s2s.translate(model, few.src[:1], data["tgt_vocab"])[0]
                                                   == few.german[0])


def test_digits_and_their_spread():
    assert s2s.digits_changed(305, 817) == 3 and s2s.digits_changed(21, 28) == 1 and s2s.digits_changed(7, 7) == 0
    numbers = np.arange(10000)
    xy = np.stack([numbers // 1000, np.zeros(10000)], 1) + np.random.default_rng(0).normal(size=(10000, 2)) * 0.01
    s = s2s.digit_spread(xy, numbers)
    assert s["thousands"] > 0.99 and s["ones"] < 0.01


def test_context_by_row_shows_the_bug_on_padded_rows_only(data):
    """As notebook 10 runs it: packed C equals C alone on every row; unpacked, every row with PAD is off."""
    model = s2s.make_model(len(data["src_vocab"]), len(data["tgt_vocab"]), seed=0)
    held = data["held_out"]
    rows = s2s.context_by_row(model, [held.src[int(np.argmax(held.source_lengths() == n))] for n in (2, 4, 5, 6, 7)])
    assert sorted(r["English words"] for r in rows) == [2, 4, 5, 6, 7]
    for r in rows:
        assert r["max |C packed - C alone|"] < 1e-5
        assert (r["max |h_n not packed - C alone| (bug)"] > 1e-3) == (r["PAD after it"] > 0)


def test_understanding_takes_the_right_answers_and_rejects_wrong_ones():
    from helpers import quiz

    qs = s2s.understanding({"C at s_0 only": 0.01, "C at every step": 0.99, "attention": 0.99})
    right = {"decoder input size": 96, "step of C": 3, "worse decoder": "C at s_0 only"}
    assert quiz.check(right, qs, name="t08")
    for key, wrong in (("decoder input size", 64), ("decoder input size", 32), ("step of C", 7),
                       ("worse decoder", "C at every step"), ("worse decoder", None), ("step of C", "three")):
        assert not quiz.check({**right, key: wrong}, qs, name="t08w")
    flipped = s2s.understanding({"C at s_0 only": 0.99, "C at every step": 0.5, "attention": 0.99})
    assert quiz.check({**right, "worse decoder": "C at every step"}, flipped, name="t08f")


def test_teacher_vs_free_on_a_briefly_trained_model(data):
    model = s2s.make_model(len(data["src_vocab"]), len(data["tgt_vocab"]), E=8, H=16, seed=0)
    s2s.train(model, data["train"], steps=40, batch=32, lr=2e-2, live=False)
    few = s2s.subset(data["held_out"], slice(None, None, 40))
    r = s2s.teacher_vs_free(model, few)
    tf = s2s.teacher_forced_accuracy(model, few)
    pred = s2s.translate(model, few.src, data["tgt_vocab"])
    # exactly right free running <=> every character right under teacher forcing
    assert r["exact"] == pytest.approx(tf["sequence"])
    assert r["exact"] == pytest.approx(s2s.exact_match(pred, few.german))
    assert r["teacher_forcing"] == pytest.approx(1 - tf["char"])
    assert r["exact"] < 1 and r["free_running"] >= r["teacher_forcing"] > 0
    assert r["fr_per_wrong_number"] >= r["tf_per_wrong_number"] >= 1


def test_subset_keeps_pairs_together(data):
    sub = s2s.subset(data["held_out"], np.array([3, 0]))
    assert sub.numbers.tolist() == data["held_out"].numbers[[3, 0]].tolist()
    assert tr.german(sub.numbers[0]) == sub.german[0] and len(sub) == 2


def test_pca_finds_the_main_directions():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 6)) * np.array([10, 5, 0.1, 0.1, 0.1, 0.1])
    xy, share = s2s.pca_2d(X)
    assert xy.shape == (500, 2) and share[0] > share[1] > 0.1 and share.sum() < 1
    assert abs(np.corrcoef(xy[:, 0], X[:, 0])[0, 1]) > 0.99


def test_training_lowers_the_loss_and_restores_the_thread_count(data):
    n = torch.get_num_threads()
    model = s2s.make_model(len(data["src_vocab"]), len(data["tgt_vocab"]), E=8, H=16, seed=0)
    history = s2s.train(model, data["train"], data["held_out"], steps=60, batch=32, lr=2e-2, live=False)
    assert np.mean(history["loss"][-5:]) < 0.7 * np.mean(history["loss"][:3])
    assert [s for s, _ in history["val"]] == [50, 60]
    assert torch.get_num_threads() == n


# -- exercise --------------------------------------------------------------------------------
def test_check_attention_weights_passes_the_reference_and_hints_otherwise():
    assert s2s.check_attention_weights(s2s.attention_weights)

    def no_mask(s, enc_out, W_a, mask):
        e = enc_out @ (W_a.T @ s)
        return np.exp(e) / np.exp(e).sum()

    verdict = s2s.check_attention_weights(no_mask)
    assert not verdict and "-inf" in verdict.message
    assert not s2s.check_attention_weights(None)

    def stub(s, enc_out, W_a, mask):
        raise NotImplementedError

    assert "NotImplementedError" in s2s.check_attention_weights(stub).message


# -- widget -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def widget(data):
    params = {"C at s_0 only": s2s.numpy_params(tiny(data, False, double=False, c_every_step=False)),
              "C at every step": s2s.numpy_params(tiny(data, False, double=False)),
              "attention": s2s.numpy_params(tiny(data, True, double=False))}
    return Seq2SeqWidget(params, data, text="thirty-one")


def test_compute_shapes(data):
    p = s2s.numpy_params(tiny(data, True, double=False))
    src = tr.parse_english("two hundred and five", data["src_vocab"])
    r = compute(p, src)
    T = len(r["ids"])
    assert r["states"].shape == (4, 5) and r["C"].shape == (5,)
    assert r["candidates"].shape == (T, 3) and r["probs"].shape == (T, 3) and r["attention"].shape == (T, 4)
    assert np.all(np.diff(r["probs"], axis=1) <= 0)


def test_widget_redraws_on_every_control(widget):
    c = widget.controls
    before = widget.image.value
    c["text"].value = "seven thousand and twelve"
    assert widget.image.value != before and widget.message.value == ""
    for name, value in [("decoder", "C at every step"), ("decoder", "C at s_0 only"), ("feed", "teacher forcing"),
                        ("t", 3)]:
        before = widget.image.value
        c[name].value = value
        assert widget.image.value != before, name
    c["number"].value = 205
    assert c["text"].value == "two hundred and five"
    assert "205, a" in widget.title.get_text()
    assert len(widget.latencies_ms) >= 7
    assert "first state s_0 only" in widget.a_note.get_text()
    c["decoder"].value = "C at every step"
    assert "at every step" in widget.a_note.get_text()


def test_widget_answers_bad_input_with_a_message(widget):
    c = widget.controls
    c["text"].value = "fourty two"
    assert "forty" in widget.message.value
    c["text"].value = ""
    assert "type some" in widget.message.value
    c["text"].value = "one " * 20
    assert "too long" in widget.message.value
    c["text"].value = "one one"
    assert "not how English writes" in widget.message.value or "no reference" in widget.message.value
    c["feed"].value, c["text"].value = "teacher forcing", "five"   # fed 'fünf': 5 steps, the last <eos>
    assert c["t"].max == 5, "the step slider spans the output: its 5 steps, the last the end mark"
    c["t"].value = 5
    assert widget.message.value == "" and "step t = 5" in widget.subtitle.get_text()
    c["t"].value = 1
    assert widget.message.value == ""


def test_widget_graph_shows_cs_edges_and_attention_only_where_the_decoder_has_them(widget):
    c = widget.controls
    c["feed"].value, c["text"].value, c["t"].value = "free running", "two hundred and five", 3
    edges = lambda: set(widget.view.drawn_edges)                      # noqa: E731
    c["decoder"].value = "C at s_0 only"
    assert ("C", "s0") in edges() and not any(a == "C" and b != "s0" for a, b in edges())
    assert not any(a.startswith("e") and b.startswith("s") for a, b in edges())
    assert not any("Cs" in t.get_text() and t.get_visible() for t in widget.view.ax.texts)
    c["decoder"].value = "C at every step"
    assert ("C", "s3") in edges() and not any(a.startswith("e") and b.startswith("s") for a, b in edges())
    assert any("Cs" in t.get_text() and t.get_visible() for t in widget.view.ax.texts)
    c["decoder"].value = "attention"
    into_t = {a for a, b in edges() if a.startswith("e") and b == "s3"}
    assert into_t == {f"e{j}" for j in range(w_mod.MAX_WORDS - 3, w_mod.MAX_WORDS + 1)}    # the 4 words, right-aligned
    assert widget.view.texts[f"x{w_mod.MAX_WORDS}"].get_text() == "five"
    before = widget.image.value
    c["t"].value = 4
    assert widget.image.value != before and widget.view.t == 4


def test_the_benchmarked_demo_widget_is_its_most_expensive_case():
    """Untrained, the demo's decoder never writes <eos>: every number it is driven through fills all MAX_STEPS."""
    widget = w_mod.demo()
    for n in (31, 205, 3847, 9999):
        widget.controls["number"].value = n
        assert len(widget._run["ids"]) == w_mod.MAX_STEPS and not widget.errors
