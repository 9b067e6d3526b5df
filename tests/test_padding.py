"""Notebook 10: padding, masks and packing; the classic bugs reproduced and fixed; shapes; the widget."""
import numpy as np
import pytest
import torch

from helpers import bidirectional as bd, padding, padding_widget, surnames

torch.set_num_threads(1)
NAMES = ["smith", "lee", "johnson", "le"]
SEQS = [surnames.encode(n) for n in NAMES]


def test_pad_gives_ids_lengths_and_mask():
    ids, lengths, mask = padding.pad([[5, 6, 7], [8], [9, 10]])
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert lengths.tolist() == [3, 1, 2]
    assert mask.tolist() == [[True, True, True], [True, False, False], [True, True, False]]
    with pytest.raises(ValueError):
        padding.pad([])
    with pytest.raises(ValueError):
        padding.pad([[1], []])


def test_packed_order_is_torchs():
    rng = np.random.default_rng(0)
    for _ in range(200):
        lengths = rng.integers(1, 9, rng.integers(1, 9))
        order, sizes = padding.packed_order(lengths)
        t_order, t_sizes, sorted_rows = padding.torch_packed_order(lengths)
        assert np.array_equal(order, t_order) and np.array_equal(sizes, t_sizes)
        assert sizes.sum() == lengths.sum() and np.all(np.diff(sizes) <= 0)
        assert np.array_equal(lengths[sorted_rows], np.sort(lengths)[::-1])


def test_names_of_lengths_are_real_and_distinct():
    names = padding.names_of_lengths([5, 5, 3, 13])
    assert [len(n) for n in names] == [5, 5, 3, 13] and names[0] != names[1]
    assert names[0] == "smith"                               # the most frequent 5-letter surname
    with pytest.raises(ValueError, match="no surname has 1 letters"):
        padding.names_of_lengths([1])


def test_final_state_from_a_pad_step_is_wrong_and_the_fixes_are_right():
    rows = padding.final_state_bug(padding.make_rnn(), SEQS)
    longest = int(np.argmax([len(s) for s in SEQS]))
    for b, row in enumerate(rows):
        assert row["output[b, L_b - 1] (fix)"] < 1e-12 and row["h_n, packed run (fix)"] < 1e-12
        if b == longest:
            assert row["output[:, -1] (bug)"] < 1e-12        # no padding in the longest row
        else:
            assert row["output[:, -1] (bug)"] > 1e-3 and row["h_n, padded run (bug)"] > 1e-3


def test_backward_pass_that_starts_on_padding_is_wrong_and_packing_fixes_it():
    rows = padding.backward_start_bug(padding.make_rnn(bidirectional=True), SEQS)
    for row, s in zip(rows, SEQS):
        assert row["h half, padded run"] < 1e-12                # the forward half never sees the padding
        assert row["h half, packed"] < 1e-12 and row["g half, packed (fix)"] < 1e-12
        if len(s) < max(map(len, SEQS)):
            assert row["g half, padded run (bug)"] > 1e-3


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [1, 2])
def test_packed_equals_one_by_one(bidirectional, layers):
    rnn = padding.make_rnn(bidirectional=bidirectional, num_layers=layers)
    assert padding.packed_vs_one_by_one(rnn, SEQS) < 1e-12
    ids, lengths, _ = padding.pad(SEQS)
    out, _ = padding.run_padded(rnn, ids)                   # and the padded run is not
    truth, _ = padding.run_one_by_one(rnn, SEQS)
    assert max(float((out[b, L - 1] - truth[b][L - 1]).abs().max()) for b, L in enumerate(lengths)) > 1e-3 \
        or not bidirectional


def test_numpy_by_hand_equals_packed_torch_outputs_and_gradients():
    rnn = padding.make_rnn(H=4, bidirectional=True)
    ids, lengths, mask = padding.pad(SEQS)
    hg, _ = padding.numpy_by_hand(rnn, SEQS)
    out, _ = padding.run_packed(rnn, ids, lengths)
    np.testing.assert_allclose(hg * mask[..., None], out.numpy(), atol=1e-12)
    # gradients of a loss on the real steps: numpy by hand vs torch autograd through packing
    R = np.random.default_rng(0).normal(size=hg.shape) * mask[..., None]
    packed = torch.nn.utils.rnn.pack_padded_sequence(padding.one_hot(ids), torch.as_tensor(lengths),
                                                     batch_first=True, enforce_sorted=False)
    t_out, _ = rnn(packed)
    t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True)
    (t_out * torch.as_tensor(R)).sum().backward()
    pf, pb = bd.direction_to_numpy(rnn), bd.direction_to_numpy(rnn, reverse=True)
    X = np.eye(len(surnames.CHARS))[ids]
    _, _, cache = bd.bi_run(pf, pb, X, "gru", lengths)
    gf, gb, _ = bd.bi_backward(pf, pb, cache, R[..., :4], R[..., 4:], "gru")
    for k, name in bd.TORCH_NAMES.items():
        np.testing.assert_allclose(gf[k], getattr(rnn, name).grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(gb[k], getattr(rnn, name + "_reverse").grad.numpy(), atol=1e-10)


def test_pad_in_the_loss_changes_it_and_ignoring_pad_gives_the_truth():
    model = padding.make_next_char(H=8)
    r = padding.pad_loss_bug(model, NAMES, extra_T=20)
    truth = r["one by one (truth)"]
    T = max(len(s) for s in SEQS)
    assert r[f"PAD ignored, padded to T={T} (fix)"] == pytest.approx(truth, abs=1e-5)
    assert r["PAD ignored, padded to T=20 (fix)"] == pytest.approx(truth, abs=1e-5)
    assert abs(r[f"PAD counted, padded to T={T} (bug)"] - r["PAD counted, padded to T=20 (bug)"]) > 1e-3
    assert abs(r[f"PAD counted, padded to T={T} (bug)"] - truth) > 1e-4


def test_training_with_the_pad_bug_runs_briefly():
    model, history = padding.train_with_pad_bug(["smith", "lee", "johnson", "li"] * 10, steps=5, batch=8,
                                                H=4, live=False)
    assert len(history["loss"]) == 5 and all(np.isfinite(history["loss"]))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("batch_first", [True, False])
def test_trace_shapes(bidirectional, layers, batch_first):
    lengths, I, H = (5, 3, 2), 4, 3
    D, B, T, N = 2 if bidirectional else 1, 3, 5, 10
    rows = dict(padding.trace_shapes(bidirectional, layers, batch_first, lengths, I, H))
    assert rows["x (padded input)"] == ((B, T, I) if batch_first else (T, B, I))
    assert rows["packed.data"] == (N, I) and rows["packed.batch_sizes"] == (T,)
    assert rows["out_packed.data"] == (N, D * H)
    assert rows["output (unpacked)"] == ((B, T, D * H) if batch_first else (T, B, D * H))
    assert rows["h_n"] == (layers * D, B, H)                  # batch_first never changes h_n
    if bidirectional:
        assert rows["torch.cat([h_n[-2], h_n[-1]], dim=1)"] == (B, 2 * H)


@pytest.mark.parametrize("layers", [1, 2])
def test_bidirectional_layout_which_slice_is_which(layers):
    claims = padding.bidirectional_layout(SEQS, num_layers=layers)
    right = [v for k, v in claims.items() if "wrong" not in k]
    wrong = [v for k, v in claims.items() if "wrong" in k]
    assert len(right) == 2 and all(v < 1e-12 for v in right)
    assert len(wrong) == 3 and all(v > 1e-3 for v in wrong)


def test_exercises_pass_the_answers_and_hint_otherwise():
    assert padding.check_last_states(padding.last_states)
    bad = padding.check_last_states(lambda out, lengths: out[:, -1])
    assert not bad and "test case 1" in bad.message and "lengths[b] - 1" in bad.message
    assert "np.arange" not in bad.message                       # a nudge first, the indexing only later
    only_case_1 = lambda out, lengths: padding.last_states(out, lengths) if len(lengths) == 4 else out[:, -1]
    bad = padding.check_last_states(only_case_1)
    assert not bad and "test case 1" not in bad.message and "np.arange(B)" in bad.message
    assert padding.check_masked_mean(padding.masked_mean)
    bad = padding.check_masked_mean(lambda losses, lengths: float(losses.mean()))
    assert not bad and "real steps" in bad.message and "mask.sum()" not in bad.message
    only_case_1 = lambda losses, lengths: padding.masked_mean(losses, lengths) if len(lengths) == 3 else 0.0
    bad = padding.check_masked_mean(only_case_1)
    assert not bad and "mask.sum()" in bad.message
    def stub(losses, lengths):
        raise NotImplementedError
    assert "NotImplementedError" in padding.check_masked_mean(stub).message


# -- the widget -----------------------------------------------------------------------------
def test_parse_lengths():
    assert padding_widget.parse_lengths("5, 3, 7, 2") == [5, 3, 7, 2]
    assert padding_widget.parse_lengths("5 3;7") == [5, 3, 7]
    for bad, words in (("", "type the lengths"), ("5, x", "not a whole number"), ("0, 3", "2 to 13"),
                       ("5, 40", "2 to 13"), ("-2", "2 to 13"), (",".join(["3"] * 9), "at most")):
        with pytest.raises(padding_widget.InputError, match=words):
            padding_widget.parse_lengths(bad)


def test_compute_lays_out_the_batch():
    r = padding_widget.compute([5, 3, 7, 2])
    assert r["mask"].sum() == 17 and r["mask"].shape == (4, 7)
    assert sorted(r["index"][r["mask"]].tolist()) == list(range(17))
    assert r["batch_sizes"].tolist() == [4, 4, 3, 2, 2, 1, 1]
    b, t = r["order"][4]                                       # packed row 4: step 1 of the longest name
    assert t == 1 and b == 2 and r["index"][b, t] == 4
    tall, short = padding_widget.draw(r, True), padding_widget.draw(padding_widget.compute([5, 3]), False)
    assert tall.shape[1:] == short.shape[1:] == (padding_widget.WIDTH, 4)           # the height fits the rows
    assert short.shape[0] < tall.shape[0] <= padding_widget.HEIGHT
    worst = padding_widget.draw(padding_widget.compute([13] * 8), True)      # the tallest picture still fits:
    assert (worst[-40:, :, :3] < 128).any()                                   # its last text line is drawn


def test_widget_updates_the_image_and_answers_bad_input():
    w = padding_widget.demo()
    before = w.image.value
    w.controls["lengths"].value = "4, 8, 3"
    assert w.image.value != before and w.message.value == ""
    after = w.image.value
    w.controls["bidirectional"].value = True
    assert w.image.value != after
    for bad in ("", "a, b", "0", "99", "1,2,3,4,5,6,7,8,9"):
        w.controls["lengths"].value = bad
        assert w.message.value != ""
    w.controls["lengths"].value = "6, 6"
    assert w.message.value == ""
    assert len(w.latencies_ms) >= 9


# -- the notebook's Try-this bullets and closing questions ----------------------------------------
def test_try_sorting_the_batch_yourself_packs_with_enforce_sorted():
    """Sorted longest first, the default enforce_sorted=True packs; h_n is the same rows, in the sorted order."""
    import torch

    ids, lengths, _ = padding.pad(SEQS)
    gru = padding.make_rnn(H=8)
    _, h_n = padding.run_packed(gru, ids, lengths)
    order = np.argsort(-lengths)
    packed = torch.nn.utils.rnn.pack_padded_sequence(padding.one_hot(ids[order]), torch.as_tensor(lengths[order]),
                                                     batch_first=True)
    with torch.no_grad():
        _, h_sorted = gru(packed)
    torch.testing.assert_close(h_sorted, h_n[:, order], atol=1e-12, rtol=0)
    with pytest.raises(RuntimeError):
        torch.nn.utils.rnn.pack_padded_sequence(padding.one_hot(ids), torch.as_tensor(lengths), batch_first=True)


def test_try_the_widget_batches():
    same = padding_widget.compute([5, 5, 5])
    assert same["mask"].all() and set(same["batch_sizes"].tolist()) == {3}
    long = padding_widget.compute([13, 2, 2, 2])
    assert (~long["mask"]).sum() > long["mask"].sum()                        # mostly padding
    assert long["batch_sizes"][:2].tolist() == [4, 4] and set(long["batch_sizes"][2:].tolist()) == {1}
    assert "33 PAD" in padding_widget.header(long, False)[0][0]
    a, b = padding_widget.compute([2, 13]), padding_widget.compute([13, 2])
    assert not np.array_equal(a["mask"], b["mask"])                          # the padded tensor changes
    assert np.array_equal(a["index"][a["sorted_rows"]], b["index"][b["sorted_rows"]])   # the packed layout does not
    assert a["sorted_rows"].tolist() != b["sorted_rows"].tolist()           # only the row labels do
    lines = " ".join(text for text, _, _ in padding_widget.header(long, True))
    assert "backward pass must start" in lines and "step 0" in lines


def test_understanding_takes_the_right_answers_and_rejects_wrong_ones():
    from helpers import quiz

    qs = padding.understanding()
    right = {"PAD cells": 11, "batch_sizes[3]": 2, "backward h_n is output at": "step 0"}
    assert quiz.check(right, qs, name="t10")
    for key, wrong in (("PAD cells", 17), ("PAD cells", 28), ("batch_sizes[3]", 3), ("batch_sizes[3]", 4),
                       ("backward h_n is output at", "the last real step"), ("backward h_n is output at", 0)):
        assert not quiz.check({**right, key: wrong}, qs, name="t10w")


def test_make_rnn_and_make_next_char_leave_the_global_generator_alone():
    import torch

    torch.manual_seed(7)
    before = torch.rand(2)
    torch.manual_seed(7)
    a, b = padding.make_rnn(seed=3), padding.make_next_char(H=4, seed=3)
    assert torch.equal(torch.rand(2), before)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), padding.make_rnn(seed=3).parameters()))
    assert all(torch.equal(x, y) for x, y in zip(b.parameters(), padding.make_next_char(H=4, seed=3).parameters()))
