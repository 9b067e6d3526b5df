"""The unrolled graph of a recurrent architecture, drawn on one matplotlib Axes, live.

The course's standard picture (notebook 02's style, after the figures of suriyadeepan's
"Unfolding RNNs", which follow Goodfellow et al., Deep Learning, ch. 10): the network
unrolled over the learner's own sequence, one column per step, every state drawn as a
small block of coloured cells (a compact view of its vector: two different states look
different), and the path into the current step t lit.

A *spec* (a frozen dataclass: nodes, edges, steps) says which nodes exist and which edges
join them, each edge labelled with its weight's name; four builders make the course's
architectures:

    rnn_spec(T, outputs=True, inputs=True, state="h")   # x_t -> h_t -> y_t, h_{t-1} -> h_t
                                                        #   state="s": s_t, W_ss (Markovization)
    vec2seq_spec(T, every_step=True)                    # v into every h_t (False: only into h_0)
    seq2seq_spec(S, T, c_every_step=False, attention=False)
                                                        # x_j -> e_j, C = e_S, s_0 = C, d_t -> s_t -> y_t
    bidir_spec(T)                                       # forward h, backward g, o_t reads [h_t; g_t]

    Node(id, kind, col, row, label, step)               # spec.nodes; kind is the id's letter
    Edge(src, dst, weight, kind="flow" | "attention", via=(), note=(0.65, "right"))   # note: its label's place
    spec.node(id), spec.renamed({"W_xe": "W_xh"})       # look a node up; rename weights

Node ids are strings: "x1".."xT" inputs, "h0".."hT" states, "y1".."yT" outputs (bidir:
"o1".."oT"), "g1".."g(T+1)" backward states, "v" the vector, and for seq2seq "x1".."xS"
source words, "e1".."eS" encoder states, "C", "d1".."dT" the decoder's inputs (the previous
word), "s0".."sT" decoder states, "y1".."yT" its outputs. Steps are counted from 1; the
encoder, v, C, h_0 and s_0 belong to step 0 (seq2seq's steps are the decoder's). Weight
names: W_xh, W_hh, W_hy; W_vh; W_xe, W_ee, W_ds, W_ss, W_sy, W_Cs and alpha; W_xg, W_gg,
W_ho, W_go (spec.renamed changes them).

A :class:`GraphView` draws every node and edge once, then only changes colours:

    view = GraphView(ax, spec, vmax=1.0, max_columns=16, fontsize=11.5, xlim=None, ylim=None)
    view.set_labels({"x1": "<bos>", "y1": "ten\n0.06"}, colors={"y1": "#dc2626"})
    view.set_values({"h1": h[0], "h2": h[1]}, clear=False)   # 1-D arrays, one length per kind
    view.set_step(t)                   # the path into step t (0..steps) lit; True if the view panned
    view.set_edge_weights({("e2", "s3"): 0.7})               # in [0, 1]: attention's alpha
    view.set_length(n)                 # hide the steps after n: a shorter input in a spec built long
    view.set_hidden(ids)               # hide any nodes, e.g. a shorter source: seq2seq_spec(S_max, ..)
                                       #   with the words in x/e(S_max - S + 1)..S_max, e1.. hidden
    view.roles(t)                      # node id -> "now", "done" or "later" at step t
    view.label_artists, view.step_artists, view.artists      # for LiveFigure layers / blitting
    view.drawn_edges, view.colours_of(node_id)                # what is drawn now (for tests)

Bad input (an unknown node or edge, a vector of the wrong shape, t out of range) raises a
ValueError that names the expected and the actual; a widget turns it into a message.

Lighting: the nodes of step t are "now" (orange), the nodes and edges that step t reads
from (its ancestors in the graph) and the outputs of earlier steps are "done" (dark blue),
the rest "later" (grey; their states faded, the outputs not yet computed hidden, the inputs
faded). Attention edges are drawn only into step t, their width and opacity following their
weight. A state's 8 cells (2 rows of 4) show its units when it has at most 8 (the rest
blank), else a fixed projection onto 8 orthonormal directions (seeded, the same for every
node of that length), so every unit counts; colours run from blue (-vmax) through white to
red (+vmax). Token labels shrink to fit their column. More than `max_columns` columns (about
12 steps at 10 inches) do not fit: the view then shows a window holding step t, says so in a
note, and set_step returns True when it pans (call LiveFigure.invalidate(): the static part
moved; or keep view.static_artists in a LiveFigure layer and call refresh_layer(), far
cheaper); it pans every several steps, not at every step. xlim fixes the x limits instead
(say, to line up columns with a heatmap below: step t at x = t).

random_values(spec, H, seed) runs a random tanh network along a spec's edges (demos and
tests); demo() is a widget with a step slider, measured by scripts/bench.py.

Example, in a LiveFigure subclass (notebook 02's widget does this, in helpers.rnn_widget):

    spec = unrolled.rnn_spec(MAX_STEPS)
    self.view = unrolled.GraphView(self.fig.add_axes((0.02, 0.05, 0.96, 0.9)), spec)
    self.add_layer(*self.view.label_artists)            # change with the input only
    self.animate(*self.view.step_artists)               # change with t and the values
    ...
    def refresh(self):
        if new_input:
            self.view.set_labels({f"x{i}": w for i, w in enumerate(words, 1)})
            self.view.set_length(len(words))
            self.refresh_layer()
        self.view.set_values({f"h{i}": h[i] for i in range(t + 1)}, clear=True)   # h: (T + 1, H)
        if self.view.set_step(t):
            self.invalidate()
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

INPUT_KINDS, OUTPUT_KINDS, STATE_KINDS = "xd", "yo", "hgsevC"
DONE, NOW, LATER = "#1e3a8a", "#ea580c", "#cbd5e1"          # 02's colours: computed, step t, not yet
BLANK = "#f1f5f9"                                           # a state without values
FADE = 0.65                                                 # how far "later" cells fade to white
SMALL, MEDIUM = 10, 11.5                                    # font sizes (points)
CELLS = (2, 4)                                              # a state's block: 2 rows of 4 cells


@dataclass(frozen=True)
class Node:
    """One node: id ("h3"), kind (its letter), column and row in the picture, math label, step."""
    id: str
    kind: str
    col: float
    row: float
    label: str
    step: int


@dataclass(frozen=True)
class Edge:
    """src -> dst through the weight `weight` ("" for an identity); kind "flow" or "attention"."""
    src: str
    dst: str
    weight: str
    kind: str = "flow"
    via: tuple = ()          # waypoints (col, row) between the two nodes
    note: tuple = (0.65, "right")   # where its weight's name goes: fraction along the last segment, side,
                                    # and "last" to name it at the rightmost edge of that weight


@dataclass(frozen=True)
class Spec:
    """An architecture unrolled: its nodes, its edges and its number of steps."""
    name: str
    nodes: tuple
    edges: tuple
    steps: int
    names: tuple = field(default=())      # static captions (col, row, text, ha, va)

    def node(self, node_id: str) -> Node:
        """The node with this id (KeyError naming the known ids otherwise)."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"no node {node_id!r} in this {self.name} spec; it has {_id_list(self)}")

    def renamed(self, weights: dict) -> "Spec":
        """The same spec with weight names replaced, e.g. {"W_xe": "W_xh"}."""
        return replace(self, edges=tuple(replace(e, weight=weights.get(e.weight, e.weight)) for e in self.edges))


def _id_list(spec: Spec, limit: int = 12) -> str:
    ids = [n.id for n in spec.nodes]
    return ", ".join(ids[:limit]) + (f", ... ({len(ids)} nodes)" if len(ids) > limit else "")


def _check_length(name: str, n: int, low: int = 1, high: int = 200) -> None:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not low <= n <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {n!r}")


# -- the four architectures ------------------------------------------------------------------
def rnn_spec(T: int, outputs: bool = True, inputs: bool = True, state: str = "h") -> Spec:
    """x_t -> h_t -> y_t with h_{t-1} -> h_t, t = 1..T, from h_0 (02, 04, 06).

    state="s" names the state s_t (ids "s0".."sT", weights W_ss, W_xs, W_sy), as the seed does
    when it speaks of Markovization; inputs=False, outputs=False leave the chain s_0 -> s_1 -> ...
    """
    _check_length("T", T)
    if state not in ("h", "s"):
        raise ValueError(f"state must be 'h' or 's', got {state!r}")
    h = state
    nodes = [Node(f"{h}0", h, 0, 1, f"{h}_0", 0)]
    edges = []
    for t in range(1, T + 1):
        nodes.append(Node(f"{h}{t}", h, t, 1, f"{h}_{t}", t))
        edges.append(Edge(f"{h}{t - 1}", f"{h}{t}", f"W_{h}{h}"))
        if inputs:
            nodes.append(Node(f"x{t}", "x", t, 0, f"x_{t}", t))
            edges.append(Edge(f"x{t}", f"{h}{t}", f"W_x{h}"))
        if outputs:
            nodes.append(Node(f"y{t}", "y", t, 2, f"y_{t}", t))
            edges.append(Edge(f"{h}{t}", f"y{t}", f"W_{h}y"))
    return Spec("rnn", tuple(nodes), tuple(edges), T, ((0, 1.22, f"${h}_0$", "center", "bottom"),))


def _bus(src_col: float, dst_col: float, row: float = 0.5) -> tuple:
    """Waypoints of an edge that runs along a bus at `row` (under the states) and rises into its node."""
    return ((src_col + 0.32, row), (dst_col - 0.34, row))


def vec2seq_spec(T: int, every_step: bool = True) -> Spec:
    """One vector v in, a sequence out: v into every h_t (W_vh), or only into h_0 (07)."""
    _check_length("T", T)
    base = rnn_spec(T)
    nodes = list(base.nodes) + [Node("v", "v", 0, 0, "v", 0)]
    edges = list(base.edges)
    if every_step:
        edges += [Edge("v", f"h{t}", "W_vh", via=_bus(0, t)) for t in range(T, 0, -1)]   # nearest on top
    else:
        edges.append(Edge("v", "h0", "W_vh"))
    names = ((0, 1.22, "$h_0$", "center", "bottom"), (0, -0.22, "$v$", "center", "top"))
    return Spec("vec2seq", tuple(nodes), tuple(edges), T, names)


def seq2seq_spec(S: int, T: int, c_every_step: bool = False, attention: bool = False) -> Spec:
    """Encoder x_1..x_S -> e_1..e_S, context C = e_S, decoder s_0 = C -> s_1..s_T -> y_1..y_T (08).

    The decoder reads the previous word d_t at every step; with c_every_step, C too (W_Cs);
    with attention, every encoder state feeds s_t, weighted by alpha (set_edge_weights).
    """
    _check_length("S", S)
    _check_length("T", T)
    nodes, edges = [], []
    for j in range(1, S + 1):
        nodes += [Node(f"x{j}", "x", j, 0, f"x_{j}", 0), Node(f"e{j}", "e", j, 1, f"e_{j}", 0)]
        edges.append(Edge(f"x{j}", f"e{j}", "W_xe"))
        if j > 1:
            edges.append(Edge(f"e{j - 1}", f"e{j}", "W_ee"))
    c, s0 = S + 1, S + 2
    nodes += [Node("C", "C", c, 1, "C", 0), Node("s0", "s", s0, 1, "s_0", 0)]
    edges += [Edge(f"e{S}", "C", ""), Edge("C", "s0", "")]
    for t in range(1, T + 1):
        col = s0 + t
        nodes += [Node(f"d{t}", "d", col, 0, f"d_{t}", t), Node(f"s{t}", "s", col, 1, f"s_{t}", t),
                  Node(f"y{t}", "y", col, 2, f"y_{t}", t)]
        edges += [Edge(f"d{t}", f"s{t}", "W_ds"), Edge(f"s{t - 1}", f"s{t}", "W_ss"),
                  Edge(f"s{t}", f"y{t}", "W_sy", note=(0.6, "right", "last"))]   # named clear of the arcs
    if c_every_step:
        edges += [Edge("C", f"s{t}", "W_Cs", via=_bus(c, s0 + t)) for t in range(T, 0, -1)]
    if attention:
        edges += [Edge(f"e{j}", f"s{t}", "α", kind="attention", via=_arc(j, s0 + t))
                  for t in range(1, T + 1) for j in range(1, S + 1)]
    names = ((c, 1.22, "$C$", "center", "bottom"), (s0, 1.22, "$s_0$", "center", "bottom"),
             ((S + 1) / 2, -0.36, "encoder", "center", "top"), (s0 + (T + 1) / 2, -0.36, "decoder", "center", "top"))
    return Spec("seq2seq", tuple(nodes), tuple(edges), T, names)


def _arc(a: float, b: float, row: float = 1.0, n: int = 12) -> tuple:
    """Waypoints of an arc above the state row from column a to column b (a parabola)."""
    s = np.linspace(0, 1, n)[1:-1]
    top = 0.45 + 0.03 * min(abs(b - a), 10)
    return tuple((a + (b - a) * u, row + 4 * top * u * (1 - u)) for u in s)


def bidir_spec(T: int) -> Spec:
    """Forward h_t = f(h_{t-1}, x_t), backward g_t = f(g_{t+1}, x_t), o_t reads [h_t; g_t] (09)."""
    _check_length("T", T)
    d = 0.24                                    # h left of the column, g right of it: the arrows pass between
    nodes = [Node("h0", "h", -d, 1, "h_0", 0), Node(f"g{T + 1}", "g", T + 1 + d, 2, f"g_{T + 1}", 0)]
    edges = []
    for t in range(1, T + 1):
        nodes += [Node(f"x{t}", "x", t, 0, f"x_{t}", t), Node(f"h{t}", "h", t - d, 1, f"h_{t}", t),
                  Node(f"g{t}", "g", t + d, 2, f"g_{t}", t), Node(f"o{t}", "o", t, 3, f"o_{t}", t)]
        edges += [Edge(f"x{t}", f"h{t}", "W_xh", note=(0.5, "left")), Edge(f"h{t - 1}", f"h{t}", "W_hh"),
                  Edge(f"x{t}", f"g{t}", "W_xg", note=(0.35, "right")), Edge(f"g{t + 1}", f"g{t}", "W_gg"),
                  Edge(f"h{t}", f"o{t}", "W_ho", note=(0.8, "left")),
                  Edge(f"g{t}", f"o{t}", "W_go", note=(0.75, "right"))]
    names = ((-d, 1.22, "$h_0$", "center", "bottom"), (T + 1 + d, 2.22, f"$g_{{{T + 1}}}$", "center", "bottom"))
    return Spec("bidir", tuple(nodes), tuple(edges), T, names)


# -- drawing ---------------------------------------------------------------------------------
class GraphView:
    """One spec drawn on one Axes: few artists (collections), updated in place."""

    def __init__(self, ax, spec: Spec, vmax: float = 1.0, max_columns: int = 16, fontsize: float = MEDIUM,
                 xlim: tuple | None = None, ylim: tuple | None = None):
        from matplotlib import colormaps

        if not isinstance(spec, Spec):
            raise TypeError(f"GraphView needs a Spec (from rnn_spec, vec2seq_spec, ...), got {type(spec).__name__}")
        self.ax, self.spec, self.vmax, self.fontsize = ax, spec, float(vmax), fontsize
        self.cmap = colormaps["RdBu_r"]
        self._index(spec)
        self.windowed, self.window = len({round(n.col) for n in spec.nodes}) > max_columns, max_columns
        lo_row, hi_row = min(n.row for n in spec.nodes), max(n.row for n in spec.nodes)
        self.ylim = ylim or (min([lo_row - 0.45] + [m[1] - 0.3 for m in spec.names]), hi_row + 0.62)
        self.xlim = xlim                               # fixed limits (say, to line up with a heatmap below)
        ax.set(ylim=self.ylim)
        self._set_xlim(self._window_at(spec.steps))
        ax.axis("off")
        self._sizes()
        self._draw_states()
        self._draw_edges()
        self._draw_tokens()
        self._draw_static()
        self.values: dict[str, np.ndarray] = {}
        self.lengths: dict[str, int] = {}              # vector length per kind, fixed by the first values
        self.hidden: set[str] = set()                  # drawn invisible: _after (set_length) | _chosen (set_hidden)
        self._after: set[str] = set()
        self._chosen: set[str] = set()
        self.t = None
        self._role_cache: dict[int, np.ndarray] = {}
        self._projections: dict[int, np.ndarray] = {}
        self.label_artists = list(self.texts.values())
        self.step_artists = [self.lit, self.lines, self.heads, self.cells, self.outlines, self.veil, self.note]
        self.artists = self.step_artists + self.label_artists
        self.set_step(spec.steps)

    def _index(self, spec: Spec) -> None:
        """Look-ups: nodes by id, each node's parents, edges by (src, dst), rows of the colour arrays."""
        self.nodes = {n.id: n for n in spec.nodes}
        for e in spec.edges:
            for end in (e.src, e.dst):
                if end not in self.nodes:
                    raise ValueError(f"edge {e.src} -> {e.dst}: no node {end!r} in the spec")
        self.edge_index = {(e.src, e.dst): i for i, e in enumerate(spec.edges)}
        self.parents: dict[str, list[str]] = {n: [] for n in self.nodes}
        for e in spec.edges:
            self.parents[e.dst].append(e.src)
        self.states = [n for n in spec.nodes if n.kind in STATE_KINDS]
        self.tokens = [n for n in spec.nodes if n.kind not in STATE_KINDS]
        self.col_range = (min(n.col for n in spec.nodes), max(n.col for n in spec.nodes))
        row = {n.id: i for i, n in enumerate(spec.nodes)}
        self._src = np.array([row[e.src] for e in spec.edges], int)
        self._dst = np.array([row[e.dst] for e in spec.edges], int)
        self._state_rows = np.array([row[n.id] for n in self.states], int)
        self._token_rows = np.array([row[n.id] for n in self.tokens], int)
        self._token_is_output = np.array([n.kind in OUTPUT_KINDS for n in self.tokens], bool)
        self._palette = np.array([_rgba(LATER), _rgba(DONE), _rgba(NOW)])
        self.is_attention = np.array([e.kind == "attention" for e in spec.edges], bool)
        self.weights = np.ones(len(spec.edges))
        for i in np.flatnonzero(self.is_attention):  # uniform attention until told otherwise
            self.weights[i] = 1 / np.sum(self.is_attention & (self._dst == self._dst[i]))

    def _draw_states(self) -> None:
        """Every state: a block of cells (one PolyCollection) in an outlined box (another)."""
        from matplotlib.collections import PolyCollection

        r, c = CELLS
        cw, ch = self.box[0] / c, self.box[1] / r
        verts = []
        for n in self.states:
            x0, y0 = n.col - self.box[0] / 2, n.row + self.box[1] / 2
            for i in range(r):
                for j in range(c):
                    x, y = x0 + j * cw, y0 - (i + 1) * ch
                    verts.append([(x, y), (x + cw, y), (x + cw, y + ch), (x, y + ch)])
        self.cells = self.ax.add_collection(PolyCollection(verts, facecolors=BLANK, edgecolors="none", zorder=3,
                                                           antialiaseds=False))
        self.outlines = self.ax.add_collection(PolyCollection(
            [self._rect(n.col, n.row, *self.box) for n in self.states], facecolors="none",
            edgecolors=LATER, linewidths=1.0, zorder=3.5))

    def _draw_edges(self) -> None:
        """Every edge: one LineCollection of polylines; their heads, one collection of turned triangles."""
        from matplotlib.collections import LineCollection

        self.paths = [self._route(e) for e in self.spec.edges]
        self._path_x = np.array([(p[:, 0].min(), p[:, 0].max()) for p in self.paths]).reshape(-1, 2)   # (E, 2)
        self.lines = self.ax.add_collection(LineCollection(self.paths, linewidths=1.3, capstyle="butt", zorder=2))
        self.heads = self._heads(self.ax)

    def _draw_tokens(self) -> None:
        """The lit column, the tokens' texts and the veils over those not computed yet."""
        from matplotlib.collections import PolyCollection
        from matplotlib.patches import Rectangle

        y0, y1 = self.ylim
        self.lit = self.ax.add_patch(Rectangle((0, y0 + 0.02), 0.9, y1 - y0 - 0.04, fc=NOW, alpha=0.13,
                                               ec=NOW, lw=1.5, zorder=1))
        self.veil = self.ax.add_collection(PolyCollection(
            [self._rect(n.col, n.row, 0.98, self.label_h * (4.8 if n.kind in OUTPUT_KINDS else 2.4))
             for n in self.tokens], facecolors="none", edgecolors="none", zorder=4))
        self.texts = {n.id: self.ax.text(n.col, n.row, "", ha="center", va="center", fontsize=self.fontsize,
                                         linespacing=1.0, zorder=3.8) for n in self.tokens}

    def _draw_static(self) -> None:
        """Captions, each weight's name once (by its leftmost edge, or rightmost) and a windowed view's note.

        self.static_artists: those texts but the note. A windowed view moves them when it pans: a
        widget can keep them in a LiveFigure layer (refresh_layer on a pan, not a full redraw).
        """
        before = set(map(id, self.ax.texts))
        for col, row, text, ha, va in self.spec.names:
            self.ax.text(col, row, text, ha=ha, va=va, fontsize=SMALL, color="#374151")
        first = {}
        for e, path in zip(self.spec.edges, self.paths):
            col = self.nodes[e.dst].col * (-1 if e.note[2:] == ("last",) else 1)
            if e.weight and e.kind == "flow" and (e.weight not in first or col < first[e.weight][0]):
                first[e.weight] = (col, e, path)
        for _, e, path in first.values():
            self._weight_label(e, path)
        self.static_artists = [t for t in self.ax.texts if id(t) not in before]
        self.note = self.ax.text(1.0, 1.0, "", transform=self.ax.transAxes, ha="right", va="top",
                                 fontsize=SMALL, color="#b45309")

    # -- geometry ----------------------------------------------------------------------------
    def _sizes(self) -> None:
        """Node and label sizes in data units, from the Axes' size in pixels (square cells)."""
        bbox = self.ax.get_window_extent()
        x0, x1 = self.ax.get_xlim()
        self.px_col = bbox.width / (x1 - x0)
        self.px_row = bbox.height / (self.ylim[1] - self.ylim[0])
        w = min(0.4, 44 / self.px_col)                   # at most 44 px wide: 11 px cells
        self.box = (w, w * self.px_col / self.px_row * CELLS[0] / CELLS[1])
        self.label_h = 9 / self.px_row                   # half a label's height (about 9 px)

    @staticmethod
    def _rect(x: float, y: float, w: float, h: float) -> list:
        return [(x - w / 2, y - h / 2), (x + w / 2, y - h / 2), (x + w / 2, y + h / 2), (x - w / 2, y + h / 2)]

    def _half(self, node: Node) -> tuple[float, float]:
        """Half width and height of the box an edge stops at (a few pixels of air around it)."""
        if node.kind in STATE_KINDS:
            return self.box[0] / 2 + 3 / self.px_col, self.box[1] / 2 + 3 / self.px_row
        return 0.3, self.label_h + 3 / self.px_row

    def _route(self, e: Edge) -> np.ndarray:
        """The edge's polyline, its ends cut where it leaves src's box and enters dst's."""
        a, b = self.nodes[e.src], self.nodes[e.dst]
        pts = np.array([(a.col, a.row), *e.via, (b.col, b.row)], float)
        pts[0] = _exit(pts[0], pts[1], self._half(a))
        pts[-1] = _exit(pts[-1], pts[-2], self._half(b))
        return pts

    def _heads(self, ax):
        """Arrow heads: a triangle per edge at its end, turned along its last segment (on screen)."""
        from matplotlib.path import Path

        tri = np.array([(0, 0), (-1, 0.42), (-1, -0.42), (0, 0)])
        paths = []
        for p in self.paths:
            dx, dy = (p[-1] - p[-2]) * (self.px_col, self.px_row)
            a = np.arctan2(dy, dx)
            rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            paths.append(Path(tri @ rot.T, closed=True))
        ends = np.array([p[-1] for p in self.paths]) if self.paths else np.zeros((0, 2))
        heads = ax.scatter(ends[:, 0], ends[:, 1], s=50, linewidths=0, zorder=2.5)
        heads.set_paths(paths)
        self._head_paths, self._ends = paths, ends
        return heads

    def _weight_label(self, e: Edge, path: np.ndarray) -> None:
        """The weight's name beside the middle of the edge's last segment."""
        text = "$" + e.weight.replace("_", "_{", 1) + "}$" if "_" in e.weight else e.weight
        style = dict(fontsize=SMALL, color="#374151")
        if len(e.via) == 2:                                 # a bus: under it, just after its source
            x, y = path[1]
            self.ax.text(x + 0.2, y - 4 / self.px_row, text, ha="center", va="top", **style)
            return
        p, q = path[-2], path[-1]
        dx, dy = (q - p) * (self.px_col, self.px_row)
        if abs(dx) >= abs(dy):                              # across: above the middle
            x, y = (p + q) / 2
            self.ax.text(x, y + 3 / self.px_row, text, ha="center", va="bottom", **style)
        else:                                               # up: beside the upper part, on the outer side
            at, side = e.note[:2]
            x, y = p + at * (q - p)
            right = side == "right"
            self.ax.text(x + (6 if right else -6) / self.px_col, y, text, ha="left" if right else "right",
                         va="center", **style)

    def _window_at(self, t: int) -> tuple[float, float]:
        """x limits: every column, or a window of `max_columns` columns holding step t.

        The window stays put while step t is inside it, then jumps so that t sits a third of the
        way in: it pans (a full redraw) once every several steps, not at every step.
        """
        lo, hi = self.col_range
        if not self.windowed:
            return self.xlim or (lo - 0.55, hi + 0.55)
        focus = [n.col for n in self.spec.nodes if n.step == t] or [lo]
        a, b = min(focus), max(focus)
        left = getattr(self, "_left", None)
        if left is None or a < left + 1 or b > left + self.window - 2:
            left = a - self.window // 3
        left = self._left = min(max(lo, left), hi - self.window + 1)
        return left - 0.55, left + self.window - 1 + 0.55

    def _set_xlim(self, lim) -> bool:
        if tuple(self.ax.get_xlim()) == tuple(lim):
            return False
        self.ax.set_xlim(*lim)
        return True

    # -- updates -----------------------------------------------------------------------------
    def set_labels(self, labels: dict, colors: dict | None = None) -> None:
        """Text in the input and output nodes (the tokens), shrunk to fit a column; colors: node id -> colour."""
        for node_id, text in labels.items():
            artist = self._token(node_id)
            artist.set_text(str(text))
            chars = max(len(line) for line in str(text).split("\n")) or 1
            fit = 0.98 * self.px_col / (0.6 * chars) * 72 / self.ax.figure.dpi     # points that fit a column
            artist.set_fontsize(max(6.5, min(self.fontsize, fit)))
        for node_id, colour in (colors or {}).items():
            self._token(node_id).set_color(colour)

    def _token(self, node_id: str):
        if node_id not in self.texts:
            kind = "a state (use set_values)" if node_id in self.nodes else "not in this spec"
            raise ValueError(f"set_labels: {node_id!r} is {kind}; labelled nodes are "
                             f"{', '.join(list(self.texts)[:8])}{', ...' if len(self.texts) > 8 else ''}")
        return self.texts[node_id]

    def set_values(self, values: dict, clear: bool = False) -> None:
        """Each state's vector (node id -> 1-D array); clear=True forgets the states not given."""
        checked = {}
        for node_id, vec in values.items():
            node = self.nodes.get(node_id)
            if node is None or node.kind not in STATE_KINDS:
                kind = "not a state (use set_labels)" if node else "not in this spec"
                raise ValueError(f"set_values: {node_id!r} is {kind}; states are "
                                 f"{', '.join(n.id for n in self.states[:8])}, ...")
            vec = np.asarray(vec, dtype=float)
            if vec.ndim != 1 or vec.size == 0:
                raise ValueError(f"set_values: {node_id} must be a 1-D vector (H,), got shape {vec.shape}")
            known = self.lengths.get(node.kind)
            if known is not None and vec.size != known:
                raise ValueError(f"set_values: {node_id} has {vec.size} values, the other {node.kind} states "
                                 f"have {known}: expected shape ({known},), got {vec.shape}")
            self.lengths.setdefault(node.kind, vec.size)
            checked[node_id] = vec
        if clear:
            self.values = {}
        self.values.update(checked)
        self._paint(edges=False, step=False)

    def set_edge_weights(self, weights: dict) -> None:
        """Edge (src, dst) -> weight in [0, 1]: line width and opacity (attention's alpha)."""
        for key, w in weights.items():
            i = self.edge_index.get(tuple(key))
            if i is None:
                into = [s for s, d in self.edge_index if d == (key[1] if len(key) == 2 else None)]
                raise ValueError(f"set_edge_weights: no edge {key!r} in this {self.spec.name} spec"
                                 + (f"; edges into {key[1]} come from {', '.join(into)}" if into else ""))
            w = float(w)
            if not 0 <= w <= 1:
                raise ValueError(f"set_edge_weights: weights are in [0, 1], got {w} for {key}")
            self.weights[i] = w
        self._paint(cells=False, step=False)

    def set_length(self, n: int) -> None:
        """Hide the nodes of steps after n (and their edges): a shorter input in a spec built long."""
        _check_length("n", n, 0, self.spec.steps)
        self._after = {m.id for m in self.spec.nodes if m.step > n}
        if self.t is not None and self.t > n:
            self.t = n
        self._hide()

    def set_hidden(self, ids) -> None:
        """Hide these nodes (and their edges) besides the steps after set_length's n; () shows them again."""
        unknown = [i for i in ids if i not in self.nodes]
        if unknown:
            raise ValueError(f"set_hidden: {unknown[0]!r} is not in this {self.spec.name} spec; it has "
                             f"{_id_list(self.spec)}")
        self._chosen = set(ids)
        self._hide()

    def _hide(self) -> None:
        self.hidden = self._after | self._chosen
        for node_id, text in self.texts.items():
            text.set_visible(node_id not in self.hidden)
        self._paint()

    def set_step(self, t: int) -> bool:
        """Light the path into step t (0..steps); True if the view panned (LiveFigure.invalidate())."""
        _check_length("t", t, 0, self.spec.steps)
        self.t = int(t)
        panned = self._set_xlim(self._window_at(self.t)) if self.windowed else False
        self.note.set_visible(self.windowed)
        if self.windowed:
            lo, hi = self.ax.get_xlim()
            shown = [m.step for m in self.spec.nodes if lo < m.col < hi and m.step > 0]
            self.note.set_text(f"steps {min(shown)}-{max(shown)} of {self.spec.steps} shown" if shown else "")
        self._paint()
        return panned

    def roles(self, t: int | None = None) -> dict[str, str]:
        """Each node's role at step t: "now", "done" (step t reads it, or an earlier output) or "later"."""
        codes = self._codes(self.t if t is None else t)
        return {n.id: ("later", "done", "now")[c] for n, c in zip(self.spec.nodes, codes)}

    def _codes(self, t: int) -> np.ndarray:
        """Roles as codes per node (0 later, 1 done, 2 now), cached per step."""
        if t not in self._role_cache:
            now = {n.id for n in self.spec.nodes if n.step == t}
            done, stack = set(), [p for n in now for p in self.parents[n]]
            while stack:
                n = stack.pop()
                if n not in done and n not in now:
                    done.add(n)
                    stack.extend(self.parents[n])
            done |= {n.id for n in self.spec.nodes if n.kind in OUTPUT_KINDS and n.step < t}   # earlier outputs
            self._role_cache[t] = np.array([2 if n.id in now else 1 if n.id in done else 0
                                            for n in self.spec.nodes])
        return self._role_cache[t]

    @contextmanager
    def batch(self):
        """Inside this block, updates (labels, values, weights, hidden nodes, length, step) repaint once, at its end."""
        self._deferred: set | None = set()
        try:
            yield self
        finally:
            parts, self._deferred = self._deferred, None
            if parts:
                self._paint(cells="cells" in parts, edges="edges" in parts, step="step" in parts)

    def _paint(self, cells: bool = True, edges: bool = True, step: bool = True) -> None:
        """Update the colours that depend on what changed: values (cells), weights (edges), t (all)."""
        if self.t is None:
            return
        deferred = getattr(self, "_deferred", None)
        if deferred is not None:                       # inside batch(): painted once at its end
            deferred.update(k for k, on in (("cells", cells), ("edges", edges), ("step", step)) if on)
            return
        codes = self._codes(self.t)
        shown = np.array([n.id not in self.hidden for n in self.spec.nodes])
        if cells:
            self._paint_cells(codes, shown)
        if edges:
            self._paint_edges(codes, shown)
        if step:
            self._paint_step(codes, shown)

    def _paint_cells(self, codes: np.ndarray, shown: np.ndarray) -> None:
        """Each state's cells: its values' colours, faded when later, blank without values."""
        k = CELLS[0] * CELLS[1]
        face = np.tile(_rgba(BLANK), (len(self.states), k, 1))
        have = [i for i, n in enumerate(self.states) if n.id in self.values]
        if have:
            x = np.stack([self._compact(self.values[self.states[i].id]) for i in have])     # (n, 8)
            face[have] = np.where(np.isnan(x)[..., None], _rgba(BLANK),
                                  self.cmap((np.clip(np.nan_to_num(x) / self.vmax, -1, 1) + 1) / 2))
        later = codes[self._state_rows] == 0
        face[later, :, :3] = face[later, :, :3] * (1 - FADE) + FADE
        face[~shown[self._state_rows], :, 3] = 0
        self.cells.set_facecolors(face.reshape(-1, 4))

    def _paint_edges(self, codes: np.ndarray, shown: np.ndarray) -> None:
        """Edges by the role of the node they lead into (later if they leave a later node); attention by weight."""
        into = np.where(codes[self._src] == 0, 0, codes[self._dst])
        colours = self._palette[into].copy()                                        # (E, 4)
        w = self.weights
        widths = np.where(self.is_attention, 0.4 + 5.0 * w, 1.3 * w + 0.3 * (w > 0))
        colours[:, 3] *= w > 0
        att = self.is_attention
        colours[att, 3] = np.where(codes[self._dst[att]] == 2, 0.15 + 0.85 * w[att], 0.0)
        colours[~(shown[self._src] & shown[self._dst]), 3] = 0
        lo, hi = self.ax.get_xlim()
        in_view = (self._path_x[:, 1] >= min(lo, hi)) & (self._path_x[:, 0] <= max(lo, hi))   # crosses the window
        keep = np.flatnonzero((colours[:, 3] > 0) & in_view)                        # draw only what shows
        if keep.tobytes() != getattr(self, "_kept", None):                          # which edges show changed
            self._kept = keep.tobytes()
            self.drawn_edges = [(self.spec.edges[i].src, self.spec.edges[i].dst) for i in keep]
            self.lines.set_segments([self.paths[i] for i in keep])
            self.heads.set_offsets(self._ends[keep].reshape(-1, 2))
            self.heads.set_paths([self._head_paths[i] for i in keep])
        self.lines.set_color(colours[keep])
        self.lines.set_linewidths(widths[keep])
        self.heads.set_facecolors(colours[keep])

    def _paint_step(self, codes: np.ndarray, shown: np.ndarray) -> None:
        """Outlines, the lit column and the veils over labels not computed yet."""
        rows = self._state_rows
        self.outlines.set_edgecolors(np.where(shown[rows], np.where(codes[rows] > 0, "k", "#94a3b8"), "none"))
        self.outlines.set_linewidths(np.where(codes[rows] == 2, 1.6, 0.8))
        now = [round(n.col) for n, c, s in zip(self.spec.nodes, codes, shown) if c == 2 and s]
        self.lit.set_visible(bool(now))
        if now:
            self.lit.set_x(min(now) - 0.45)
            self.lit.set_width(max(now) - min(now) + 0.9)
        veil = np.ones((len(self.tokens), 4))
        later = (codes[self._token_rows] == 0) & shown[self._token_rows]
        veil[:, 3] = np.where(later, np.where(self._token_is_output, 1.0, 0.7), 0.0)
        self.veil.set_facecolors(veil)

    def _compact(self, vec: np.ndarray) -> np.ndarray:
        """8 numbers for a vector: itself (padded with NaN, drawn blank) if short, else a fixed projection."""
        k = CELLS[0] * CELLS[1]
        if vec.size <= k:
            return np.pad(vec, (0, k - vec.size), constant_values=np.nan)
        P = self._projections.get(vec.size)
        if P is None:
            q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((vec.size, k)))
            P = self._projections[vec.size] = q.T          # (8, H), orthonormal rows
        return P @ vec

    def colours_of(self, node_id: str) -> np.ndarray:
        """The RGBA colours (8, 4) of a state's cells as drawn now (for tests)."""
        k = [n.id for n in self.states].index(node_id)
        n = CELLS[0] * CELLS[1]
        return np.asarray(self.cells.get_facecolors())[k * n:(k + 1) * n]


def _rgba(colour) -> np.ndarray:
    from matplotlib.colors import to_rgba

    return np.array(to_rgba(colour))


def _exit(center: np.ndarray, toward: np.ndarray, half: tuple[float, float]) -> np.ndarray:
    """Where the segment from a box's center toward a point leaves the box."""
    d = toward - center
    scale = min(half[0] / abs(d[0]) if d[0] else np.inf, half[1] / abs(d[1]) if d[1] else np.inf)
    return center + d * min(scale, 0.45)


# -- sample values and the demo widget -----------------------------------------------------
def topological(spec: Spec) -> list[str]:
    """Node ids in an order where every node comes after the nodes it reads."""
    parents = {n.id: {e.src for e in spec.edges if e.dst == n.id} for n in spec.nodes}
    order, done = [], set()
    while len(order) < len(parents):
        ready = [n for n in parents if n not in done and parents[n] <= done]
        if not ready:
            raise ValueError(f"the {spec.name} spec has a cycle")
        order += ready
        done |= set(ready)
    return order


def random_values(spec: Spec, H: int = 16, seed: int = 0) -> tuple[dict, dict]:
    """Every state of a spec from a random tanh network run along its edges; attention weights (demos, tests)."""
    rng = np.random.default_rng(seed)
    mats, vals = {}, {}
    for node_id in topological(spec):
        into = [e for e in spec.edges if e.dst == node_id and e.kind == "flow"]
        if not into:
            vals[node_id] = rng.standard_normal(H)                           # (H,) an input or a first state
            continue
        z = np.zeros(H)
        for e in into:
            if e.weight not in mats:
                mats[e.weight] = rng.standard_normal((H, H)) * 1.5 / np.sqrt(H) if e.weight else np.eye(H)
            z += mats[e.weight] @ vals[e.src]
        vals[node_id] = np.tanh(z) if e.weight else z                        # an identity edge copies
    states = {n.id: vals[n.id] for n in spec.nodes if n.kind in STATE_KINDS}
    weights = {}
    for n in spec.nodes:
        srcs = [e.src for e in spec.edges if e.dst == n.id and e.kind == "attention"]
        if srcs:
            a = np.exp(3 * np.array([vals[s] @ vals[n.id] for s in srcs]) / np.sqrt(H))
            weights.update({(s, n.id): w for s, w in zip(srcs, a / a.sum())})
    return states, weights


def demo(spec: Spec | None = None, t: int = 1):
    """A widget: one spec's graph on random states, a step slider (the benchmark measures its updates)."""
    import ipywidgets as widgets

    from .live import LiveFigure, new_figure

    spec = spec or seq2seq_spec(5, 8, c_every_step=True, attention=True)

    class GraphDemo(LiveFigure):
        """Scrub t: the path into step t lit, the states computed so far coloured."""

        def __init__(self):
            super().__init__()
            rows = max(n.row for n in spec.nodes) - min(n.row for n in spec.nodes)
            self.fig = new_figure(10.5, 1.9 + 0.55 * rows, dpi=72)
            self.view = GraphView(self.fig.add_axes((0.01, 0.02, 0.98, 0.96)), spec)
            self.states, weights = random_values(spec)
            self.view.set_edge_weights(weights)
            self.view.set_labels({n.id: n.label for n in self.view.tokens})
            self.add_layer(*self.view.label_artists)
            self.animate(*self.view.step_artists)
            self.controls = {"t": widgets.IntSlider(value=t, min=1, max=spec.steps, description="step t")}
            self.connect()
            self.update()

        def refresh(self) -> None:
            step = self.controls["t"].value
            role = self.view.roles(step)                 # computed so far: the path into t and steps up to t
            self.view.set_values({k: v for k, v in self.states.items()
                                  if role[k] != "later" or self.view.nodes[k].step <= step}, clear=True)
            if self.view.set_step(step):
                self.invalidate()

    return GraphDemo()
