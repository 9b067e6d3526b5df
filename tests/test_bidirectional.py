"""Notebook 09: the bidirectional RNN by hand (numpy and torch) against torch, the cloze task, the widget."""
import numpy as np
import pytest
import torch
from torch import nn

from helpers import bidir_widget, bidirectional as bd, cloze, gradcheck, surnames

torch.set_num_threads(1)
KINDS = {"rnn": nn.RNN, "gru": nn.GRU}


def _torch_bi(cell, I, H, seed=0):
    torch.manual_seed(seed)
    return KINDS[cell](I, H, batch_first=True, bidirectional=True).double()


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_numpy_bidirectional_equals_torch_outputs_and_gradients(cell):
    B, T, I, H = 3, 6, 4, 5
    rnn = _torch_bi(cell, I, H)
    pf, pb = bd.direction_to_numpy(rnn), bd.direction_to_numpy(rnn, reverse=True)
    rng = np.random.default_rng(0)
    X, R = rng.normal(size=(B, T, I)), rng.normal(size=(B, T, 2 * H))
    h, g, cache = bd.bi_run(pf, pb, X, cell)
    x = torch.tensor(X, requires_grad=True)
    out, h_n = rnn(x)
    (out * torch.tensor(R)).sum().backward()
    np.testing.assert_allclose(np.concatenate([h, g], -1), out.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(h[:, -1], h_n[0].detach().numpy(), atol=1e-10)   # forward ends at T
    np.testing.assert_allclose(g[:, 0], h_n[1].detach().numpy(), atol=1e-10)    # backward ends at 1
    gf, gb, dX = bd.bi_backward(pf, pb, cache, R[..., :H], R[..., H:], cell)
    for k, name in bd.TORCH_NAMES.items():
        np.testing.assert_allclose(gf[k], getattr(rnn, name).grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(gb[k], getattr(rnn, name + "_reverse").grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(dX, x.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("cell", ["rnn", "gru"])
@pytest.mark.parametrize("lengths", [None, [6, 2, 4]])
def test_numpy_backward_matches_finite_differences(cell, lengths):
    rng = np.random.default_rng(1)
    B, T, I, H = 3, 6, 3, 2
    pf, pb = bd.init_direction(I, H, cell, seed=2), bd.init_direction(I, H, cell, seed=3)
    X, R = rng.normal(size=(B, T, I)), rng.normal(size=(B, T, 2 * H))
    h, g, cache = bd.bi_run(pf, pb, X, cell, lengths)
    gf, gb, _ = bd.bi_backward(pf, pb, cache, R[..., :H], R[..., H:], cell)

    def loss():
        h, g, _ = bd.bi_run(pf, pb, X, cell, lengths)
        return float((np.concatenate([h, g], -1) * R).sum())

    for params, grads in ((pf, gf), (pb, gb)):
        errors = gradcheck.check_gradients(loss, params, grads)
        assert max(errors.values()) < 1e-6, errors


def test_bi_forward_is_bi_run_and_g_reads_from_the_right():
    pf, pb = bd.init_direction(4, 3, seed=0), bd.init_direction(4, 3, seed=1)
    X = np.random.default_rng(0).normal(size=(2, 5, 4))
    h, g = bd.bi_forward(pf, pb, X)
    h2, g2, _ = bd.bi_run(pf, pb, X)
    np.testing.assert_allclose(h, h2)
    np.testing.assert_allclose(g, g2)
    X2 = X.copy()
    X2[:, 4] += 1.0                                   # change the last input only
    h3, g3 = bd.bi_forward(pf, pb, X2)
    np.testing.assert_allclose(h3[:, :4], h[:, :4])   # h_t for t < T has not read it
    assert np.abs(g3[:, 0] - g[:, 0]).max() > 1e-3    # g_1 has


def test_shapes_are_checked_with_a_message():
    p = bd.init_direction(4, 3)
    with pytest.raises(ValueError, match=r"\(B, T, 4\)"):
        bd.run(p, np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="cell must be"):
        bd.run(p, np.zeros((2, 5, 4)), cell="lstm")


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_two_torch_rnns_by_hand_equal_bidirectional_true(cell):
    torch.manual_seed(0)
    two = bd.two_rnns_class()(4, 5, cell).double()
    bi = KINDS[cell](4, 5, batch_first=True, bidirectional=True).double()
    bd.copy_two_to_bidirectional(two, bi)
    x = torch.randn(3, 7, 4, dtype=torch.float64)
    a, b = two(x), bi(x)[0]
    torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    a.pow(2).sum().backward()
    b.pow(2).sum().backward()
    torch.testing.assert_close(two.bwd.weight_hh_l0.grad, bi.weight_hh_l0_reverse.grad, atol=1e-12, rtol=0)
    torch.testing.assert_close(two.fwd.weight_ih_l0.grad, bi.weight_ih_l0.grad, atol=1e-12, rtol=0)


def test_direction_round_trip():
    rnn = _torch_bi("gru", 4, 3)
    p = bd.init_direction(4, 3, seed=5)
    bd.direction_to_torch(p, rnn, reverse=True)
    back = bd.direction_to_numpy(rnn, reverse=True)
    for k in p:
        np.testing.assert_allclose(back[k], p[k])


# -- the cloze model -----------------------------------------------------------------------
NAMES = ["jones", "smith", "brown"]


@pytest.mark.parametrize("kind", ["uni", "bi"])
def test_cloze_numpy_twin_equals_torch(kind):
    model = cloze.make_model(kind, H=5).double()
    params = cloze.to_numpy(model)
    ids = np.stack([surnames.encode(n) for n in NAMES])
    loss, grads = cloze.np_loss_and_grads(params, ids)
    t_loss = cloze.torch_loss(model, torch.as_tensor(ids))
    t_loss.backward()
    assert loss == pytest.approx(float(t_loss.detach()), abs=1e-10)
    logits = model(torch.as_tensor(ids))
    for head, value in cloze.np_forward(params, ids)["logits"].items():
        np.testing.assert_allclose(value, logits[head].detach().numpy(), atol=1e-10)
    torch_grads = {k: p.grad.numpy() for k, p in model.named_parameters()}
    names = {f"{k}_f": f"rnn.{v}" for k, v in bd.TORCH_NAMES.items()}
    names.update({f"{k}_b": f"rnn.{v}_reverse" for k, v in bd.TORCH_NAMES.items()})
    for head in cloze.HEADS[kind] + (cloze.TAG,):
        names.update({f"W_{head}": f"heads.{head}.weight", f"b_{head}": f"heads.{head}.bias"})
    assert set(grads) == {k for k in names if k in params}
    for k in grads:
        np.testing.assert_allclose(grads[k], torch_grads[names[k]], atol=1e-10)


def test_cloze_gradients_match_finite_differences():
    params = cloze.to_numpy(cloze.make_model("bi", H=3).double())
    ids = np.stack([surnames.encode(n) for n in ["li", "ng"]])
    _, grads = cloze.np_loss_and_grads(params, ids)
    errors = gradcheck.check_gradients(lambda: cloze.np_loss_and_grads(params, ids)[0], params, grads, eps=1e-5)
    assert max(errors.values()) < 1e-6, errors


def test_the_guess_for_a_letter_never_reads_that_letter():
    params = cloze.to_numpy(cloze.make_model("bi", H=8))
    a = cloze.np_predict(params, "johnson")["probs"]
    b = cloze.np_predict(params, "joxnson")["probs"]      # letter 3 changed
    for head in ("h", "g", "hg"):
        np.testing.assert_allclose(a[head][2], b[head][2], atol=1e-12)
    assert np.abs(a["h"][3] - b["h"][3]).max() > 1e-6      # h at a later letter has read it
    assert np.abs(a["g"][1] - b["g"][1]).max() > 1e-6      # g at an earlier letter has read it


def test_h_only_guess_for_the_first_letter_is_the_same_for_every_name():
    params = cloze.to_numpy(cloze.make_model("bi", H=8))
    first = [cloze.np_predict(params, n)["probs"]["h"][0] for n in ("smith", "li", "rodriguez")]
    np.testing.assert_allclose(first[0], first[1])
    np.testing.assert_allclose(first[0], first[2])
    last = [cloze.np_predict(params, n)["probs"]["g"][-1] for n in ("smith", "li", "rodriguez")]
    np.testing.assert_allclose(last[0], last[2])


def test_data_groups_and_sampler():
    groups = cloze.by_length(["li", "ng", "smith", "jones", "lee"])
    assert sorted(groups) == [2, 3, 5] and groups[5].shape == (2, 7)
    draw1, draw2 = cloze.sampler(groups, 4, seed=3), cloze.sampler(groups, 4, seed=3)
    for _ in range(5):
        a, b = draw1(), draw2()
        assert a.shape[0] == 4 and np.array_equal(a, b)
    assert cloze.blanked("johnson", 3) == "jo_nson"


def test_short_training_lowers_the_loss_and_accuracy_is_a_share():
    s = surnames.split()
    groups = cloze.by_length(s["train"][:3000])
    model, history = cloze.train("bi", groups, steps=40, batch=32, H=16, live=False)
    assert np.mean(history["loss"][-5:]) < np.mean(history["loss"][:5])
    acc = cloze.accuracy(model, cloze.by_length(s["test"][:300]))
    assert set(acc) == {"hg", "h", "g", "top3", "by_position", "names_by_position", "n"}
    assert all(acc[h] <= acc["top3"][h] <= 1 for h in ("hg", "h", "g"))
    first = cloze.guesses(model, "johnson", 3)
    assert [len(first[h]) for h in ("hg", "h", "g")] == [3, 3, 3]
    assert first["hg"][0][1] >= first["hg"][1][1] >= first["hg"][2][1]
    tags = cloze.tag_scores(model, cloze.by_length(s["test"][:300]))
    assert 0 <= tags["recall"] <= 1 and tags["doubled"] == sum(cloze.tags_text(n).count("1") for n in s["test"][:300])
    assert tags["n"] == acc["n"] and 0.85 < tags["all_zero_accuracy"] < 1
    assert all(0 <= acc[h] <= 1 for h in ("hg", "h", "g"))
    assert acc["n"] == sum(len(n) for n in s["test"][:300]) == acc["names_by_position"].sum()
    longest = max(len(n) for n in s["test"][:300])
    assert acc["names_by_position"][0] == 300 and len(acc["names_by_position"]) == longest
    assert acc["names_by_position"][1] == sum(len(n) >= 2 for n in s["test"][:300])
    assert isinstance(cloze.plot_by_position({"bi": acc}), bytes)


def test_forward_model_loses_nothing_when_generating_but_bidirectional_does():
    groups = cloze.by_length(["smith", "jones", "li", "garcia"])
    uni, bi = cloze.make_next_char("uni", H=6), cloze.make_next_char("bi", H=6)
    assert cloze.teacher_forced_loss(uni, groups) == pytest.approx(cloze.generation_loss(uni, groups), abs=1e-5)
    assert abs(cloze.teacher_forced_loss(bi, groups) - cloze.generation_loss(bi, groups)) > 1e-4
    names = cloze.sample_names(uni, n=3, seed=0)
    assert len(names) == 3 and names == cloze.sample_names(uni, n=3, seed=0)


def test_exercise_check_passes_the_answer_and_hints_otherwise():
    assert cloze_ok(bd.check_cloze_features(bd.cloze_features))
    wrong = bd.check_cloze_features(lambda h, g: np.concatenate([h[:, 1:-1], g[:, 1:-1]], -1))
    assert not wrong and "h[:, k - 1]" in wrong.message and "h[:, :-2]" not in wrong.message  # a nudge first
    one_row = bd.check_cloze_features(lambda h, g: np.concatenate([h[:1, :-2], g[:1, 2:]], -1))
    assert not one_row and "test case 2" in one_row.message and "h[:, :-2]" in one_row.message  # then the slices
    stub = bd.check_cloze_features(lambda h, g: (_ for _ in ()).throw(NotImplementedError))
    assert not stub and "NotImplementedError" in stub.message
    assert not bd.check_cloze_features(None)


def cloze_ok(verdict):
    return bool(verdict) and "matches" in verdict.message


# -- the widget -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def widget():
    return bidir_widget.demo()


def test_widget_compute_is_pure_and_shaped():
    params = cloze.to_numpy(cloze.make_model("bi", H=8))
    r = bidir_widget.compute(params, "johnson", 3)
    assert r["h"].shape == (9, 8) and r["g"].shape == (9, 8)
    assert r["answer"] == surnames.ALPHABET.index("h")
    for p in r["probs"].values():
        assert p.shape == (26,) and p.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        bidir_widget.compute(params, "li", 3)


def test_widget_updates_the_image_and_answers_bad_input(widget):
    before, n = widget.image.value, len(widget.latencies_ms)
    widget.controls["k"].value = 5
    assert widget.image.value != before and widget.message.value == ""
    after_k = widget.image.value
    widget.controls["name"].value = "garcia"
    assert widget.image.value != after_k
    for bad, words in (("", "type a surname"), ("o'neil", "only the letters"), ("x" * 30, "letters")):
        widget.controls["name"].value = bad
        assert words in widget.message.value
    widget.controls["name"].value = "li"                    # the slider shrinks to the name: no bad blank
    assert widget.controls["k"].max == 2 and widget.controls["k"].value <= 2 and widget.message.value == ""
    for ax in widget.axes:                                  # the heatmaps' columns are <s> l i </s>, no more
        assert ax.get_xlim() == (-0.5, 3.5) and ax.images[0].get_array().shape[1] == 4
    widget.controls["name"].value = "Smith "                # upper case and spaces are tidied
    assert widget.message.value == "" and widget.controls["k"].max == 5
    assert len(widget.latencies_ms) > n + 5
    with pytest.raises(bidir_widget.InputError, match="move the blank"):
        bidir_widget.check_name("li", 5)


# -- check your understanding --------------------------------------------------------------
def test_closing_questions_take_the_right_answers_and_reject_wrong_ones():
    from helpers import quiz

    qs = cloze.understanding()
    key3 = "tokens g_(k+1) has read in jo_nson"
    assert set(qs) == {"cloze reads", "tag reads", key3}
    right = {"cloze reads": "h_{k-1} and g_{k+1}", "tag reads": "h_k and g_k", key3: 5}
    assert quiz.check(right, qs, name="t09")
    for key, wrong in (("cloze reads", "h_k and g_k"), ("cloze reads", "h_{k-1} only"), ("tag reads", "h_{k-1} and g_{k+1}"),
                       ("tag reads", ["h_k and g_k"]), (key3, 4), (key3, 6), (key3, "five")):
        verdict = quiz.check(right | {key: wrong}, qs, name="t09w")
        assert not verdict and "2 of 3 right" in verdict.message, (key, wrong)
    # the expected count is what g_{k+1} has read: the letters after the blank and </s>
    assert len(surnames.encode("johnson")[3 + 1:]) == 5


def test_tags_and_doubled():
    assert cloze.tags_text("miller") == "001100" and cloze.tags_text("jones") == "00000"
    assert cloze.tags_text("scott") == "00011" and cloze.tags_text("aaa") == "111"
    ids = np.stack([surnames.encode(n) for n in ("abba", "aabb")])
    np.testing.assert_array_equal(cloze.doubled(ids), [[0, 1, 1, 0], [1, 1, 1, 1]])
    np.testing.assert_array_equal(cloze.doubled(torch.as_tensor(ids)).numpy(), cloze.doubled(ids))
    with pytest.raises(ValueError, match=r"\(B, L \+ 2\)"):
        cloze.doubled(np.array([1, 3, 2]))


def test_widget_graph_is_the_seeds_picture_lit_at_the_blank(widget):
    spec = bidir_widget.graph_spec()
    outputs = [e for e in spec.edges if e.dst == "o4"]
    assert {e.src for e in outputs} == {"h4", "g4"}                 # o_t reads [h_t; g_t]
    widget.controls["name"].value = "miller"
    widget.controls["k"].value = 3
    view, r = widget.view, widget.values
    roles = view.roles()
    assert roles["o4"] == "now" and roles["h3"] == "done" and roles["g5"] == "done" and roles["h5"] == "later"
    assert {n for n in ("x8", "h8", "g8") if n in view.hidden} == set()        # <s> m i l l e r </s>: 8 steps
    assert {"x9", "h9", "o9"} <= view.hidden                                   # the rest hidden
    assert [view.texts[f"o{p + 1}"].get_text() for p in (1, 6)] == [f"{r['p_doubled'][0]:.2f}", f"{r['p_doubled'][5]:.2f}"]
    assert view.texts["o1"].get_text() == "" and view.texts["x4"].get_text() == "l"
    (x0, _), (x1, _) = (f.get_xy() for f in widget.graph_frames)              # framed: h_{k-1} and g_{k+1}
    w = view.box[0]
    assert abs(x0 + w / 2 + 0.06 - view.nodes["h3"].col) < 1e-9 and abs(x1 + w / 2 + 0.06 - view.nodes["g5"].col) < 1e-9
    np.testing.assert_allclose(view.values["h4"], r["h"][3])
    np.testing.assert_allclose(view.values["g5"], r["g"][4])
    before = widget.image.value
    widget.controls["k"].value = 5                                             # the lit step moves with the blank
    assert widget.view.roles()["o6"] == "now" and widget.image.value != before


def test_builders_take_a_seed_and_leave_the_global_generator_alone():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a, b = cloze.make_model("bi", H=4, seed=5), cloze.make_model("bi", H=4, seed=5)
    n1, n2 = cloze.make_next_char("bi", H=4, seed=5), cloze.make_next_char("bi", H=4, seed=6)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(n1.rnn.weight_hh_l0, n2.rnn.weight_hh_l0)
