"""helpers.unrolled: the specs of the four architectures and the live graph drawn from them."""
import numpy as np
import pytest

from helpers import unrolled
from helpers.live import new_figure


def view_of(spec, width=10.5, height=3.0):
    fig = new_figure(width, height, dpi=72)
    return unrolled.GraphView(fig.add_axes((0.01, 0.02, 0.98, 0.96)), spec)


def edges(spec, weight=None):
    return {(e.src, e.dst) for e in spec.edges if weight is None or e.weight == weight}


def drawn(view):
    """(src, dst) of the edges drawn now, with their colours (RGBA) and widths, in drawing order."""
    return view.drawn_edges, np.asarray(view.lines.get_colors()), np.asarray(view.lines.get_linewidths())


# -- specs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("T", [1, 4, 12])
def test_rnn_spec_is_the_unrolled_recurrence(T):
    spec = unrolled.rnn_spec(T)
    ids = {n.id for n in spec.nodes}
    assert ids == {"h0"} | {f"{k}{t}" for k in "xhy" for t in range(1, T + 1)}
    assert edges(spec, "W_hh") == {(f"h{t - 1}", f"h{t}") for t in range(1, T + 1)}
    assert edges(spec, "W_xh") == {(f"x{t}", f"h{t}") for t in range(1, T + 1)}
    assert edges(spec, "W_hy") == {(f"h{t}", f"y{t}") for t in range(1, T + 1)}
    assert len(spec.edges) == 3 * T and spec.steps == T
    assert all(n.col == n.step for n in spec.nodes)          # one column per step, h_0 at column 0


def test_vec2seq_spec_puts_v_into_every_step_or_only_into_h0():
    every, first = unrolled.vec2seq_spec(5, every_step=True), unrolled.vec2seq_spec(5, every_step=False)
    assert edges(every, "W_vh") == {("v", f"h{t}") for t in range(1, 6)}
    assert edges(first, "W_vh") == {("v", "h0")}
    assert edges(every) - edges(every, "W_vh") == edges(first) - edges(first, "W_vh")   # otherwise the same


@pytest.mark.parametrize("c_every_step", [False, True])
@pytest.mark.parametrize("attention", [False, True])
def test_seq2seq_spec_encoder_context_decoder(c_every_step, attention):
    S, T = 4, 6
    spec = unrolled.seq2seq_spec(S, T, c_every_step=c_every_step, attention=attention)
    ids = {n.id for n in spec.nodes}
    assert ids == ({f"{k}{j}" for k in "xe" for j in range(1, S + 1)} | {"C", "s0"}
                   | {f"{k}{t}" for k in "dsy" for t in range(1, T + 1)})
    assert ("e4", "C") in edges(spec) and ("C", "s0") in edges(spec)
    into_steps = {("C", f"s{t}") for t in range(1, T + 1)}
    assert (edges(spec, "W_Cs") == into_steps) == c_every_step and (not edges(spec, "W_Cs")) == (not c_every_step)
    att = {(e.src, e.dst) for e in spec.edges if e.kind == "attention"}
    assert att == ({(f"e{j}", f"s{t}") for j in range(1, S + 1) for t in range(1, T + 1)} if attention else set())
    cols = {n.id: n.col for n in spec.nodes}
    assert max(cols[f"e{j}"] for j in range(1, S + 1)) < cols["C"] < cols["s0"] < cols["s1"]


def test_bidir_spec_has_two_chains_and_outputs_reading_both():
    T = 5
    spec = unrolled.bidir_spec(T)
    assert edges(spec, "W_hh") == {(f"h{t - 1}", f"h{t}") for t in range(1, T + 1)}
    assert edges(spec, "W_gg") == {(f"g{t + 1}", f"g{t}") for t in range(1, T + 1)}     # right to left
    for t in range(1, T + 1):
        assert {e.src for e in spec.edges if e.dst == f"o{t}"} == {f"h{t}", f"g{t}"}
        assert {e.dst for e in spec.edges if e.src == f"x{t}"} == {f"h{t}", f"g{t}"}


def test_specs_check_their_lengths_and_rename_weights():
    for bad in (0, -1, 2.5, "3", True):
        with pytest.raises(ValueError, match="T must be an integer"):
            unrolled.rnn_spec(bad)
    with pytest.raises(ValueError, match="S must be"):
        unrolled.seq2seq_spec(0, 3)
    renamed = unrolled.seq2seq_spec(2, 2).renamed({"W_xe": "W_xh"})
    assert edges(renamed, "W_xh") == {("x1", "e1"), ("x2", "e2")} and not edges(renamed, "W_xe")
    with pytest.raises(KeyError, match="no node 'q1'"):
        renamed.node("q1")


def test_topological_order_puts_every_node_after_what_it_reads():
    for spec in (unrolled.bidir_spec(4), unrolled.seq2seq_spec(3, 4, True, True), unrolled.vec2seq_spec(3)):
        order = {n: i for i, n in enumerate(unrolled.topological(spec))}
        assert len(order) == len(spec.nodes)
        assert all(order[e.src] < order[e.dst] for e in spec.edges)


# -- what is drawn ------------------------------------------------------------------------------
def test_every_state_is_a_block_of_cells_at_its_place():
    spec = unrolled.bidir_spec(4)
    view = view_of(spec, height=3.6)
    states = [n for n in spec.nodes if n.kind in "hg"]
    assert len(view.cells.get_paths()) == 8 * len(states)
    assert len(view.outlines.get_paths()) == len(states)
    for n, path in zip(view.states, view.outlines.get_paths()):
        np.testing.assert_allclose(path.vertices[:4].mean(axis=0), (n.col, n.row), atol=1e-9)
    for n in view.tokens:
        assert view.texts[n.id].get_position() == (n.col, n.row)


def test_every_edge_is_drawn_once_from_node_to_node():
    spec = unrolled.rnn_spec(6)
    view = view_of(spec)
    view.set_step(6)                                           # the whole graph is on the path
    ids, colours, _ = drawn(view)
    assert sorted(ids) == sorted(edges(spec)) and len(ids) == len(spec.edges)
    assert len(view.heads.get_offsets()) == len(ids)
    for (src, dst), seg in zip(ids, view.lines.get_segments()):
        a, b = spec.node(src), spec.node(dst)
        assert np.hypot(*(seg[0] - (a.col, a.row))) < 0.5 and np.hypot(*(seg[-1] - (b.col, b.row))) < 0.5
        # it starts and ends outside the nodes' boxes, arrow head at the end
        assert np.hypot(*(seg[-1] - (b.col, b.row))) > 0.1


@pytest.mark.parametrize("t", [1, 3, 6])
def test_the_path_into_step_t_is_lit(t):
    spec = unrolled.rnn_spec(6)
    view = view_of(spec)
    view.set_step(t)
    role = view.roles()
    assert {n for n, r in role.items() if r == "now"} == {f"x{t}", f"h{t}", f"y{t}"}
    assert {n for n, r in role.items() if r == "done"} == (
        {f"h{i}" for i in range(t)} | {f"{k}{i}" for k in "xy" for i in range(1, t)})
    ids, colours, _ = drawn(view)
    colour = {e: c for e, c in zip(ids, colours)}
    from matplotlib.colors import to_rgba
    assert np.allclose(colour[(f"h{t - 1}", f"h{t}")], to_rgba(unrolled.NOW))
    assert np.allclose(colour[(f"x{t}", f"h{t}")], to_rgba(unrolled.NOW))
    if t > 1:
        assert np.allclose(colour[("h0", "h1")], to_rgba(unrolled.DONE))
    if t < 6:
        assert np.allclose(colour[(f"h{t}", f"h{t + 1}")], to_rgba(unrolled.LATER))
    assert view.lit.get_x() == pytest.approx(t - 0.45)
    # later outputs are veiled (not computed yet), earlier ones are not
    veil = dict(zip([n.id for n in view.tokens], np.asarray(view.veil.get_facecolors())[:, 3]))
    assert veil[f"y{t}"] == 0 and all(veil[f"y{i}"] == 1 for i in range(t + 1, 7))
    assert all(veil[f"y{i}"] == 0 for i in range(1, t))


def test_bidir_step_t_reads_the_forward_past_and_the_backward_future():
    view = view_of(unrolled.bidir_spec(6), height=3.6)
    view.set_step(3)
    role = view.roles()
    assert role["h2"] == role["h0"] == role["g4"] == role["g7"] == "done"
    assert role["h4"] == role["g2"] == "later"
    assert role["o3"] == role["h3"] == role["g3"] == "now"


def test_seq2seq_decoder_step_reads_the_encoder_and_c():
    view = view_of(unrolled.seq2seq_spec(3, 4, c_every_step=True))
    view.set_step(2)
    role = view.roles()
    assert all(role[n] == "done" for n in ("x1", "e3", "C", "s0", "s1", "d1", "y1"))
    assert role["s3"] == "later" and role["s2"] == "now"
    ids, colours, _ = drawn(view)
    from matplotlib.colors import to_rgba
    colour = dict(zip(ids, colours))
    assert np.allclose(colour[("C", "s2")], to_rgba(unrolled.NOW))
    assert np.allclose(colour[("C", "s1")], to_rgba(unrolled.DONE))
    assert np.allclose(colour[("C", "s4")], to_rgba(unrolled.LATER))


def test_different_states_look_different_and_equal_states_alike():
    view = view_of(unrolled.rnn_spec(4))
    rng = np.random.default_rng(0)
    a = np.tanh(rng.standard_normal(32))
    b = a.copy()
    b[20] = -b[20]                                          # differs beyond the first 8 units only
    view.set_values({"h1": a, "h2": b, "h3": a})
    view.set_step(4)
    assert not np.allclose(view.colours_of("h1"), view.colours_of("h2"))
    np.testing.assert_array_equal(view.colours_of("h1"), view.colours_of("h3"))
    short = view_of(unrolled.rnn_spec(2))
    short.set_values({"h1": [0.9, -0.9, 0, 0], "h2": [-0.9, 0.9, 0, 0]})
    short.set_step(2)
    c1, c2 = short.colours_of("h1"), short.colours_of("h2")
    assert c1[0, 0] > c1[0, 2] and c2[0, 2] > c2[0, 0]           # +0.9 red, -0.9 blue, first units first
    assert np.allclose(short.colours_of("h0")[:, :3], unrolled._rgba(unrolled.BLANK)[:3])   # no values: blank
    assert np.allclose(c1[4:, :3], unrolled._rgba(unrolled.BLANK)[:3])      # 4 units: the other 4 cells blank


def test_later_states_are_faded():
    view = view_of(unrolled.rnn_spec(4))
    v = np.full(8, 0.9)
    view.set_values({"h1": v, "h3": v})
    view.set_step(2)
    assert view.colours_of("h3")[:, :3].mean() > view.colours_of("h1")[:, :3].mean() + 0.1   # closer to white


def test_attention_edges_follow_alpha_into_step_t_only():
    S, T = 4, 3
    view = view_of(unrolled.seq2seq_spec(S, T, attention=True))
    alpha = np.array([[0.1, 0.6, 0.2, 0.1], [0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]])
    view.set_edge_weights({(f"e{j + 1}", f"s{t + 1}"): alpha[t, j] for t in range(T) for j in range(S)})
    view.set_step(1)
    ids, colours, widths = drawn(view)
    att = {e: (c, w) for e, c, w in zip(ids, colours, widths) if e[0].startswith("e") and e[1].startswith("s")}
    assert set(att) == {(f"e{j}", "s1") for j in range(1, S + 1)}          # only into step t
    w = np.array([att[(f"e{j}", "s1")][1] for j in range(1, S + 1)])
    a = np.array([att[(f"e{j}", "s1")][0][3] for j in range(1, S + 1)])
    assert w.argmax() == 1 and a.argmax() == 1 and w[1] > 2 * w[0]          # width and opacity follow alpha
    view.set_step(2)
    ids, _, widths = drawn(view)
    att = {e: w for e, w in zip(ids, widths) if e[0].startswith("e") and e[1].startswith("s")}
    assert set(att) == {(f"e{j}", "s2") for j in range(1, S + 1)} and max(att, key=att.get) == ("e1", "s2")


def test_set_length_hides_the_steps_after_n():
    view = view_of(unrolled.rnn_spec(6))
    view.set_labels({f"x{t}": f"w{t}" for t in range(1, 7)})
    view.set_length(3)
    view.set_step(2)
    assert not view.texts["x4"].get_visible() and view.texts["x3"].get_visible()
    ids, _, _ = drawn(view)
    assert ("h2", "h3") in ids and not any(int(e[1][1:]) > 3 for e in ids)
    outline = dict(zip([n.id for n in view.states], view.outlines.get_edgecolors()))
    assert outline["h5"][3] == 0 and outline["h3"][3] > 0
    with pytest.raises(ValueError, match="t must be"):
        view.set_step(7)


def test_long_sequences_are_windowed_with_a_note():
    view = view_of(unrolled.rnn_spec(30))
    assert view.windowed
    assert view.set_step(1) is True                             # panned to the start
    lo, hi = view.ax.get_xlim()
    assert lo < 1 < hi and hi - lo < 17 and "of 30" in view.note.get_text()
    assert view.set_step(2) is False                            # the same window
    assert view.set_step(25) is True
    lo, hi = view.ax.get_xlim()
    assert lo < 25 < hi
    assert not view_of(unrolled.rnn_spec(12)).windowed


# -- bad input is named where it enters ------------------------------------------------------------
def test_bad_input_gets_a_clear_message():
    view = view_of(unrolled.rnn_spec(3))
    view.set_values({"h1": np.zeros(16)})
    with pytest.raises(ValueError, match=r"h2 has 8 values.*expected shape \(16,\)"):
        view.set_values({"h2": np.zeros(8)})
    with pytest.raises(ValueError, match=r"1-D vector \(H,\), got shape \(2, 8\)"):
        view.set_values({"h2": np.zeros((2, 8))})
    with pytest.raises(ValueError, match="'h9' is not in this spec"):
        view.set_values({"h9": np.zeros(16)})
    with pytest.raises(ValueError, match="'x1' is not a state"):
        view.set_values({"x1": np.zeros(16)})
    with pytest.raises(ValueError, match="'h1' is a state"):
        view.set_labels({"h1": "word"})
    with pytest.raises(ValueError, match="no edge"):
        view.set_edge_weights({("h3", "h1"): 0.5})
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        view.set_edge_weights({("h0", "h1"): 1.5})
    with pytest.raises(ValueError, match="t must be an integer from 0 to 3"):
        view.set_step(4)
    with pytest.raises(TypeError, match="needs a Spec"):
        unrolled.GraphView(view.ax, {"nodes": []})


# -- speed and the demo ---------------------------------------------------------------------------
def test_random_values_are_seeded_and_cover_every_state():
    spec = unrolled.seq2seq_spec(3, 4, True, True)
    a, wa = unrolled.random_values(spec, seed=1)
    b, wb = unrolled.random_values(spec, seed=1)
    assert set(a) == {n.id for n in spec.nodes if n.kind in unrolled.STATE_KINDS}
    assert all(np.array_equal(a[k], b[k]) for k in a) and wa == wb
    np.testing.assert_allclose(a["C"], a["e3"])                    # C is the last encoder state
    for t in range(1, 5):
        assert sum(w for (s, d), w in wa.items() if d == f"s{t}") == pytest.approx(1)


def test_demo_scrubs_t_and_updates_fast():
    w = unrolled.demo()
    first = w.image.value
    for t in [2, 3, 4, 5, 6, 7, 8, 7, 6, 5, 4, 3, 2, 1] * 2:
        w.controls["t"].value = t
    w.controls["t"].value = 5
    assert w.image.value != first and w.message.value == ""
    assert np.median(w.latencies_ms[1:]) < 200     # a loose bound on a shared machine; scripts/bench.py is strict


def test_the_state_can_be_called_s_and_the_chain_drawn_alone():
    spec = unrolled.rnn_spec(3, inputs=False, outputs=False, state="s")
    assert {n.id for n in spec.nodes} == {"s0", "s1", "s2", "s3"}
    assert edges(spec, "W_ss") == {("s0", "s1"), ("s1", "s2"), ("s2", "s3")} and len(spec.edges) == 3
    view = view_of(spec, height=1.6)
    view.set_step(3)
    assert view.roles()["s1"] == "done" and view.drawn_edges == [("s0", "s1"), ("s1", "s2"), ("s2", "s3")]
    with pytest.raises(ValueError, match="state must be"):
        unrolled.rnn_spec(3, state="c")


def test_a_long_sequence_pans_now_and_then_and_always_shows_step_t():
    view = view_of(unrolled.rnn_spec(40))
    pans = 0
    for t in range(1, 41):
        pans += view.set_step(t)
        lo, hi = view.ax.get_xlim()
        assert lo < t < hi
    assert 2 <= pans <= 8


def test_notebook_02_draws_its_graph_with_this_helper():
    from helpers import numbers, rnn, rnn_widget

    vocab = numbers.build_vocab()
    w = rnn_widget.RNNWidget(rnn.init_params(len(vocab), 8), vocab, phrase="three hundred and five", t=2)
    view = w.graph.view
    assert isinstance(view, unrolled.GraphView) and view.spec.steps == rnn_widget.MAX_STEPS
    assert view.texts["x2"].get_text() == "three" and not view.texts["x6"].get_visible()   # <bos> + 4 words
    assert view.roles()["h2"] == "now" and set(view.values) == {"h0", "h1", "h2"}        # the states so far
    assert not np.allclose(view.colours_of("h1"), view.colours_of("h2"))
    w.controls["t"].value = 4
    assert view.roles()["h4"] == "now" and "h4" in view.values


def test_a_shorter_source_hides_the_first_encoder_steps():
    view = view_of(unrolled.seq2seq_spec(5, 3, attention=True))
    view.set_hidden(["x1", "e1", "x2", "e2"])                    # a 3-word source in a 5-word spec
    view.set_step(1)
    assert not view.texts["x2"].get_visible() and view.texts["x3"].get_visible()
    ids, _, _ = drawn(view)
    assert ("e3", "e4") in ids and ("e2", "e3") not in ids and ("e1", "s1") not in ids and ("e3", "s1") in ids
    view.set_hidden(())
    assert view.texts["x2"].get_visible()
    with pytest.raises(ValueError, match="'e9' is not in this seq2seq spec"):
        view.set_hidden(["e9"])


def test_changes_made_in_a_batch_repaint_once_with_the_same_colours():
    S, T = 4, 6
    alpha = np.random.default_rng(0).dirichlet(np.ones(S), T)
    weights = {(f"e{j + 1}", f"s{t + 1}"): alpha[t, j] for t in range(T) for j in range(S)}
    values = {f"s{i}": np.random.default_rng(i).normal(size=16) for i in range(1, 4)}

    def update(view):
        view.set_hidden(["x1", "e1"])
        view.set_length(5)
        view.set_edge_weights(weights)
        view.set_values(values, clear=True)
        view.set_step(3)

    one, batched = (view_of(unrolled.seq2seq_spec(S, T, attention=True)) for _ in range(2))
    update(one)
    painted = []
    original = batched._paint_cells
    batched._paint_cells = lambda *a: (painted.append(1), original(*a))[1]
    with batched.batch():
        update(batched)
        assert painted == [], "nothing is painted inside the batch"
    assert painted == [1], "one repaint at its end"
    for a, b in [(one.cells.get_facecolors(), batched.cells.get_facecolors()),
                 (one.lines.get_colors(), batched.lines.get_colors()),
                 (one.lines.get_linewidths(), batched.lines.get_linewidths()),
                 (one.outlines.get_edgecolors(), batched.outlines.get_edgecolors()),
                 (one.veil.get_facecolors(), batched.veil.get_facecolors())]:
        assert np.allclose(a, b)
    assert drawn(one)[0] == drawn(batched)[0]
