"""Notebook 07: the captioner (numpy decoder step == torch, gradients, decoding) and its widget."""
import numpy as np
import pytest
import torch

from helpers import caption_widget, captioning, decoding, gradcheck, scenes
from helpers.live import InputError
from helpers.scenes import Obj


def small_model(mode="input", dtype=torch.float64, seed=0):
    """A small untrained model in float64, for exact comparisons."""
    return captioning.make_model(K=6, E=5, H=7, mode=mode, seed=seed, dtype=dtype, F=6, Kc=2)


@pytest.fixture(scope="module")
def trained():
    """A briefly trained default-size model (a few seconds): enough for decoding properties."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                  # small batches: one thread is faster than two
    try:
        data = scenes.make_split(600, "train", seed=0)
        model = captioning.make_model()
        hist = captioning.train(model, data, steps=100, live=False)
    finally:
        torch.set_num_threads(threads)
    return model, hist


# -- the model --------------------------------------------------------------------------
@pytest.mark.parametrize("mode", captioning.MODES)
def test_numpy_decoder_step_equals_torch(mode):
    model = small_model(mode)
    p = captioning.numpy_params(model)
    rng = np.random.default_rng(0)
    v = rng.normal(size=model.D)
    h = captioning.initial_state(p, v, mode)
    with torch.no_grad():
        vt = torch.tensor(v)[None]
        ht = model.h0(vt)                                              # (1, 1, H)
        assert np.allclose(ht[0, 0].numpy(), h, atol=1e-12)
        for token in [scenes.INDEX[scenes.BOS], 3, 9, 14, 2]:
            logp, h = captioning.decoder_step(p, v, h, token, mode)
            x = model.emb(torch.tensor([[token]]))
            if mode == "input":
                x = torch.cat([x, vt[:, None]], -1)
            out, ht = model.gru(x, ht)
            want = torch.log_softmax(model.out(out[0, 0]), -1).numpy()
            np.testing.assert_allclose(logp, want, atol=1e-10)
            np.testing.assert_allclose(h, ht[0, 0].numpy(), atol=1e-10)


@pytest.mark.parametrize("mode", captioning.MODES)
def test_teacher_forcing_equals_the_numpy_steps_on_real_pictures(mode):
    model = small_model(mode)
    p = captioning.numpy_params(model)
    data = scenes.make_split(3, "train", seed=3)
    images = torch.tensor(data["images"], dtype=torch.float64)
    ids = torch.tensor(data["ids"])
    with torch.no_grad():
        o = torch.log_softmax(model(images, ids[:, :-1]), -1).numpy()  # (B, T, V)
    vs = captioning.encode_images(model, data["images"])
    for b in range(3):
        h = captioning.initial_state(p, vs[b], mode)
        for t, token in enumerate(data["ids"][b, :-1]):
            logp, h = captioning.decoder_step(p, vs[b], h, int(token), mode)
            np.testing.assert_allclose(logp, o[b, t], atol=1e-10)


@pytest.mark.parametrize("mode", captioning.MODES)
def test_numpy_step_gradients_equal_torch_and_finite_differences(mode):
    model = small_model(mode)
    p = captioning.numpy_params(model)
    rng = np.random.default_rng(1)
    v, h, token, target = rng.normal(size=model.D), rng.normal(0, 0.5, model.H), 5, 11
    loss, g = captioning.decoder_step_backward(p, v, h, token, mode, target)
    # torch autograd on the same step
    vt = torch.tensor(v, requires_grad=True)
    ht = torch.tensor(h, requires_grad=True)
    x = model.emb(torch.tensor([[token]]))
    if mode == "input":
        x = torch.cat([x, vt[None, None]], -1)
    out, _ = model.gru(x, ht[None, None])
    lt = -torch.log_softmax(model.out(out[0, 0]), -1)[target]
    lt.backward()
    assert loss == pytest.approx(float(lt.detach()), abs=1e-12)
    names = {"emb": model.emb.weight, "W_ih": model.gru.weight_ih_l0, "W_hh": model.gru.weight_hh_l0,
             "b_ih": model.gru.bias_ih_l0, "b_hh": model.gru.bias_hh_l0, "W_hy": model.out.weight,
             "b_y": model.out.bias}
    for name, param in names.items():
        np.testing.assert_allclose(g[name], param.grad.numpy(), atol=1e-10, err_msg=name)
    np.testing.assert_allclose(g["h"], ht.grad.numpy(), atol=1e-10)
    if mode == "input":
        np.testing.assert_allclose(g["v"], vt.grad.numpy(), atol=1e-10)
    # finite differences, for the hand-written backward alone
    f = lambda: captioning.decoder_step_backward(p, v, h, token, mode, target)[0]
    errors = gradcheck.check_gradients(f, {k: p[k] for k in names}, g)
    errors.update(gradcheck.check_gradients(f, {"h": h, "v": v} if mode == "input" else {"h": h}, g))
    assert max(errors.values()) < 1e-6, errors


def test_the_encoder_looks_at_each_place_alone():
    """A cell's numbers in v depend only on what is drawn in that cell (no leaking neighbours)."""
    model = captioning.make_model(seed=2)
    alone = scenes.render((Obj("cross", "blue", "large", 1, 1),))
    crowded = scenes.render((Obj("cross", "blue", "large", 1, 1), Obj("square", "red", "large", 1, 0),
                             Obj("triangle", "green", "large", 1, 2)))
    moved = scenes.render((Obj("cross", "blue", "large", 0, 1),))
    v = captioning.encode_images(model, np.stack([alone, crowded, moved]).transpose(0, 3, 1, 2))
    v = v.reshape(3, len(captioning.STAGE), model.K)
    centre, top = list(scenes.POSITIONS).index("centre"), list(scenes.POSITIONS).index("top")
    np.testing.assert_allclose(v[0, centre], v[1, centre], atol=1e-6)
    np.testing.assert_allclose(v[0, centre], v[2, top], atol=1e-6)     # same object, another place
    assert not np.allclose(v[0, centre], v[0, top])


def test_cell_patches_cut_the_stage_cells():
    x = torch.arange(2 * 3 * 36 * 36, dtype=torch.float32).reshape(2, 3, 36, 36)
    p = captioning.cell_patches(x)
    assert p.shape == (2, 5, 3, 12, 12)
    for k, (name, (r, c)) in enumerate(scenes.POSITIONS.items()):
        assert torch.equal(p[:, k], x[:, :, r * 12:(r + 1) * 12, c * 12:(c + 1) * 12]), name


def test_learning_rate_falls_linearly_to_zero(monkeypatch):
    from helpers import training

    used = []

    class Spy(training.TorchAdam):
        def step(self):
            used.append(self.lr)
            super().step()

    monkeypatch.setattr(training, "TorchAdam", Spy)
    captioning.train(small_model(dtype=torch.float32), scenes.make_split(40, "train", seed=0),
                     steps=10, batch=4, lr=0.5, live=False)
    np.testing.assert_allclose(used, 0.5 * (1 - np.arange(10) / 10))


def test_make_model_takes_a_seed_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = captioning.make_model(seed=5)
    after = torch.rand(3)
    b = captioning.make_model(seed=5)
    c = captioning.make_model(seed=6)
    assert torch.equal(before, after)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.gru.weight_hh_l0, c.gru.weight_hh_l0)


def test_snapshots_and_with_weights():
    model = small_model(dtype=torch.float32)
    hist = captioning.train(model, scenes.make_split(40, "train", seed=0), steps=6, batch=4, live=False,
                            snapshots=(0, 3, 6))
    assert sorted(hist["snapshots"]) == [0, 3, 6]
    first, last = (captioning.with_weights(model, hist["snapshots"][s]) for s in (0, 6))
    fresh = small_model(dtype=torch.float32)
    assert all(torch.equal(x, y) for x, y in zip(first.parameters(), fresh.parameters()))
    assert all(torch.equal(x, y) for x, y in zip(last.parameters(), model.parameters()))
    assert not torch.equal(first.out.weight, last.out.weight)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="mode"):
        captioning.make_model(mode="both")
    model = captioning.make_model()
    with pytest.raises(ValueError, match="images must have shape"):
        captioning.encode_images(model, np.zeros((2, 36, 36, 3), np.float32))
    with pytest.raises(ValueError, match="v must have shape"):
        captioning.caption_ids(captioning.numpy_params(model), np.zeros(3), "input")


# -- training and decoding ---------------------------------------------------------------
def test_training_lowers_the_loss_and_decays_the_learning_rate(trained):
    model, hist = trained
    assert np.mean(hist["loss"][-20:]) < 0.6 * np.mean(hist["loss"][:20])
    # the learning-rate hook is gone after training: a new optimizer keeps its lr
    w = torch.nn.Parameter(torch.ones(1))
    opt = torch.optim.Adam([w], lr=0.5)
    w.sum().backward()
    opt.step()
    assert opt.param_groups[0]["lr"] == 0.5


def test_beam_width_one_is_greedy_and_beam_never_scores_below_greedy(trained):
    model, _ = trained
    p = captioning.numpy_params(model)
    data = scenes.make_split(25, "held_out", seed=4)
    vs = captioning.encode_images(model, data["images"]).astype(float)
    bos, eos = scenes.INDEX[scenes.BOS], scenes.INDEX[scenes.EOS]
    for v in vs:
        step, h0 = captioning.step_function(p, v, model.mode), captioning.initial_state(p, v, model.mode)
        greedy = decoding.greedy(step, h0, bos, eos, captioning.MAX_LEN)
        assert decoding.beam_search(step, h0, bos, eos, captioning.MAX_LEN, width=1) == greedy
        assert captioning.caption_ids(p, v, model.mode, 1) == greedy
        _, beam_score = captioning.caption_ids(p, v, model.mode, 4)
        assert beam_score >= greedy[1] - 1e-9


@pytest.mark.parametrize("mode", captioning.MODES)
def test_batched_greedy_equals_the_numpy_greedy_decoder(trained, mode):
    model = trained[0] if mode == "input" else captioning.make_model(mode="h0", seed=3)
    data = scenes.make_split(30, "held_out", seed=5)
    p = captioning.numpy_params(model)
    vs = captioning.encode_images(model, data["images"]).astype(float)
    want = [captioning.caption_ids(p, v, mode, 1)[0] for v in vs]
    assert captioning.greedy_batch(model, data["images"]) == want
    assert captioning.evaluate(model, data)["preds"] == want


def test_evaluate_counts_exact_captions_and_words(trained):
    model, _ = trained
    data = scenes.make_split(20, "train", seed=7)
    r = captioning.evaluate(model, data, width=1)
    refs = [[int(t) for t in row if t > scenes.INDEX[scenes.EOS]] for row in data["ids"]]
    assert r["exact"] == pytest.approx(np.mean([a == b for a, b in zip(r["preds"], refs)]))
    assert 0 <= r["exact"] <= r["words"] <= 1
    assert captioning.word_accuracy([1, 2, 3], [1, 2, 3]) == (3, 3)
    assert captioning.word_accuracy([1, 5, 3, 4], [1, 2, 3]) == (2, 4)
    assert captioning.word_accuracy([], [7, 8]) == (0, 2)
    assert 0 <= captioning.teacher_forced_accuracy(model, data) <= 1


def test_greedy_exercise_check():
    assert captioning.check_greedy(decoding.greedy)
    assert not captioning.check_greedy(None)

    def keeps_eos(step, state, bos, eos, max_len):
        tokens, score = decoding.greedy(step, state, bos, eos, max_len)
        return tokens + [eos], score

    def no_score(step, state, bos, eos, max_len):
        return decoding.greedy(step, state, bos, eos, max_len)[0], 0.0

    for wrong in (keeps_eos, no_score):
        verdict = captioning.check_greedy(wrong)
        assert not verdict and "Hint" in verdict.message


# -- the widget -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def widget(trained):
    return caption_widget.CaptionWidget(trained[0])


def test_widget_update_path(widget):
    c = widget.controls
    before, n = widget.image.value, len(widget.latencies_ms)
    c["colour0"].value = "yellow" if c["colour0"].value != "yellow" else "green"
    assert widget.image.value != before and widget.message.value == ""
    assert len(widget.latencies_ms) == n + 1
    info = widget.info.value
    c["step"].value = 3
    assert widget.info.value != info and "step 3" in widget.info.value
    assert "greedy decoding" in widget.info.value
    assert "decoder" not in c and "width" not in c, "07 teaches greedy decoding only: no beam controls"


def test_widget_random_scene_updates_once(widget):
    n = len(widget.latencies_ms)
    widget.controls["split"].value = "novel"
    widget._random()
    assert len(widget.latencies_ms) == n + 2                   # the split change, then one for the scene
    assert any((o.colour, o.shape) == scenes.NOVEL for o in widget.scene())
    assert "never seen in training" in widget.info.value


@pytest.mark.parametrize("edit,reason", [
    ({"shape0": caption_widget.NONE, "shape1": caption_widget.NONE, "shape2": caption_widget.NONE}, "empty"),
    ({"shape0": "circle", "shape1": "cross", "place0": "left", "place1": "left"}, "same place"),
    ({"shape0": "circle", "shape1": "cross", "place0": "left", "place1": "top"}, "middle row"),
])
def test_widget_bad_scene_gives_a_message(widget, edit, reason):
    widget.set_scene((Obj("circle", "red", "small", 1, 0),))
    for key, value in edit.items():
        widget.controls[key].value = value
    assert reason in widget.message.value and widget.result is None
    widget.set_scene((Obj("circle", "red", "small", 1, 0),))
    assert widget.message.value == "" and widget.result is not None


def test_compute_shapes(trained):
    model, _ = trained
    scene = (Obj("circle", "red", "small", 1, 0), Obj("cross", "blue", "large", 1, 1))
    r = caption_widget.compute(model, captioning.numpy_params(model), scene, width=3)
    n = len(r["outputs"])
    assert r["hidden"].shape == (n, model.H) and r["probs"].shape == (n, len(scenes.WORDS))
    assert r["image"].shape == (scenes.SIZE, scenes.SIZE, 3) and r["v"].shape == (model.D,)
    assert r["inputs"][0] == scenes.BOS and r["inputs"][1:] == r["outputs"][:-1]
    with pytest.raises(ValueError, match="empty"):
        caption_widget.compute(model, captioning.numpy_params(model), ())


def test_demo_builds():
    w = caption_widget.demo()
    assert w.image.value and w.latencies_ms


def test_widget_toggles_the_model_and_its_unrolled_graph():
    w = caption_widget.demo()
    c = w.controls
    assert set(w.views) == {"input", "h0"} and c["model"].value == "input"
    edges = {m: {(e.src, e.dst) for e in view.spec.edges if e.src == "v"} for m, view in w.views.items()}
    assert edges["input"] == {("v", f"h{t}") for t in range(1, caption_widget.ROWS + 1)}
    assert edges["h0"] == {("v", "h0")}
    c["step"].value = 4
    roles = w.views["input"].roles(4)
    assert roles["h4"] == "now" and roles["v"] == "done"
    before = w.image.value
    c["model"].value = "h0"
    assert w.mode == "h0" and w.image.value != before and "v only as h_0" in w.info.value
    assert all(a in w._layer for a in w.views["h0"].layer) and not any(a in w._layer for a in w.views["input"].layer)
    roles = w.views["h0"].roles(4)
    assert all(roles[f"h{k}"] == "done" for k in range(4)) and roles["v"] == "done"
    c["step"].value = 2
    assert w.views["h0"].t == 2


def test_widget_shows_few_sorted_units_and_the_v_split_on_top(widget):
    r = widget.result
    assert len(r["units"]) == caption_widget.UNITS == widget.h_img.get_array().shape[1]
    jumps = np.abs(np.diff(np.vstack([np.zeros(widget.models["input"].H), r["hidden"]]), axis=0))
    order = jumps[:, r["units"]].argmax(0)
    assert list(order) == sorted(order)                          # sorted by the step of the largest jump
    assert jumps.max(0)[r["units"]].min() >= np.sort(jumps.max(0))[-caption_widget.UNITS]
    layer = widget._layer
    lines = [a for a in layer if type(a).__name__ == "Line2D" and a.axes is widget.v_img.axes]
    assert lines and layer.index(lines[0]) > layer.index(widget.v_img)   # the black line is drawn over v


def test_every_heatmap_has_a_colour_bar_and_labels(widget):
    for im in (widget.v_img, widget.h_img, widget.p_img):
        assert im.colorbar is not None
        ax = im.axes
        assert ax.get_title() and (ax.get_xlabel() or ax.get_xticklabels()) and (ax.get_ylabel() or ax.get_yticklabels())


def test_understanding_questions_accept_right_and_refuse_wrong_answers():
    from helpers import quiz

    model = captioning.make_model()
    qs = captioning.understanding(model)
    right = {"x_t size, v at every step": model.E + model.D, "x_t size, v only as h_0": model.E,
             "all teacher-forced words right: greedy caption right?": "yes"}
    assert quiz.check(right, qs, name="t07a")
    for key, wrong in [("x_t size, v at every step", model.D), ("x_t size, v only as h_0", model.E + model.D),
                       ("all teacher-forced words right: greedy caption right?", "it depends"),
                       ("x_t size, v only as h_0", "sixteen"), ("x_t size, v at every step", None)]:
        v = quiz.check({**right, key: wrong}, qs, name="t07b")
        assert not v and "2 of 3" in v.message
    assert all(len(q.hints) == 2 for q in qs.values())


def test_teacher_forced_words_all_right_means_greedy_exact(trained):
    """The third closing question's answer, on real pictures: a right teacher-forced caption is greedy's."""
    model, _ = trained
    data = scenes.make_split(60, "train", seed=8)
    ids = torch.as_tensor(data["ids"])
    with torch.no_grad():
        pred = model(torch.as_tensor(data["images"]), ids[:, :-1]).argmax(-1)
    target, mask = ids[:, 1:], ids[:, 1:] != scenes.INDEX[scenes.PAD]
    all_right = ((pred == target) | ~mask).all(1).numpy()
    exact = np.array([p == [int(t) for t in row if t > scenes.INDEX[scenes.EOS]]
                      for p, row in zip(captioning.greedy_batch(model, data["images"]), data["ids"])])
    assert all_right.any() and np.array_equal(all_right, exact)
