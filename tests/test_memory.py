"""helpers.memory, helpers.phase_widget, helpers.gates_widget: notebooks 04 and 05's tasks, models and widgets."""
import itertools

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from helpers import gates, gates_widget, memory, phase_widget


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: one torch thread is faster, and fair to a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

# -- Markovization ---------------------------------------------------------------------


def test_unrolled_formula_is_the_seeds_nest():
    assert memory.unrolled_formula(0) == "s_0 = s_0"
    assert memory.unrolled_formula(3) == "s_3 = f(f(f(s_0, x_1; θ), x_2; θ), x_3; θ)"
    assert memory.unrolled_formula(4, start=2) == "s_4 = f(f(s_2, x_3; θ), x_4; θ)"
    with pytest.raises(ValueError):
        memory.unrolled_formula(-1)
    with pytest.raises(ValueError):
        memory.unrolled_formula(2, start=3)


def test_fold_state_is_the_recurrence():
    assert memory.fold_state(lambda s, x: 10 * s + x, 0, [1, 2, 3]) == 123
    p = gates.init_params("gru", 3, 4, seed=1)
    X = np.random.default_rng(0).normal(size=(2, 6, 3))
    s = memory.fold_state(lambda s, x: gates.gru_step(p, x, s)[0], np.zeros((2, 4)), X.transpose(1, 0, 2))
    np.testing.assert_array_equal(s, gates.run("gru", p, X)["state"])


@pytest.mark.parametrize("kind", gates.KINDS)
def test_resuming_from_the_state_gives_the_same_future(kind):
    p = gates.init_params(kind, 3, 4, seed=2)
    X = np.random.default_rng(1).normal(size=(2, 9, 3))
    r = memory.resume_check(kind, p, X, k=4)
    assert r["whole"].shape == r["resumed"].shape == (2, 5, 4)
    assert r["max_diff"] == 0.0
    with pytest.raises(ValueError, match="k must be"):
        memory.resume_check(kind, p, X, k=9)


# -- the 2-unit map --------------------------------------------------------------------


def test_rotation_scale_has_the_promised_eigenvalues():
    W = memory.rotation_scale(60, 0.7)
    lam = np.linalg.eigvals(W)
    np.testing.assert_allclose(np.abs(lam), 0.7)
    np.testing.assert_allclose(sorted(np.degrees(np.angle(lam))), [-60, 60])


def test_fixed_points_contraction_and_saturation():
    pts, stable = memory.fixed_points(memory.rotation_scale(30, 0.8), np.zeros(2))
    assert len(pts) == 1 and stable.all()
    np.testing.assert_allclose(pts[0], 0, atol=1e-8)
    W, b = memory.rotation_scale(0, 1.5), np.zeros(2)
    pts, stable = memory.fixed_points(W, b)
    assert stable.sum() == 4 and (~stable).sum() == 5      # four corners; origin and four saddles
    np.testing.assert_allclose(memory.phase_step(W, b, pts), pts, atol=1e-8)
    pts, stable = memory.fixed_points(memory.rotation_scale(60, 1.3), np.zeros(2))
    assert stable.sum() == 0                               # a cycle, no stable point


def test_phase_step_checks_shape():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        memory.phase_step(np.eye(2), np.zeros(2), np.zeros(2))


def test_trajectories_forget_under_contraction_and_remember_under_saturation():
    starts = phase_widget.starts()
    contract = memory.trajectories(memory.rotation_scale(0, 0.5), np.zeros(2), starts, 30)
    assert contract.shape == (8, 31, 2)
    assert memory.spread(contract)[-1] < 1e-6
    saturate = memory.trajectories(memory.rotation_scale(0, 1.5), np.zeros(2), starts, 30)
    assert memory.spread(saturate)[-1] > 0.5


def test_flow_is_the_step_minus_identity():
    W, b = memory.rotation_scale(20, 1.1), np.array([0.3, 0.0])
    X, Y, U, V = memory.flow(W, b, n=5)
    h = np.array([[X[1, 2], Y[1, 2]]])
    np.testing.assert_allclose([U[1, 2], V[1, 2]], memory.phase_step(W, b, h)[0] - h[0])


# -- delayed recall ----------------------------------------------------------------------


def test_recall_batch_layout():
    rng = np.random.default_rng(0)
    X, y, q = memory.recall_batch([1, 4, 7], rng)
    assert X.shape == (3, 8, 5) and y.shape == q.shape == (3,)
    np.testing.assert_array_equal(q, [1, 4, 7])
    for row, ans, d in zip(X, y, q):
        s = memory.decode(row)
        assert len(s) == d + 1 and s[-1] == "?" and s[0] == memory.LETTERS[ans]
        assert "?" not in s[:-1]
        assert np.all(row[d + 1:] == 0)
    with pytest.raises(ValueError, match=">= 1"):
        memory.recall_batch([0, 3], rng)


def test_encode_decode_round_trip_and_errors():
    X = memory.encode("bca?")
    assert X.shape == (1, 4, 5)
    assert memory.decode(X[0]) == "bca?"
    with pytest.raises(ValueError, match="'x'"):
        memory.encode("bxa?")
    with pytest.raises(ValueError, match="empty"):
        memory.encode("")


def test_recall_net_trains_and_is_measured():
    model, history = memory.train_recall("gru", H=8, steps=40, max_delay=3, live=False)
    assert np.mean(history["loss"][-5:]) < np.mean(history["loss"][:5])
    acc = memory.recall_accuracy(model, [1, 2, 3], n=50)
    assert acc.shape == (3,) and np.all((acc >= 0) & (acc <= 1))
    counts = memory.recall_confusion(model, 2, n=60)
    assert counts.shape == (4, 4) and counts.sum() == 60
    kind, p, W, b = memory.numpy_cell(model)
    assert kind == "gru" and W.shape == (4, 8) and b.shape == (4,)
    X, y, q = memory.recall_batch([2, 3], np.random.default_rng(3))
    with torch.no_grad():
        want = model(torch.tensor(X, dtype=torch.float32), torch.from_numpy(q)).double().numpy()
    h = gates.run(kind, p, X)["h"][np.arange(2), q]
    np.testing.assert_allclose(h @ W.T + b, want, atol=1e-5)   # the numpy copy is the same network


def test_answer_groups_reads_the_confusion_table():
    one_bit = np.array([[0, 0, 0, 9], [0, 0, 0, 7], [0, 0, 8, 0], [0, 0, 0, 6]])
    assert memory.answer_groups(one_bit) == {"d": "abd", "c": "c"}
    assert memory.answer_groups(np.eye(4, dtype=int) * 5) == {"a": "a", "b": "b", "c": "c", "d": "d"}
    with pytest.raises(ValueError, match=r"\(4, 4\)"):
        memory.answer_groups(np.zeros((3, 4)))


def test_failing_delay():
    assert memory.failing_delay([1, 2, 3, 4], [1.0, 0.9, 0.5, 0.7]) == 3
    assert memory.failing_delay([1, 2], [1.0, 0.99]) is None
    assert memory.FAIL_THRESHOLD == pytest.approx(0.625)


def test_influence_of_the_first_letter():
    H = 4
    forget = {k: 0.1 * v for k, v in gates.init_params("rnn", 5, H, seed=0).items()}
    fading = memory.influence_of_first("rnn", forget, T=20)
    assert fading.shape == (20,) and fading[0] > 0 and fading[-1] < 1e-6 * fading[0]
    curves = {}
    for bias in (-5.0, 5.0):                              # update gate mostly open / mostly shut
        p = gates.init_params("gru", 5, H, seed=0)
        p["b_xh"][H:2 * H] = bias
        curves[bias] = memory.influence_of_first("gru", p, T=20)
    assert curves[5.0][-1] > 100 * curves[-5.0][-1]       # a shut update gate keeps x_1's trace


# -- CNN vs RNN ------------------------------------------------------------------------


def _is_palindrome(window):
    return list(window) == list(window)[::-1]


def test_tag_batch_labels():
    rng = np.random.default_rng(0)
    X, y, valid = memory.tag_batch("palindrome", [7, 12, 12], rng)
    ids = X.argmax(2)
    for b, t in itertools.product(range(3), range(12)):
        if valid[b, t]:
            assert y[b, t] == _is_palindrome(ids[b, t - 4:t + 1])
    assert not valid[:, :4].any() and not valid[0, 7:].any() and np.all(X[0, 7:] == 0)
    assert 0.2 < y[valid].mean() < 0.6                    # planted: neither rare nor common
    X, y, valid = memory.tag_batch("first", [5, 9], rng)
    assert np.all(y == X[:, :1].argmax(2)) and valid.sum() == 14
    with pytest.raises(ValueError, match="task"):
        memory.tag_batch("parity", [5], rng)
    with pytest.raises(ValueError, match="at least 5"):
        memory.tag_batch("palindrome", [3], rng)


def test_cnn_sees_exactly_its_receptive_field():
    cnn = memory.make_cnn(2, seed=0)
    assert cnn.receptive_field == 5
    X = torch.tensor(np.random.default_rng(0).normal(size=(1, 12, 3)), dtype=torch.float32, requires_grad=True)
    cnn(X)[0, 9].sum().backward()
    reach = X.grad[0].abs().sum(1).numpy() > 0
    np.testing.assert_array_equal(np.flatnonzero(reach), [5, 6, 7, 8, 9])   # t-4..t, nothing after


def test_rnn_tagger_reaches_back_to_the_start():
    rnn = memory.make_tagger_rnn(3, H=8, seed=0)
    X = torch.zeros(1, 30, 3, requires_grad=True)
    rnn(X)[0, 29].sum().backward()
    assert X.grad[0, 0].abs().sum() > 0


def test_tagger_training_and_accuracy():
    cnn = memory.make_cnn(2, seed=0)
    history = memory.train_tagger(cnn, "palindrome", steps=30, live=False)
    assert np.mean(history["loss"][-5:]) < np.mean(history["loss"][:5])
    by_t, overall = memory.tag_accuracy(cnn, "palindrome", length=12, n=50)
    assert by_t.shape == (12,) and np.isnan(by_t[:4]).all() and 0 <= overall <= 1
    assert 0.5 < memory.majority_baseline("palindrome", length=12) < 1
    assert memory.majority_baseline("first", length=12) < 0.5


def test_plots_draw():
    fig = Figure()
    ax = fig.add_subplot()
    memory.plot_recall(ax, np.arange(1, 5), {"rnn": np.ones(4), "gru": np.ones(4)}, 3)
    assert not any("on top" in t.get_text() for t in ax.texts)   # no overlap note without both gated cells
    both = fig.add_subplot()
    memory.plot_recall(both, np.arange(1, 5), {"gru": np.ones(4), "lstm": np.full(4, 0.995)}, 3)
    assert any("on top of each other" in t.get_text() and "0.99" in t.get_text() for t in both.texts)
    apart = fig.add_subplot()
    memory.plot_recall(apart, np.arange(1, 5), {"gru": np.ones(4), "lstm": np.full(4, 0.5)}, 3)
    assert not any("on top" in t.get_text() for t in apart.texts)
    memory.plot_influence(fig.add_subplot(), {("gru", "trained"): np.ones(5), ("rnn", "untrained"): np.ones(5)})
    axes = [fig.add_subplot(), fig.add_subplot()]
    by_t = {(t, n): np.ones(8) for t in memory.TASKS for n in ("CNN", "RNN (GRU)")}
    memory.plot_tagging(axes, by_t, 5, 6, {t: 0.5 for t in memory.TASKS})
    assert len(ax.lines) >= 2


# -- widgets ---------------------------------------------------------------------------


def test_phase_compute():
    r = phase_widget.compute(0, 1.5, 0.0)
    assert r["traj"].shape == (8, phase_widget.T + 1, 2)
    assert "memory" in r["regime"]
    assert "forgotten" in phase_widget.compute(0, 0.5, 0.0)["regime"]
    assert "keeps moving" in phase_widget.compute(60, 1.3, 0.0)["regime"]
    assert len(phase_widget.compute(0, 1.5, 0.6)["points"][phase_widget.compute(0, 1.5, 0.6)["stable"]]) == 2


def test_phase_widget_updates_in_place():
    w = phase_widget.demo()
    before, n = w.image.value, len(w.latencies_ms)
    w.controls["scale"].value = 1.5
    assert w.image.value != before and len(w.latencies_ms) == n + 1
    assert "keeps moving" in w.title.get_text()          # angle 30, scale 1.5: a cycle
    w.controls["angle"].value = 0
    assert "4 stable" in w.title.get_text()
    w.controls["x"].value = 0.6
    assert "2 stable" in w.title.get_text()
    assert w.message.value == ""
    w.controls["scale"].value = 0.0                       # a slider at its end: a note, no traceback
    assert "W_hh = 0" in w.message.value


def _cells(H=6):
    return gates_widget.random_cells(H, seed=1)


def test_gates_compute():
    cells = _cells()
    r = gates_widget.compute("bca?", cells["gru"], "z")
    assert r["shown"].shape == r["h"].shape == (4, 6) and r["probs"].shape == (4, 4) and r["c"] is None
    np.testing.assert_allclose(r["probs"].sum(1), 1)
    np.testing.assert_array_equal(r["keep"], r["shown"])
    with pytest.raises(ValueError, match="gates"):
        gates_widget.compute("bca?", cells["gru"], "f")
    with pytest.raises(ValueError, match="gates"):
        gates_widget.compute("bca?", cells["gru"], "c")
    r = gates_widget.compute("bca?", cells["lstm"], "c")
    np.testing.assert_array_equal(r["shown"], r["c"])
    np.testing.assert_array_equal(r["c"], gates.run("lstm", cells["lstm"][1], memory.encode("bca?"))["c"][0])


def test_clean_rejects_bad_input():
    assert gates_widget.clean(" B c a ? ") == "bca?"
    for bad, words in (("", "type"), ("bxa?", "'x'"), ("a" * 40, "at most")):
        with pytest.raises(gates_widget.InputError, match=words):
            gates_widget.clean(bad)


def test_gates_widget_updates_and_answers_bad_input():
    w = gates_widget.GatesWidget(_cells())
    first = w.image.value
    w.controls["text"].value = "dabcabc?"
    assert w.image.value != first and w.message.value == ""
    assert "first letter 'd'" in w.title.get_text()
    w.controls["show"].value = "LSTM: forget gate f (1 = keep)"
    assert w.gate_title.get_text() == "LSTM forget gate f"
    w.controls["unit"].value = 3
    assert w.unit_titles[0].get_text().startswith("unit 3:")
    for bad in ("", "hello?", "ab" * 20):
        w.controls["text"].value = bad
        assert w.message.value != "", bad
    w.controls["text"].value = "abc"
    assert w.message.value == "" and "end with '?'" in w.title.get_text()


def test_gates_widget_demo_builds():
    w = gates_widget.demo()
    assert w.image.value and len(w.latencies_ms) == 1


def test_cached_titles_draw_the_same_pixels_as_fresh_ones():
    w = phase_widget.demo()
    first = w.image.value                                 # title drawn fresh, then cached
    w.controls["scale"].value = 1.5
    w.controls["scale"].value = 0.8                       # back: the title comes from the cache
    assert w._snapshots and w.image.value == first
    w.invalidate()                                        # full redraw empties the cache
    w.update()
    assert w.image.value == first
    g = gates_widget.GatesWidget(_cells())
    a = g.image.value
    g.controls["unit"].value = 2
    g.controls["unit"].value = gates_widget.AUTO_A
    assert g.image.value == a


def test_numpy_cnn_equals_torch_outputs_and_gradients():
    cnn = memory.make_cnn(3, seed=1).double()
    params = memory.cnn_params(cnn)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(2, 9, 3))
    G = rng.normal(size=(2, 9, 3))
    scores, cache = memory.cnn_forward(params, X)
    out = cnn(torch.from_numpy(X))
    np.testing.assert_allclose(scores, out.detach().numpy(), atol=1e-6, rtol=0)
    (out * torch.from_numpy(G)).sum().backward()
    grads = memory.cnn_backward(params, cache, G)
    for (dW, db), layer in zip(grads, list(cnn.convs) + [cnn.out]):
        np.testing.assert_allclose(dW, layer.weight.grad.numpy(), atol=1e-6, rtol=0)
        np.testing.assert_allclose(db, layer.bias.grad.numpy(), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match=r"\(B, T, 3\)"):
        memory.cnn_forward(params, X[:, :, :2])


def test_numpy_cnn_backward_passes_the_gradient_check():
    from helpers import gradcheck

    params = memory.cnn_params(memory.make_cnn(2, channels=4, seed=2))
    rng = np.random.default_rng(5)
    X, G = rng.normal(size=(2, 6, 3)), rng.normal(size=(2, 6, 2))
    _, cache = memory.cnn_forward(params, X)
    grads = memory.cnn_backward(params, cache, G)
    flat = {f"{i}{n}": arr for i, (W, b) in enumerate(params) for n, arr in (("W", W), ("b", b))}
    flat_grads = {f"{i}{n}": g for i, (dW, db) in enumerate(grads) for n, g in (("W", dW), ("b", db))}

    def loss():
        return float((memory.cnn_forward(params, X)[0] * G).sum())

    for name, err in gradcheck.check_gradients(loss, flat, flat_grads).items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_numpy_gru_tagger_equals_torch():
    tagger = memory.make_tagger_rnn(2, H=6, seed=3).double()
    X = np.random.default_rng(6).normal(size=(2, 7, 3))
    h = gates.run("gru", gates.from_torch(tagger.rnn), X)["h"]
    ours = h @ tagger.out.weight.detach().numpy().T + tagger.out.bias.detach().numpy()
    np.testing.assert_allclose(ours, tagger(torch.from_numpy(X)).detach().numpy(), atol=1e-6, rtol=0)


# -- seeds, consistent measurements ------------------------------------------------------


def test_builders_take_a_seed_and_leave_the_global_generator_alone():
    for make in (lambda s: memory.make_cnn(2, seed=s), lambda s: memory.make_tagger_rnn(2, H=4, seed=s),
                 lambda s: memory.make_recall_net("lstm", H=4, seed=s)):
        torch.manual_seed(123)
        want = torch.rand(3)
        torch.manual_seed(123)
        a, b, c = make(5), make(5), make(6)
        assert torch.equal(torch.rand(3), want)          # the global stream is where it was
        pa, pb, pc = (torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c))
        assert torch.equal(pa, pb) and not torch.equal(pa, pc)


def test_lstm_forget_bias_starts_at_one_more():
    net = memory.make_recall_net("lstm", H=4, seed=0)
    plain = torch.nn.LSTM(len(memory.SYMBOLS), 4)
    b = net.rnn.bias_ih_l0.detach()
    assert torch.all(b[4:8] > 1 - 0.5) and torch.all(b[:4] < 0.5)   # uniform(-1/2, 1/2) + 1 on f only
    assert plain.bias_ih_l0.shape == b.shape


def test_accuracy_and_confusion_read_the_same_sequences():
    model = memory.make_recall_net("rnn", H=4, seed=1)
    acc = memory.recall_accuracy(model, [1, 5, 9], n=50)
    for d, a in zip([1, 5, 9], acc):
        conf = memory.recall_confusion(model, d, n=50)
        assert conf.sum() == 50 and np.trace(conf) / 50 == a
    assert memory.recall_accuracy(model, [5], n=50)[0] == acc[1]   # a delay's sequences do not depend on the others


def test_overlap_note_rounds_down():
    fig = Figure()
    ax = fig.add_subplot()
    memory.plot_recall(ax, np.arange(1, 4), {"gru": np.array([1, 0.996, 1]), "lstm": np.ones(3)}, 2)
    note = [t.get_text() for t in ax.texts if "on top" in t.get_text()][0]
    assert "at least 0.99" in note and "1.00" not in note


# -- the fold_state exercise -------------------------------------------------------------


def test_check_fold_state_passes_the_solution():
    from helpers import checks

    checks.reset_hints()
    assert memory.check_fold_state(memory.fold_state)

    def loop(step, s0, xs):
        s = s0
        for x in xs:
            s = step(s, x)
        return s
    assert memory.check_fold_state(loop)


def _hangs(step, s0, xs):
    while True:
        pass


def _mutates(step, s0, xs):
    s = s0
    for x in xs:
        s = step(s, x)
    xs.clear()
    return s


@pytest.mark.parametrize("wrong", [
    None, 3, lambda step, s0, xs: s0, lambda step, s0, xs: "s", lambda step, s0, xs: None,
    lambda step, s0, xs: (s0, s0), lambda step, s0, xs: 1 / 0, _hangs, _mutates,
    *[m.wrong for m in memory._wrong_folds()],
])
def test_check_fold_state_rejects_wrong_answers_quickly_without_raising(wrong):
    import time

    start = time.perf_counter()
    verdict = memory.check_fold_state(wrong)
    assert not verdict and verdict.message
    assert time.perf_counter() - start < 2.5


def test_check_fold_state_names_the_common_mistakes():
    from helpers import checks

    checks.reset_hints()
    says = [memory.check_fold_state(m.wrong).message for m in memory._wrong_folds()]
    assert "only the last" in says[0] and "step(s, x)" in says[1] and "backwards" in says[2] and "early" in says[3]
    checks.reset_hints()
    hints = [memory.check_fold_state(lambda step, s0, xs: s0).message for _ in range(3)]
    checks.reset_hints()
    assert "Hint 1 of 3" in hints[0] and "Hint 3 of 3" in hints[2] and "for x in xs" in hints[2]
    assert "for x in xs:\n" not in hints[0]


# -- check your understanding ------------------------------------------------------------


def test_understanding_04_right_and_wrong_answers():
    from helpers import quiz

    qs = memory.understanding()
    right = {"fixed point for w = 1.5": 0.8586, "largest difference, resumed from s_5": 0.0,
             "where the 8 paths end for scale 0.5": "one point"}
    assert quiz.check(right, qs, name="t04")
    h = right["fixed point for w = 1.5"]
    assert abs(np.tanh(1.5 * h) - h) < 1e-3                         # the answer is a fixed point
    assert memory.fixed_points(memory.rotation_scale(0, 1.5), np.zeros(2))[0].max() == pytest.approx(h, abs=1e-3)
    for key, wrong in (("fixed point for w = 1.5", -0.8586), ("fixed point for w = 1.5", 0.0),
                       ("largest difference, resumed from s_5", 1e-3),
                       ("where the 8 paths end for scale 0.5", "their own corners"),
                       ("where the 8 paths end for scale 0.5", 3), ("fixed point for w = 1.5", "x")):
        assert not quiz.check({**right, key: wrong}, qs, name="t04w")


def test_understanding_05_right_and_wrong_answers():
    from helpers import quiz

    qs = gates.understanding()
    right = {"GRU, z = 0.9 and n = 0 for 10 steps: fraction of h_0 left": 0.9 ** 10,
             "LSTM, f = 1 and i = 0 for 20 steps, c_0 = 0.7: c_20": 0.7,
             "receptive field of 3 causal convolutions of width 3": 7}
    assert quiz.check(right, qs, name="t05")
    assert memory.make_cnn(2, layers=3).receptive_field == 7
    for key, wrong in (("GRU, z = 0.9 and n = 0 for 10 steps: fraction of h_0 left", 0.1),
                       ("GRU, z = 0.9 and n = 0 for 10 steps: fraction of h_0 left", 0.9),
                       ("LSTM, f = 1 and i = 0 for 20 steps, c_0 = 0.7: c_20", 0.0),
                       ("receptive field of 3 causal convolutions of width 3", 9),
                       ("receptive field of 3 causal convolutions of width 3", None)):
        assert not quiz.check({**right, key: wrong}, qs, name="t05w")


# -- 04's phase plane: every "Try this" bullet ---------------------------------------------


def _ends(angle, scale, x):
    r = phase_widget.compute(angle, scale, x)
    return r, r["traj"][:, 0], r["traj"][:, -1]


def test_try_contraction():
    r, _, _ = _ends(0, 0.5, 0)
    np.testing.assert_allclose(r["spread"][1:11] / r["spread"][:10], 0.5, atol=0.03)   # halves every step
    assert len(r["points"]) == 1 and r["stable"].all()
    slow, _, _ = _ends(0, 0.9, 0)
    assert 0.01 < slow["spread"][-1] < 0.1 and np.all(np.diff(slow["spread"]) < 0)        # a few hundredths, falling


def test_try_rotation():
    r, _, _ = _ends(60, 0.9, 0)
    assert r["stable"].sum() == 1 and r["spread"][-1] < 0.05
    r, start, end = _ends(60, 1.3, 0)
    assert r["stable"].sum() == 0
    assert r["spread"][-1] > 0.9 * r["spread"][0]                                         # as far apart as at the start
    assert np.max(np.linalg.norm(r["traj"][:, -1] - r["traj"][:, -2], axis=1)) > 0.1      # still moving


def test_try_saturation():
    r, start, end = _ends(0, 1.5, 0)
    st = r["points"][r["stable"]]
    assert len(st) == 4 and np.allclose(np.abs(st), 0.86, atol=0.005)
    np.testing.assert_array_equal(np.sign(end), np.sign(start))                          # each its own corner
    assert r["spread"][-1] > r["spread"][0]


def test_try_writing_and_a_weak_input():
    r, start, end = _ends(0, 1.5, 0.6)
    st = r["points"][r["stable"]]
    assert len(st) == 2 and np.all(st[:, 0] > 0)
    assert np.all(end[:, 0] > 0) and np.array_equal(np.sign(end[:, 1]), np.sign(start[:, 1]))
    r, start, end = _ends(0, 1.5, 0.2)
    st = r["points"][r["stable"]]
    assert len(st) == 4
    assert np.allclose(st[st[:, 0] < 0, 0], -0.65, atol=0.005)
    left = start[:, 0] < 0
    moved = left & (end[:, 0] > 0)
    assert left.sum() == 4 and moved.sum() == 2
    assert np.all(np.abs(start[moved, 0]) < np.abs(start[left & ~moved, 0]))               # the two nearest the middle


# -- 05's cell diagrams and the LSTM hold demo ---------------------------------------------


def test_cell_diagrams_draw_every_gate():
    from helpers import cell_diagram

    fig = Figure()
    axes = cell_diagram.draw_cells(fig)
    texts = [t.get_text() for t in axes[0].texts]
    assert any("update" in t for t in texts) and any("reset" in t for t in texts)
    texts = [t.get_text() for t in axes[1].texts]
    for gate in ("forget", "input", "output", "c_{t-1}"):
        assert any(gate in t for t in texts), gate
    with pytest.raises(ValueError, match="kind"):
        cell_diagram.draw_cell(fig.add_subplot(), "rnn")


def test_lstm_with_forget_open_and_input_shut_holds_c_exactly():
    p = gates.init_params("lstm", I=5, H=4, seed=3)
    p["b_xh"][4:8] += 20
    p["b_xh"][:4] -= 20
    h, c0 = np.zeros((1, 4)), np.array([[0.9, -0.5, 0.3, -0.8]])
    c = c0
    for x in np.random.default_rng(0).normal(size=(10, 1, 5)):
        h, c, _ = gates.lstm_step(p, x, h, c)
    np.testing.assert_allclose(c, c0, atol=1e-6)


# -- 05's widget: steps from 1, stable and pinnable units ------------------------------------


def test_gates_widget_counts_steps_from_one():
    w = gates_widget.GatesWidget(_cells())
    w.controls["text"].value = "abca?"
    xs = np.concatenate([m.get_xdata() for m in w.tokens.values()])
    assert sorted(xs) == [1, 2, 3, 4, 5]
    assert w.gate_img.get_extent()[0] == 0.5
    assert list(w.unit_lines[0][1].get_xdata()[:3]) == [1, 2, 3]


def test_gates_widget_units_come_from_the_weights_and_can_be_pinned():
    w = gates_widget.GatesWidget(_cells())
    units = w.units("gru")
    for text in ("bcadbdacdbca?", "dcadbdacdbca?", "aaaa?"):
        w.controls["text"].value = text
        assert w.units("gru") == units
    w.controls["unit"].value = 4
    w.controls["compare"].value = 2
    assert w.units("gru") == (4, 2) and w.units("lstm") == (4, 2)
    assert w.unit_titles[0].get_text().startswith("unit 4:") and w.unit_titles[1].get_text().startswith("unit 2:")
    w.controls["show"].value = "LSTM: cell state c_t"
    assert "cell state" in w.gate_title.get_text() and w.twins[0].get_visible()
    assert w.gate_img.get_clim()[0] < 0
    w.controls["show"].value = "GRU: reset gate r"
    assert w.gate_img.get_clim() == (0, 1) and not w.twins[0].get_visible()


def test_unit_roles_classify_by_gate_and_saturation():
    cells = _cells(H=4)
    kind, _, W, b = cells["gru"]
    H = 4
    p = {"W_xh": np.zeros((3 * H, 5)), "W_hh": np.zeros((3 * H, H)), "b_xh": np.zeros(3 * H), "b_hh": np.zeros(3 * H)}
    p["b_xh"][:H] = 10                                  # reset gates open: the candidate sees all of h
    p["b_xh"][H:2 * H] = -6                             # update gates low: every unit rewritten...
    p["W_hh"][H + 0, 2] = 12                            # ...except unit 0 once the clock (unit 2) is on
    p["W_xh"][2 * H + 0, :4] = [3, 1, -1, -3]           # unit 0 writes the letter at step 1, then holds it
    p["W_xh"][2 * H + 1, :4] = [3, 3, -3, -3]           # unit 1: the letter's half, kept by saturation
    p["W_hh"][2 * H + 1, 1] = 8
    p["W_xh"][2 * H + 2, :4] = 10                       # unit 2: a clock, 1 from step 1 on
    roles = gates_widget.unit_roles((kind, p, W, b))
    assert list(roles["role"]) == ["gate", "saturation", "none", "none"]
    assert roles["a"] == 0 and roles["b"] == 1
