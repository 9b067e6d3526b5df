"""Notebook 04's phase portrait: a 2-unit RNN h_t = tanh(W_hh h_{t-1} + W_xh x_t), W_hh = scale * rotation."""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from . import memory
from .live import LiveFigure, new_figure

T = 30          # steps drawn for each trajectory
N_STARTS = 8    # trajectories, started on a circle
GRID = 13       # flow arrows per side
COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777", "#65a30d"]


def starts(n: int = N_STARTS, radius: float = 0.9) -> np.ndarray:
    """n starting states spread on a circle.  # (n, 2)"""
    a = 2 * np.pi * (np.arange(n) + 0.5) / n
    return radius * np.stack([np.cos(a), np.sin(a)], 1)


def regime(n_stable: int, final_spread: float) -> str:
    """A one-line reading of the picture: forgetting, memory or motion."""
    if n_stable == 0:
        return "no stable fixed point: the state keeps moving (rotation or a cycle)"
    if n_stable >= 2:
        return f"{n_stable} stable fixed points: where the state ends depends on where it began (memory)"
    if final_spread < 1e-2:
        return "one stable fixed point, every start ends there: the start is forgotten (contraction)"
    return "one stable fixed point, reached slowly: the start is still visible after 30 steps"


def compute(angle: float, scale: float, x: float, T: int = T) -> dict:
    """Flow, trajectories, fixed points and spread for W_hh = scale * R(angle) under constant input x."""
    W = memory.rotation_scale(angle, scale)
    b = memory.U_IN * x                                   # a constant input acts as a bias
    traj = memory.trajectories(W, b, starts(), T)         # (N, T+1, 2)
    points, stable = memory.fixed_points(W, b)
    sp = memory.spread(traj)                              # (T+1,)
    return {"W": W, "b": b, "flow": memory.flow(W, b, GRID), "traj": traj, "points": points,
            "stable": stable, "spread": sp, "eig": np.linalg.eigvals(W),
            "regime": regime(int(stable.sum()), float(sp[-1]))}


class PhaseWidget(LiveFigure):
    """Sliders for the rotation and scale of W and for the input; the 2-D state's flow and paths."""

    def __init__(self, angle: float = 30.0, scale: float = 0.8, x: float = 0.0):
        super().__init__()
        self.fig = new_figure(9.6, 5.0, dpi=80)
        ax, ax_s = self.fig.subplots(1, 2, width_ratios=[1.05, 1])
        self.fig.subplots_adjust(left=0.07, right=0.98, top=0.82, bottom=0.2, wspace=0.28)
        self.fig.suptitle("h_t = tanh(W_hh h_(t-1) + W_xh x),  W_hh = ρ × rotation(angle),  W_xh = (1, 0)",
                          fontsize=10.5, y=0.985)
        X, Y, U, V = memory.flow(np.eye(2), np.zeros(2), GRID)
        self.quiver = ax.quiver(X, Y, U, V, color="#9ca3af", angles="xy", scale_units="xy", scale=1.6,
                                width=0.004)
        self.lines = [ax.plot([], [], "-", color=c, lw=1.0, alpha=0.6)[0] for c in COLOURS]
        self.dots = [ax.plot([], [], "o", color=c, ms=2.5)[0] for c in COLOURS]
        p0 = starts()
        ax.scatter(p0[:, 0], p0[:, 1], s=22, c=COLOURS, marker="s", zorder=3)
        self.fixed = ax.scatter([], [], s=60, facecolors=[], edgecolors="k", linewidths=1.5, zorder=4)
        ax.set(xlim=(-1.08, 1.08), ylim=(-1.08, 1.08), xlabel="unit 0: h_t[0]", ylabel="unit 1: h_t[1]",
               aspect="equal")
        ax.set_title("state plane: flow f(h) - h, paths from 8 starts", fontsize=10)
        t = np.arange(T + 1)
        (self.spread_line,) = ax_s.semilogy(t, np.ones(T + 1), "o-", color="#111827", ms=3)
        ax_s.set(ylim=(1e-5, 3), xlim=(0, T), xlabel="step t",
                 ylabel="spread of the 8 states (log scale)")
        ax_s.set_title("how far apart the 8 paths still are", fontsize=10)
        ax_s.grid(alpha=0.3, which="major")
        keys = [ax.plot([], [], "s", color="#6b7280")[0], ax.plot([], [], "o", color="k", ms=7)[0],
                ax.plot([], [], "o", mfc="white", mec="k", ms=7)[0]]
        ax.legend(keys, ["start h_0 (8 of them)", "stable fixed point", "unstable fixed point"],
                  loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=8, frameon=False,
                  handletextpad=0.3, columnspacing=1.0)    # below the state plane, not over the paths
        self.title = self.fig.text(0.5, 0.9, "", ha="center", fontsize=10.5, color="#1e3a8a")
        self.animate(self.quiver, *self.lines, *self.dots, self.fixed, self.spread_line)
        self.cache_text(self.title)
        self.controls = {
            "angle": widgets.FloatSlider(value=angle, min=0, max=180, step=5, description="angle (°)"),
            "scale": widgets.FloatSlider(value=scale, min=0.0, max=2.0, step=0.05, description="scale ρ"),
            "x": widgets.FloatSlider(value=x, min=-1.5, max=1.5, step=0.05, description="input x"),
        }
        self.connect()
        self.update()

    def refresh(self) -> None:
        """Read the sliders, recompute, move the arrows, paths, fixed points and spread."""
        c = self.controls
        r = compute(c["angle"].value, c["scale"].value, c["x"].value)
        self.quiver.set_UVC(*r["flow"][2:])
        for line, dots, path in zip(self.lines, self.dots, r["traj"]):
            line.set_data(path[:, 0], path[:, 1])
            dots.set_data(path[1:, 0], path[1:, 1])
        self.fixed.set_offsets(r["points"] if len(r["points"]) else np.empty((0, 2)))
        self.fixed.set_facecolors(["k" if s else "white" for s in r["stable"]])
        self.spread_line.set_ydata(np.maximum(r["spread"], 1e-5))
        self.title.set_text(r["regime"])
        if c["scale"].value == 0:
            self.say("scale 0 means W_hh = 0: the old state is multiplied away in one step")


def demo() -> PhaseWidget:
    """The widget as notebook 04 first shows it (for the benchmark)."""
    return PhaseWidget()
