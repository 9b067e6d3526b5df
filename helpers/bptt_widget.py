"""Notebook 03's widget: how the gradient dL/dh_t shrinks or grows as it flows back T steps."""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator

from .live import CharLine, InputError, LiveFigure, new_figure

T_MAX = 100
FLOOR, CEIL = 1e-16, 1e16          # the plot's range; values beyond it are drawn at the edge
NONLINEARITIES = {                 # f and its derivative f'(a)
    "tanh": (np.tanh, lambda a: 1 - np.tanh(a) ** 2),
    "identity": (lambda a: a, np.ones_like),
    "relu": (lambda a: np.maximum(a, 0), lambda a: (a > 0).astype(float)),
}


def recurrent_weights(radius: float, H: int = 32, seed: int = 0) -> np.ndarray:
    """A random W_hh (H, H) rescaled so that its spectral radius (largest |eigenvalue|) is `radius`."""
    W = np.random.default_rng(seed).normal(0, 1 / np.sqrt(H), (H, H))
    return W * radius / np.max(np.abs(np.linalg.eigvals(W)))


def compute(radius: float, nonlinearity: str, T: int, H: int = 32, seed: int = 0) -> dict[str, np.ndarray]:
    """Run h_t = f(W_hh h_{t-1} + u_t) for T steps, then send dL/dh_T back to h_0.

    Returns, for k = 0..T steps back: the gradient norm |dL/dh_(T-k)| (relative to |dL/dh_T|),
    the spectral norm of the Jacobian product dh_T/dh_(T-k), and radius**k; plus the eigenvalues.
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {list(NONLINEARITIES)}, got {nonlinearity!r}")
    if not 1 <= T <= T_MAX:
        raise ValueError(f"T must be in 1..{T_MAX}, got {T}")
    f, df = NONLINEARITIES[nonlinearity]
    W = recurrent_weights(radius, H, seed)
    rng = np.random.default_rng(seed + 1)
    u = rng.normal(0, 1, (T_MAX, H))[:T]              # the input's push W_xh x_t, one row per step
    h, slopes = np.zeros(H), []
    for t in range(T):
        a = W @ h + u[t]
        h = f(a)
        slopes.append(df(a))                          # f'(a_t): how much each unit passes back
    g = rng.normal(0, 1, H)
    g /= np.linalg.norm(g)                            # dL/dh_T, a unit vector
    norms, J, jacobians = [1.0], np.eye(H), [np.eye(H)]
    for s in reversed(slopes):                        # one step back: through f', then W_hh
        g = W.T @ (s * g)
        J = J @ (s[:, None] * W)                      # dh_T/dh_(t-1) = dh_T/dh_t · diag(f') W_hh
        norms.append(np.linalg.norm(g))
        jacobians.append(J)
    k = np.arange(T + 1)
    return {"k": k, "grad_norm": np.array(norms), "jac_norm": np.linalg.norm(np.stack(jacobians), 2, axis=(1, 2)),
            "radius_k": float(radius) ** k, "eig": np.linalg.eigvals(W),
            "mean_slope": float(np.mean(slopes))}


def per_step_factor(total: float, T: int) -> float:
    """The geometric mean factor per step: the number that, multiplied T times, gives `total`."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return float(np.exp(np.log(total) / T)) if total > 0 else 0.0


class GradientFlowWidget(LiveFigure):
    """Sliders for the spectral radius of W_hh, the nonlinearity and T: gradient norm per step back."""

    def __init__(self, radius: float = 1.0, nonlinearity: str = "tanh", T: int = 50, H: int = 32):
        super().__init__()
        self.H = H
        self.fig = new_figure(9.5, 3.7, dpi=72)
        ax_e, ax = self.fig.subplots(1, 2, width_ratios=[1, 2.6])
        self.fig.subplots_adjust(left=0.07, right=0.98, top=0.88, bottom=0.15, wspace=0.25)
        circle = np.exp(1j * np.linspace(0, 2 * np.pi, 200))
        ax_e.plot(circle.real, circle.imag, color="#6b7280", lw=1, label="|λ| = 1")
        (self.ring,) = ax_e.plot(circle.real, circle.imag, "--", color="#ea580c", lw=1.2, label="|λ| = radius")
        self.eig = ax_e.scatter(np.zeros(H), np.zeros(H), s=12, color="#1e3a8a", zorder=3)
        ax_e.set(xlim=(-2.6, 2.6), ylim=(-2.6, 2.6), aspect="equal", title="eigenvalues λ of W_hh",
                 xlabel="real", ylabel="imaginary")
        ax_e.legend(loc="lower left", fontsize=8.5, frameon=False)
        self._circle = circle
        k = np.arange(T_MAX + 1)
        (self.ref,) = ax.plot(k, np.ones_like(k, dtype=float), ":", color="#6b7280", lw=1.5,
                              label="radius^k (eigenvalues alone)")
        (self.jac,) = ax.plot(k, np.ones_like(k, dtype=float), "--", color="#ea580c", lw=1.5,
                              label="‖dh_T/dh_(T−k)‖ (Jacobian product)")
        (self.grad,) = ax.plot(k, np.ones_like(k, dtype=float), "-", color="#1e3a8a", lw=2,
                               label="‖dL/dh_(T−k)‖ / ‖dL/dh_T‖")
        ax.axhline(1, color="k", lw=0.6)
        ax.set(yscale="log", ylim=(FLOOR, CEIL), xlim=(0, T),
               title="how much of the gradient reaches k steps back", yticks=10.0 ** np.arange(-16, 17, 4))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))   # k counts steps
        ax.text(0.5, -0.1, "k: steps back from the last step T", transform=ax.transAxes, ha="center", va="top")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        # two boxed lines in the chart's top right corner, a character at a time (CharLine): each new
        # T or radius is a new string, and pasting cached characters costs far less than a new text
        right, top = ax.get_position().x1 - 0.02 * ax.get_position().width, ax.get_position().y1
        box = dict(boxstyle="round", fc="white", ec="#d1d5db")
        ascent = 9 / 72 * 0.8 / self.fig.get_figheight()                 # a 9-point font's capitals, figure units
        self.f_and_T = CharLine(self.fig, right, top - 0.04 * ax.get_position().height - ascent, fontsize=9,
                                ha="right", box=box, cells=40)
        self.setting = CharLine(self.fig, right, top - 0.17 * ax.get_position().height - ascent, fontsize=9,
                                ha="right", box=box, cells=60)
        # the k axis runs 0..T: a cached layer, redrawn when T changes; the rest is redrawn each time
        self.ax, self._T = ax, None
        self.add_layer(ax.xaxis)
        self.animate(self.ring, self.eig, self.ref, self.jac, self.grad, self.f_and_T, self.setting)
        self.readout = widgets.HTML()
        self.controls = {
            "radius": widgets.FloatSlider(value=radius, min=0.5, max=2.5, step=0.05,
                                          description="radius of W_hh", style={"description_width": "initial"}),
            "nonlinearity": widgets.ToggleButtons(options=list(NONLINEARITIES), value=nonlinearity,
                                                  description="f", style={"button_width": "70px"}),
            "T": widgets.IntSlider(value=T, min=2, max=T_MAX, description="T (steps)"),
        }
        self.connect()
        self.update()
        self._warm()

    def _warm(self) -> None:
        """Rasterise the k axis's numbers and the corner lines' characters now: a first drag of T stays quick."""
        ticks = self.ax.xaxis.get_major_ticks(12)          # made now: a new tick costs a few ms
        self.warm_texts([ticks[0].label1], [str(k) for k in range(T_MAX + 1)])
        chars = sorted(set("0123456789.,=-′ " + "".join(NONLINEARITIES) + "radius average slope f T"))
        self.warm_texts([self.f_and_T.artists[1], self.setting.artists[1]], chars)

    def layout(self) -> widgets.Widget:
        """Controls, message, the numbers in words, then the picture."""
        box = super().layout()
        box.children = (*box.children[:2], self.readout, *box.children[2:])
        return box

    def refresh(self) -> None:
        """Recompute the flow back and move the curves and the eigenvalues."""
        c = self.controls
        if c["nonlinearity"].value not in NONLINEARITIES:
            raise InputError(f"choose f from {', '.join(NONLINEARITIES)}")
        T, radius = int(c["T"].value), float(c["radius"].value)
        r = compute(radius, c["nonlinearity"].value, T, self.H)
        if T != self._T:                               # the k axis follows T
            self._T = T
            self.ax.set_xlim(0, T)
            self.refresh_layer()
        self.f_and_T.set_text(f"f = {c['nonlinearity'].value},  T = {T}")
        clip = lambda v: np.clip(np.nan_to_num(v, nan=CEIL, posinf=CEIL), FLOOR, CEIL)  # noqa: E731
        self.grad.set_data(r["k"], clip(r["grad_norm"]))
        self.jac.set_data(r["k"], clip(r["jac_norm"]))
        self.ref.set_data(r["k"], clip(r["radius_k"]))
        self.eig.set_offsets(np.c_[r["eig"].real, r["eig"].imag])
        self.ring.set_data(radius * self._circle.real, radius * self._circle.imag)
        self.setting.set_text(f"radius = {radius:.2f},  average slope f′ = {r['mean_slope']:.2f}")
        end = r["grad_norm"][-1]
        where = "below the chart" if end < FLOOR else "above the chart" if end > CEIL else ""
        self.values = {"end": end, "per_step": per_step_factor(end, T), "mean_slope": r["mean_slope"]}
        self.readout.value = (
            f"after all T = {T} steps back, the gradient is <b>{end:.2g}</b> times its size at step T"
            f"{' (' + where + ')' if where else ''}: on average each step multiplied it by "
            f"<b>{self.values['per_step']:.3f}</b> (the geometric mean: {self.values['per_step']:.3f}"
            f"<sup>{T}</sup> = {end:.2g})"
            + (" (vanishing)" if end < 1e-3 else " (exploding)" if end > 1e3 else ""))


def demo() -> GradientFlowWidget:
    """The widget as notebook 03 shows it (for the benchmark)."""
    return GradientFlowWidget()
