"""Notebook 05's drawings of a GRU cell and an LSTM cell: the gates, and the paths a value takes.

The thick top line is the path that carries the state from step t-1 to step t; a gate near 1
(z for the GRU, f for the LSTM) lets a value ride along it unchanged.
"""
from __future__ import annotations

import numpy as np

GATE, SQUASH, OP, STATE = "#dcfce7", "#fee2e2", "#ffffff", "#dbeafe"   # box colours
CARRY = "#1d4ed8"                                                    # the path that carries the state

# node -> (x, y, text, colour); ops are circles, the rest boxes
NODES = {
    "gru": {
        "h_in": (0.4, 3.0, "$h_{t-1}$", STATE), "x": (0.4, 0.0, "$x_t$", STATE),
        "r": (2.0, 0.9, "$\\sigma$\nreset $r_t$", GATE), "z": (3.6, 0.9, "$\\sigma$\nupdate $z_t$", GATE),
        "n": (5.4, 0.9, "tanh\ncandidate $n_t$", SQUASH),
        "keep": (3.6, 3.0, "×", OP), "one_minus": (5.4, 2.0, "1−", OP), "write": (6.6, 2.0, "×", OP),
        "sum": (6.6, 3.0, "+", OP), "h_out": (8.2, 3.0, "$h_t$", STATE),
    },
    "lstm": {
        "c_in": (0.4, 3.4, "$c_{t-1}$", STATE), "h_in": (0.4, 1.0, "$h_{t-1}$", STATE),
        "x": (0.4, -0.3, "$x_t$", STATE),
        "f": (2.2, 1.6, "$\\sigma$\nforget $f_t$", GATE), "i": (3.8, 1.0, "$\\sigma$\ninput $i_t$", GATE),
        "g": (5.2, 1.0, "tanh\ncand. $\\tilde c_t$", SQUASH), "o": (7.4, 0.6, "$\\sigma$\noutput $o_t$", GATE),
        "keep": (2.2, 3.4, "×", OP), "write": (4.5, 2.3, "×", OP), "sum": (4.5, 3.4, "+", OP),
        "squash": (6.2, 2.5, "tanh", SQUASH), "show": (7.4, 1.8, "×", OP),
        "c_out": (9.0, 3.4, "$c_t$", STATE), "h_out": (9.0, 1.8, "$h_t$", STATE),
    },
}
EDGES = {  # (from, to, carries the state?)
    "gru": [("h_in", "keep", True), ("keep", "sum", True), ("sum", "h_out", True),
            ("h_in", "r", False), ("h_in", "z", False), ("h_in", "n", False), ("x", "r", False),
            ("x", "z", False), ("x", "n", False), ("r", "n", False), ("z", "keep", False),
            ("z", "one_minus", False), ("one_minus", "write", False), ("n", "write", False),
            ("write", "sum", False)],
    "lstm": [("c_in", "keep", True), ("keep", "sum", True), ("sum", "c_out", True),
             ("h_in", "f", False), ("h_in", "i", False), ("h_in", "g", False), ("h_in", "o", False),
             ("x", "f", False), ("x", "i", False), ("x", "g", False), ("x", "o", False),
             ("f", "keep", False), ("i", "write", False), ("g", "write", False), ("write", "sum", False),
             ("sum", "squash", False), ("squash", "show", False), ("o", "show", False), ("show", "h_out", False)],
}
CAPTIONS = {
    "gru": "GRU: $h_t = z_t \\odot h_{t-1} + (1 - z_t) \\odot n_t$; with $z_t = 1$ the top path copies $h_{t-1}$",
    "lstm": "LSTM: $c_t = f_t \\odot c_{t-1} + i_t \\odot \\tilde c_t$, $h_t = o_t \\odot \\tanh(c_t)$; "
            "with $f_t = 1$, $i_t = 0$ the top path copies $c_{t-1}$",
}


def draw_cell(ax, kind: str) -> dict:
    """Draw a GRU ('gru') or LSTM ('lstm') cell on ax: boxes for gates, circles for ops, arrows for paths.

    Returns {node: its Text artist}, so a caller can recolour a gate.
    """
    if kind not in NODES:
        raise ValueError(f"kind must be 'gru' or 'lstm', got {kind!r}")
    nodes, texts = NODES[kind], {}
    for name, (x, y, label, colour) in nodes.items():
        op = colour == OP or name == "squash"
        style = dict(boxstyle="circle,pad=0.25" if op and len(label) == 1 else "round,pad=0.35",
                     fc=colour, ec="#374151", lw=1.0)
        texts[name] = ax.text(x, y, label, ha="center", va="center", fontsize=9 if op else 8.5, bbox=style,
                              zorder=3)
    for a, b, carry in EDGES[kind]:
        (x0, y0), (x1, y1) = nodes[a][:2], nodes[b][:2]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=2,
                    arrowprops=dict(arrowstyle="-|>", lw=3.0 if carry else 0.9, color=CARRY if carry else "#6b7280",
                                    shrinkA=14, shrinkB=14, connectionstyle="arc3,rad=0" if carry else "arc3,rad=0.08"))
    xs = np.array([v[0] for v in nodes.values()])
    ys = np.array([v[1] for v in nodes.values()])
    ax.set(xlim=(xs.min() - 0.6, xs.max() + 0.6), ylim=(ys.min() - 0.7, ys.max() + 0.6))
    ax.set_title(CAPTIONS[kind], fontsize=9.5)
    ax.axis("off")
    return texts


def draw_cells(fig) -> list:
    """Both diagrams side by side on fig (GRU left, LSTM right); returns the two Axes."""
    axes = fig.subplots(1, 2, width_ratios=[1, 1.1])
    for ax, kind in zip(axes, ("gru", "lstm")):
        draw_cell(ax, kind)
    return list(axes)
