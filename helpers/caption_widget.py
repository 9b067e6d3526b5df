"""Notebook 07's widget: build a scene, see its picture, its vector v and the caption word by word."""
from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import Rectangle

from . import captioning, scenes
from .live import InputError, LiveFigure, new_figure

NONE = "(none)"
ROWS = captioning.MAX_LEN            # decoder steps shown: every word and the final <eos>


def compute(model, p: dict, scene, width: int = 1, top: int = 3) -> dict:
    """Picture, v, the decoded caption and, per step, the input word, top words and h_t."""
    scenes.validate(scene)                                          # ValueError if impossible
    image = scenes.render(scene)                                    # (S, S, 3)
    v = captioning.encode_images(model, image.transpose(2, 0, 1)[None])[0].astype(float)   # (D,)
    tokens, score = captioning.caption_ids(p, v, model.mode, width)
    outputs = tokens + [scenes.INDEX[scenes.EOS]] if len(tokens) < captioning.MAX_LEN else tokens
    inputs = [scenes.INDEX[scenes.BOS]] + outputs[:-1]             # what the decoder read at each step
    h = captioning.initial_state(p, v, model.mode)
    log_probs, hidden = [], []
    for token in inputs:                                            # replay the chosen path
        lp, h = captioning.decoder_step(p, v, h, token, model.mode)
        log_probs.append(lp)
        hidden.append(h)
    probs = np.exp(np.array(log_probs))                             # (T, V): y_t at each step
    best = np.argsort(-probs, axis=1, kind="stable")[:, :top]       # (T, top)
    reference = scenes.caption(scene)
    return {"image": image, "v": v, "tokens": tokens, "words": scenes.decode(tokens), "score": score,
            "inputs": [scenes.WORDS[t] for t in inputs], "outputs": [scenes.WORDS[t] for t in outputs],
            "top_words": [[scenes.WORDS[i] for i in r] for r in best],
            "top_probs": np.take_along_axis(probs, best, 1), "hidden": np.array(hidden), "probs": probs,
            "reference": reference, "correct": scenes.decode(tokens) == reference}


def notes(scene) -> str:
    """Which objects of a scene training never showed (held-out placements, the novel pair)."""
    out = []
    for o in scene:
        if (o.colour, o.shape) == scenes.NOVEL:
            out.append(f"{o.colour} {o.shape}: a pair never seen in training")
        elif scenes.is_held_out(o):
            out.append(f"{o.colour} {o.shape} at {scenes.place(o)}: held-out placement")
    return "; ".join(out)


def info_html(r: dict, scene, width: int, t: int) -> str:
    """The decoder, the score, the grammar's verdict and step t's top words, as HTML lines."""
    how = "greedy decoding" if width == 1 else f"beam search, width {width}"
    verdict = ("<span style='color:#15803d'>equals the grammar's caption</span>" if r["correct"] else
               "<span style='color:#b91c1c'>the grammar says: " + html.escape(" ".join(r["reference"])) + "</span>")
    note = notes(scene)
    top = ", ".join(f"<b>{html.escape(w)}</b> {q:.2f}" for w, q in zip(r["top_words"][t], r["top_probs"][t]))
    return (f"<div style='font-size:13px;line-height:1.5'>{how}, log-probability {r['score']:.2f}: {verdict}"
            + (f"<br><i>{html.escape(note)}</i>" if note else "")
            + f"<br>step {t + 1} reads <b>{html.escape(r['inputs'][t])}</b>, top next words: {top}</div>")


WORD_COLUMNS = [w for w in scenes.WORDS if w not in (scenes.PAD, scenes.BOS)]   # what the decoder can say


class CaptionWidget(LiveFigure):
    """Up to three shapes (shape, colour, size, place), a decoder choice: picture, v, caption step by step."""

    def __init__(self, model, scene=None, seed: int = 0):
        super().__init__()
        self.model, self.p = model, captioning.numpy_params(model)
        self.rng = np.random.default_rng(seed)
        self._quiet = False
        self.columns = [scenes.INDEX[w] for w in WORD_COLUMNS]
        scene = scene or (scenes.Obj("circle", "red", "small", 1, 0), scenes.Obj("square", "blue", "large", 1, 2))
        K, H = model.K, model.H
        self.fig = new_figure(10.5, 5.0, dpi=80)
        gs = self.fig.add_gridspec(2, 3, width_ratios=[1.0, 1.7, 1.5], height_ratios=[1.1, 1],
                                   left=0.06, right=0.97, top=0.84, bottom=0.15, wspace=0.3, hspace=0.45)
        ax_img, ax_v = self.fig.add_subplot(gs[0, 0]), self.fig.add_subplot(gs[1, 0])
        ax_h, ax_p = self.fig.add_subplot(gs[:, 1]), self.fig.add_subplot(gs[:, 2])
        self.img = ax_img.imshow(np.zeros((scenes.SIZE, scenes.SIZE, 3)), interpolation="none")
        ax_img.set(xticks=[], yticks=[], title="the picture")
        ref = captioning.encode_images(model, scenes.make_split(32, "train", 1)["images"])
        vmax = float(np.percentile(np.abs(ref), 99)) or 1.0
        self.v_img = ax_v.imshow(np.zeros((len(captioning.STAGE), K)), cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                                 aspect="auto", interpolation="none")
        ax_v.set(yticks=range(5), yticklabels=list(scenes.POSITIONS), xticks=[], title=f"v (CNN): {K} per place")
        if model.streams:
            ax_v.axvline(model.Kc - 0.5, color="k", lw=1)
            ax_v.set_xlabel("colour | form", fontsize=8)
        ax_v.tick_params(labelsize=8)
        T = np.arange(ROWS)
        self.h_img = ax_h.imshow(np.full((ROWS, H), np.nan), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto",
                                 interpolation="none")
        ax_h.set(yticks=[], xticks=[0, H - 1], xlabel="hidden unit", title="h_t, one row per step t")
        self.in_text = [ax_h.text(-2, t, "", ha="right", va="center", fontsize=8) for t in T]
        ax_h.text(-2, -1.2, "reads", ha="right", va="center", fontsize=8, color="#6b7280")
        self.p_img = ax_p.imshow(np.full((ROWS, len(self.columns)), np.nan), cmap="Greens", vmin=0, vmax=1,
                                 aspect="auto", interpolation="none")
        ax_p.set(yticks=T, xticks=range(len(self.columns)), title="y_t: p(next word), one row per step")
        ax_p.set_yticklabels([str(t + 1) for t in T], fontsize=7)
        ax_p.yaxis.tick_right()
        ax_p.set_xticklabels(WORD_COLUMNS, rotation=90, fontsize=8)
        (self.pick,) = ax_p.plot([], [], "o", ms=3, color="#f59e0b")
        # a Rectangle across the axes (x in axes units), not axhspan: its set_y works on every matplotlib
        self.marks = [ax.add_patch(Rectangle((0, -0.5), 1, 1, transform=ax.get_yaxis_transform(), fill=False,
                                             edgecolor="#f59e0b", lw=2)) for ax in (ax_h, ax_p)]
        self.title = self.fig.text(0.01, 0.94, "", fontsize=12, weight="bold", va="center")
        self.info = widgets.HTML(value="")          # decoder, score, step details: text outside the figure
        self.animate(self.img, self.v_img, self.h_img, self.p_img, self.pick, *self.marks, *self.in_text,
                     self.title)
        self._build_controls(scene)
        self.connect()
        self.controls["random"].on_click(self._random)
        self.update()

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
        c["decoder"] = dropdown(["greedy", "beam"], "greedy", "decoder", 60, 90)
        c["width"] = widgets.IntSlider(value=3, min=1, max=8, description="beam width",
                                       style={"description_width": "90px"}, layout=widgets.Layout(width="300px"))
        self.controls = c

    def layout(self) -> widgets.Widget:
        """A row per shape, a random-scene row, the step and decoder row, the message, the picture."""
        c = self.controls
        rows = [widgets.HBox([c[f"{k}{i}"] for k in ("shape", "colour", "size", "place")])
                for i in range(scenes.MAX_OBJECTS)]
        rows.append(widgets.HBox([c["random"], c["split"]]))
        rows.append(widgets.HBox([c["step"], c["decoder"], c["width"]]))
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
    def refresh(self) -> None:
        """Read the controls, caption the scene, update every panel (or explain why not)."""
        c = self.controls
        scene = self.scene()
        width = c["width"].value if c["decoder"].value == "beam" else 1
        try:
            r = compute(self.model, self.p, scene, width)
        except ValueError as err:
            self._blank(scene)
            raise InputError(f"{err}.") from None
        n = len(r["outputs"])
        self.img.set_data(r["image"])
        self.v_img.set_data(r["v"].reshape(len(captioning.STAGE), -1))
        hidden = np.full((ROWS, self.model.H), np.nan)
        hidden[:n] = r["hidden"]
        self.h_img.set_data(hidden)
        probs = np.full((ROWS, len(self.columns)), np.nan)
        probs[:n] = r["probs"][:, self.columns]
        self.p_img.set_data(probs)
        picks = [(WORD_COLUMNS.index(w), t) for t, w in enumerate(r["outputs"]) if w in WORD_COLUMNS]
        self.pick.set_data([x for x, _ in picks], [t for _, t in picks])
        for t in range(ROWS):
            self.in_text[t].set_text(r["inputs"][t] if t < n else "")
        self.title.set_text(" ".join(r["words"]) + ("   ✓" if r["correct"] else "   ✗"))
        t = min(c["step"].value, n) - 1
        for m in self.marks:
            m.set_y(t - 0.5)
            m.set_visible(True)
        self.info.value = info_html(r, scene, width, t)
        self.result = r

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


def demo() -> CaptionWidget:
    """The widget on an untrained model (for the benchmark: the cost does not depend on training)."""
    return CaptionWidget(captioning.make_model())
