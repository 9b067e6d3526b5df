"""Notebook 08's static figures: accuracy against length, C in 2-D, an attention map, loss curves (PNG bytes)."""
from __future__ import annotations

import numpy as np

from .live import figure_png, new_figure

COLOURS = {"C at s_0 only": "#9ca3af", "C at every step": "#2563eb", "attention": "#16a34a"}


def accuracy_by_length(results: dict) -> bytes:
    """Grouped bars: exact match per source length (words) for each model; counts under the axis.

    results: {model name: {length: (accuracy, count)}}.
    """
    fig = new_figure(6.4, 2.8)
    ax = fig.add_subplot()
    names = list(results)
    lengths = sorted({L for r in results.values() for L in r})
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        acc = [100 * results[name].get(L, (np.nan, 0))[0] for L in lengths]
        ax.bar(np.arange(len(lengths)) + (k - (len(names) - 1) / 2) * width, acc, width,
               label=name, color=COLOURS.get(name))
    counts = [max(r.get(L, (0, 0))[1] for r in results.values()) for L in lengths]
    ax.set_xticks(range(len(lengths)), [f"{L} words\n(n={n})" for L, n in zip(lengths, counts)], fontsize=8)
    ax.set(ylabel="exact match, %", ylim=(0, 100.5), xlabel="English words in the source",
           title="held-out exact match by source length")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return figure_png(fig, dpi=90)


def contexts_2d(xy: np.ndarray, colour_by: dict, share) -> bytes:
    """Scatter of C projected to 2-D, one panel per colouring {title: integer values (N,)}."""
    fig = new_figure(4.2 * len(colour_by), 3.6)
    axes = fig.subplots(1, len(colour_by), squeeze=False)[0]
    for ax, (title, values) in zip(axes, colour_by.items()):
        values = np.asarray(values)
        sc = ax.scatter(xy[:, 0], xy[:, 1], c=values, cmap="tab10", vmin=-0.5, vmax=9.5, s=6, alpha=0.8)
        ax.set(title=title, xticks=[], yticks=[], xlabel=f"PC1 ({100 * share[0]:.0f}% of variance)",
               ylabel=f"PC2 ({100 * share[1]:.0f}%)")
        fig.colorbar(sc, ax=ax, ticks=range(10), shrink=0.85)
    fig.tight_layout()
    return figure_png(fig, dpi=90)


def attention_map(alpha: np.ndarray, src_words, out_chars, title: str = "") -> bytes:
    """Heatmap of attention weights (T, S): one row per English word, one column per German character."""
    T, S = alpha.shape
    fig = new_figure(max(5.0, 0.22 * T + 1.6), 0.32 * S + 1.1)
    ax = fig.add_subplot()
    im = ax.imshow(alpha.T, cmap="Greens", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(S), src_words)
    ax.set_xticks(range(T), ["⏎" if c == "<eos>" else c for c in out_chars], fontsize=9, family="DejaVu Sans Mono")
    ax.tick_params(length=0)
    ax.set(xlabel="German character written at step t", ylabel="English word j")
    fig.colorbar(im, ax=ax, label="α_tj", fraction=0.04, pad=0.02)
    ax.set_title(title or "attention: which English word each German character reads", fontsize=10)
    fig.tight_layout()
    return figure_png(fig, dpi=90)


def held_out_curves(histories: dict) -> bytes:
    """Held-out loss against training step for each model {name: fit_torch history}."""
    fig = new_figure(5.0, 2.6)
    ax = fig.add_subplot()
    for name, h in histories.items():
        steps, vals = zip(*h["val"])
        ax.plot(steps, vals, "o-", ms=3, label=name, color=COLOURS.get(name))
    ax.set(yscale="log", xlabel="training step", ylabel="held-out loss (nats/char)",
           title="held-out loss while training")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return figure_png(fig, dpi=90)
