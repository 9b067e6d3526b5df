"""Notebook 07's widget: build a scene, see its picture, its vector v and the caption word by word,
from the decoder that reads v at every step or the one that gets v only as h_0."""
from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import Rectangle

from . import captioning, scenes, unrolled
from .live import CharLine, InputError, LiveFigure, new_figure

NONE = "(none)"
ROWS = captioning.MAX_LEN            # decoder steps shown: every word and the final <eos>
UNITS = 16                           # units of h_t shown: those that move most over the caption
MODE_LABELS = {"input": "v at every step", "h0": "v only as h_0"}


def compute(model, p: dict, scene, width: int = 1, top: int = 3) -> dict:
    """Picture, v, the decoded caption and, per step, the input word, top words and h_t."""
    scenes.validate(scene)                                          # ValueError if impossible
    image = scenes.render(scene)                                    # (S, S, 3)
    v = captioning.encode_images(model, image.transpose(2, 0, 1)[None])[0].astype(float)   # (D,)
    tokens, score = captioning.caption_ids(p, v, model.mode, width)
    outputs = tokens + [scenes.INDEX[scenes.EOS]] if len(tokens) < captioning.MAX_LEN else tokens
    inputs = [scenes.INDEX[scenes.BOS]] + outputs[:-1]             # what the decoder read at each step
    h = captioning.initial_state(p, v, model.mode)
    h_first, log_probs, hidden = h, [], []
    for token in inputs:                                            # replay the chosen path
        lp, h = captioning.decoder_step(p, v, h, token, model.mode)
        log_probs.append(lp)
        hidden.append(h)
    probs = np.exp(np.array(log_probs))                             # (T, V): y_t at each step
    units = changing_units(np.array(hidden), UNITS)                 # the few units worth a look
    best = np.argsort(-probs, axis=1, kind="stable")[:, :top]       # (T, top)
    reference = scenes.caption(scene)
    return {"image": image, "v": v, "tokens": tokens, "words": scenes.decode(tokens), "score": score,
            "inputs": [scenes.WORDS[t] for t in inputs], "outputs": [scenes.WORDS[t] for t in outputs],
            "top_words": [[scenes.WORDS[i] for i in r] for r in best],
            "top_probs": np.take_along_axis(probs, best, 1), "hidden": np.array(hidden), "probs": probs,
            "units": units, "states": np.vstack([h_first, hidden]),
            "reference": reference, "correct": scenes.decode(tokens) == reference}


def changing_units(hidden: np.ndarray, k: int) -> np.ndarray:
    """The k units of h_t (T, H) whose value moves most over the caption, ordered by the step of their
    largest jump (h_0 = 0 before the first step), so the picture reads as a staircase."""
    jumps = np.abs(np.diff(np.vstack([np.zeros(hidden.shape[1]), hidden]), axis=0))   # (T, H)
    keep = np.argsort(-jumps.max(0), kind="stable")[:k]
    return keep[np.argsort(jumps[:, keep].argmax(0), kind="stable")]


def notes(scene) -> str:
    """Which objects of a scene training never showed (held-out placements, the novel pair)."""
    out = []
    for o in scene:
        if (o.colour, o.shape) == scenes.NOVEL:
            out.append(f"{o.colour} {o.shape}: a pair never seen in training")
        elif scenes.is_held_out(o):
            out.append(f"{o.colour} {o.shape} at {scenes.place(o)}: held-out placement")
    return "; ".join(out)


def info_html(r: dict, scene, width: int, t: int, mode: str = "input") -> str:
    """The decoder, the score, the grammar's verdict and step t's top words, as HTML lines."""
    how = ("greedy decoding" if width == 1 else f"beam search, width {width}") + f" ({MODE_LABELS[mode]})"
    verdict = ("<span style='color:#15803d'>equals the grammar's caption</span>" if r["correct"] else
               "<span style='color:#b91c1c'>the grammar says: " + html.escape(" ".join(r["reference"])) + "</span>")
    note = notes(scene)
    top = ", ".join(f"<b>{html.escape(w)}</b> {q:.2f}" for w, q in zip(r["top_words"][t], r["top_probs"][t]))
    return (f"<div style='font-size:13px;line-height:1.5'>{how}, log-probability {r['score']:.2f}: {verdict}"
            + (f"<br><i>{html.escape(note)}</i>" if note else "")
            + f"<br>step {t + 1} reads <b>{html.escape(r['inputs'][t])}</b>, top next words: {top}</div>")


WORD_COLUMNS = [w for w in scenes.WORDS if w not in (scenes.PAD, scenes.BOS)]   # what the decoder can say


class CaptionWidget(LiveFigure):
    """Up to three shapes (shape, colour, size, place), a decoder and a model: picture, v, caption step by step.

    `models` is one trained captioner or a dict {mode: captioner} ("input": v at every step,
    "h0": v only as h_0); with two, a toggle switches between them.
    """

    def __init__(self, models, scene=None, seed: int = 0):
        super().__init__()
        models = models if isinstance(models, dict) else {models.mode: models}
        self.models = {m: models[m] for m in ("input", "h0") if m in models}   # the main model first
        self.params = {m: captioning.numpy_params(model) for m, model in self.models.items()}
        self.rng = np.random.default_rng(seed)
        self._quiet, self._cache = False, {}
        self.columns = [scenes.INDEX[w] for w in WORD_COLUMNS]
        scene = scene or (scenes.Obj("circle", "red", "small", 1, 0), scenes.Obj("square", "blue", "large", 1, 2))
        first = next(iter(self.models.values()))
        K = first.K
        self.fig = new_figure(10.5, 7.4, dpi=72)
        gs = self.fig.add_gridspec(2, 3, width_ratios=[1.0, 1.1, 1.6], height_ratios=[1.1, 1],
                                   left=0.07, right=0.96, top=0.89, bottom=0.43, wspace=0.35, hspace=0.5)
        ax_img, ax_v = self.fig.add_subplot(gs[0, 0]), self.fig.add_subplot(gs[1, 0])
        ax_h, ax_p = self.fig.add_subplot(gs[:, 1]), self.fig.add_subplot(gs[:, 2])
        self.img = ax_img.imshow(np.zeros((scenes.SIZE, scenes.SIZE, 3)), interpolation="none")
        ax_img.set(xticks=[], yticks=[], title="the picture")
        ref = captioning.encode_images(first, scenes.make_split(32, "train", 1)["images"])
        vmax = float(np.percentile(np.abs(ref), 99)) or 1.0
        self.v_img = ax_v.imshow(np.zeros((len(captioning.STAGE), K)), cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                                 aspect="auto", interpolation="none")
        ax_v.set(yticks=range(5), xticks=[], title=f"v: {K} numbers per place")
        ax_v.set_yticklabels(list(scenes.POSITIONS), fontsize=8)
        ax_v.set_xlabel("colour | form" if first.streams else "number", fontsize=8)
        self.fig.colorbar(self.v_img, ax=ax_v, fraction=0.08, pad=0.04).ax.tick_params(labelsize=7)
        split = ax_v.axvline(first.Kc - 0.5, color="k", lw=1.5, visible=first.streams)
        T = np.arange(ROWS)
        self.h_img = ax_h.imshow(np.full((ROWS, UNITS), np.nan), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto",
                                 interpolation="none")
        ax_h.set(yticks=[], xticks=[], xlabel=f"the {UNITS} units that move most,\nin the order they move",
                 title="h_t, one row per step t")
        ax_h.xaxis.label.set_fontsize(8)
        ax_h.set_ylabel("step t (each row reads the word on its left)", fontsize=8)
        ax_h.yaxis.set_label_position("right")
        cb = self.fig.colorbar(self.h_img, ax=ax_h, orientation="horizontal", fraction=0.04, pad=0.1)
        cb.ax.tick_params(labelsize=7)
        self.in_text = [ax_h.text(-0.8, t, "", ha="right", va="center", fontsize=8) for t in T]
        ax_h.text(-0.8, -1.2, "reads", ha="right", va="center", fontsize=8, color="#6b7280")
        self.p_img = ax_p.imshow(np.full((ROWS, len(self.columns)), np.nan), cmap="Greens", vmin=0, vmax=1,
                                 aspect="auto", interpolation="none")
        ax_p.set(yticks=T, xticks=range(len(self.columns)), title="y_t: p(next word), one row per step")
        ax_p.set_yticklabels([str(t + 1) for t in T], fontsize=7)
        ax_p.set_ylabel("step t", fontsize=8)
        ax_p.yaxis.tick_right()
        ax_p.yaxis.set_label_position("right")
        ax_p.set_xticklabels(WORD_COLUMNS, rotation=90, fontsize=8)
        cb = self.fig.colorbar(self.p_img, ax=ax_p, orientation="horizontal", fraction=0.04, pad=0.25)
        cb.ax.tick_params(labelsize=7)
        (self.pick,) = ax_p.plot([], [], "o", ms=3, color="#f59e0b")
        # a Rectangle across the axes (x in axes units), not axhspan: its set_y works on every matplotlib
        self.marks = [ax.add_patch(Rectangle((0, -0.5), 1, 1, transform=ax.get_yaxis_transform(), fill=False,
                                             edgecolor="#f59e0b", lw=2)) for ax in (ax_h, ax_p)]
        # the caption: a new one every scene, drawn a character at a time (each character rasterised once)
        self.title = CharLine(self.fig, 0.01, 0.952, fontsize=12, ha="left", weight="bold")
        self.info = widgets.HTML(value="")          # decoder, score, step details: text outside the figure
        self.result = None
        self.add_layer(self.img, self.v_img, split, self.h_img, self.p_img, self.pick)   # redrawn per caption
        self.add_layer(*self.in_text, self.title)                            # change with the caption
        self.animate(*self.marks)                                                    # moves with the step
        self.base = (list(self._layer), list(self._dynamic))
        self.views = {m: self._graph(m) for m in self.models}                        # the unrolled graph, per model
        self.mode = None
        self._build_controls(scene)
        self.connect()
        self.controls["random"].on_click(self._random)
        self.update()
        self._warm()

    def _warm(self, scenes_per_model: int = 4) -> None:
        """Draw a few random scenes with each model once, then the first picture again.

        Their words are rasterised now (see LiveFigure's text sprites), so a learner's first
        changes are as quick as the later ones.
        """
        c, rng = self.controls, np.random.default_rng(2024)
        first, model, step = self.scene(), c["model"].value, c["step"].value
        for mode in self.models:
            self._quiet = True
            c["model"].value = mode
            self._quiet = False
            for split in list(scenes.SPLITS)[:scenes_per_model]:
                self.set_scene(scenes.random_scene(rng, split))
        self._quiet = True
        c["model"].value, c["step"].value = model, step
        self._quiet = False
        self.set_scene(first)

    def _graph(self, mode: str):
        """The unrolled graph of one model's decoder (helpers.unrolled) on its own axes, hidden for now."""
        ax = self.fig.add_axes((0.01, 0.0, 0.98, 0.36))
        view = unrolled.GraphView(ax, unrolled.vec2seq_spec(ROWS, every_step=mode == "input"), max_columns=ROWS + 2,
                                  fontsize=9)
        static = [a for a in ax.texts + ax.lines + ax.collections + ax.patches if a not in view.artists]
        for a in view.artists + static:
            a.set_animated(True)                     # drawn by this widget, never into the shared background
        view.layer = view.label_artists + static
        ax.set_visible(False)
        return view

    def _show_graph(self, mode: str) -> None:
        """Draw the graph of `mode`'s model from now on (the other one's artists leave the figure's lists)."""
        if mode != self.mode:
            self.mode = mode
            view = self.views[mode]
            self._layer = self.base[0] + view.layer
            self._dynamic = self.base[1] + view.step_artists
            self.refresh_layer()

    # -- controls -----------------------------------------------------------------------
    def _build_controls(self, scene) -> None:
        def dropdown(options, value, label, label_px, box_px):
            return widgets.Dropdown(options=options, value=value, description=label,
                                    style={"description_width": f"{label_px}px"},
                                    layout=widgets.Layout(width=f"{label_px + box_px}px"))

        c = {}
        for i in range(scenes.MAX_OBJECTS):
            o = scene[i] if i < len(scene) else None
            c[f"shape{i}"] = dropdown([NONE, *scenes.SHAPES], o.shape if o else NONE, f"shape {i + 1}", 55, 100)
            c[f"colour{i}"] = dropdown(list(scenes.COLOURS), o.colour if o else "green", "colour", 50, 90)
            c[f"size{i}"] = dropdown(list(scenes.SIZES), o.size if o else "small", "size", 35, 80)
            c[f"place{i}"] = dropdown(list(scenes.POSITIONS), scenes.place(o) if o else "centre", "place", 42, 90)
        c["random"] = widgets.Button(description="random scene", layout=widgets.Layout(width="120px"))
        c["split"] = dropdown(list(scenes.SPLITS), "held_out", "from the set", 85, 100)
        c["step"] = widgets.IntSlider(value=1, min=1, max=ROWS, description="step t",
                                      style={"description_width": "50px"}, layout=widgets.Layout(width="300px"))
        c["model"] = widgets.ToggleButtons(options=[(MODE_LABELS[m], m) for m in self.models],
                                           value=next(iter(self.models)), description="decoder gets",
                                           style={"description_width": "85px", "button_width": "120px"})
        self.controls = c

    def layout(self) -> widgets.Widget:
        """A row per shape, a random-scene row, the step slider, the model, the message, the picture."""
        c = self.controls
        rows = [widgets.HBox([c[f"{k}{i}"] for k in ("shape", "colour", "size", "place")])
                for i in range(scenes.MAX_OBJECTS)]
        rows.append(widgets.HBox([c["random"], c["split"]]))
        rows.append(c["step"])
        rows.append(c["model"])
        return widgets.VBox([*rows, self.message, self.info, self.image])

    def _on_change(self, _change=None) -> None:
        if not self._quiet:                     # a random scene sets many controls: update once
            self.update()

    def set_scene(self, scene) -> None:
        """Put a scene into the controls (unused slots to none) and update once."""
        self._quiet = True
        try:
            for i in range(scenes.MAX_OBJECTS):
                c = {k: self.controls[f"{k}{i}"] for k in ("shape", "colour", "size", "place")}
                if i < len(scene):
                    o = scene[i]
                    c["colour"].value, c["size"].value, c["place"].value = o.colour, o.size, scenes.place(o)
                    c["shape"].value = o.shape
                else:
                    c["shape"].value = NONE
        finally:
            self._quiet = False
        self.update()

    def _random(self, _button=None) -> None:
        self.set_scene(scenes.random_scene(self.rng, self.controls["split"].value))

    def scene(self) -> tuple:
        """The scene the controls describe (objects whose shape is not none)."""
        objs = []
        for i in range(scenes.MAX_OBJECTS):
            shape = self.controls[f"shape{i}"].value
            if shape != NONE:
                row, col = scenes.POSITIONS[self.controls[f"place{i}"].value]
                objs.append(scenes.Obj(shape, self.controls[f"colour{i}"].value,
                                       self.controls[f"size{i}"].value, row, col))
        return tuple(objs)

    # -- update -------------------------------------------------------------------------
    def result_for(self, mode: str, scene, width: int) -> dict:
        """compute() for one model, scene and beam width, cached (the step slider only moves a mark)."""
        key = (mode, scene, width)
        if key not in self._cache:
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = compute(self.models[mode], self.params[mode], scene, width)
        return self._cache[key]

    def refresh(self) -> None:
        """Read the controls, caption the scene, update every panel (or explain why not)."""
        c = self.controls
        scene = self.scene()
        width = 1                                   # greedy: the decoding notebook 07 teaches
        try:
            r = self.result_for(c["model"].value, scene, width)
        except ValueError as err:
            self._blank(scene)
            raise InputError(f"{err}.") from None
        n = len(r["outputs"])
        if c["step"].max != n:      # the slider spans this caption's steps (set inside update: no second redraw)
            c["step"].max = n
        self._show_graph(c["model"].value)
        if r is not self.result:
            self.draw_result(r)
        t = min(c["step"].value, n) - 1
        view = self.views[self.mode]
        view.set_values({"v": r["v"], **{f"h{i}": r["states"][i] for i in range(t + 2)}}, clear=True)
        view.set_step(t + 1)
        for m in self.marks:
            m.set_y(t - 0.5)
            m.set_visible(True)
        self.info.value = info_html(r, scene, width, t, c["model"].value)
        self.result = r

    def draw_result(self, r: dict) -> None:
        """Put a new caption's picture, v, h_t, y_t and words into the figure's layer."""
        n = len(r["outputs"])
        self.img.set_data(r["image"])
        self.v_img.set_data(r["v"].reshape(len(captioning.STAGE), -1))
        hidden = np.full((ROWS, UNITS), np.nan)
        hidden[:n, :len(r["units"])] = r["hidden"][:, r["units"]]
        self.h_img.set_data(hidden)
        probs = np.full((ROWS, len(self.columns)), np.nan)
        probs[:n] = r["probs"][:, self.columns]
        self.p_img.set_data(probs)
        picks = [(WORD_COLUMNS.index(w), t) for t, w in enumerate(r["outputs"]) if w in WORD_COLUMNS]
        self.pick.set_data([x for x, _ in picks], [t for _, t in picks])
        for t in range(ROWS):
            self.in_text[t].set_text(r["inputs"][t] if t < n else "")
        self.title.set_text(" ".join(r["words"]) + ("   ✓" if r["correct"] else "   ✗"))
        view = self.views[self.mode]
        view.set_length(n)
        view.set_labels({**{f"x{i}": w for i, w in enumerate(r["inputs"], 1)},
                         **{f"y{i}": w for i, w in enumerate(r["outputs"], 1)}})
        self.refresh_layer()

    def _blank(self, scene) -> None:
        """Clear the panels for a scene that cannot be captioned (the picture is still drawn)."""
        self.img.set_data(scenes.render(scene))
        for im in (self.h_img, self.p_img):
            im.set_data(np.full(im.get_array().shape, np.nan))
        self.v_img.set_data(np.zeros(self.v_img.get_array().shape))
        self.pick.set_data([], [])
        for t in range(ROWS):
            self.in_text[t].set_text("")
        for m in self.marks:
            m.set_visible(False)
        self.title.set_text("(no caption: see the message above the picture)")
        self.info.value = ""
        self.result = None
        self.refresh_layer()


def demo() -> CaptionWidget:
    """The widget on two untrained models (for the benchmark: the cost does not depend on training)."""
    return CaptionWidget({mode: captioning.make_model(mode=mode) for mode in captioning.MODES})
