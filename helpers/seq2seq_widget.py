"""Notebook 08's widget: type English number words, watch the encoder, C and the decoder, live.

Top: the unrolled graph (helpers.unrolled): the encoder over the words, C, and the decoder
step by step, the path into step t lit; C's edges into every step only for the decoder that
has them, and with attention the edges from the encoder states into step t, as wide as α.
Left: the encoder states h_1..h_S (one row per English word) and the context C = h_S.
Right: the attention (one row per English word, one column per output step; attention
decoder only) above the decoder's output, character by character, coloured by its
probability, with the runners-up at the steps where the decoder was unsure. Three trained
decoders to switch between: C only as the first state s_0, C also at every step, and C at
every step with attention. Free running feeds the decoder its own best character; teacher
forcing feeds it the true German.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from . import seq2seq, translation, unrolled
from .live import CharLine, InputError, LiveFigure, new_figure

MAX_WORDS = 8           # longest source shown (the data has at most 7 words)
END = "⏎"                # how the end mark <eos> is shown
MAX_STEPS = seq2seq.MAX_LEN
TOP = 3
SURE = 0.95             # runners-up are written out only at steps where the best is less sure than this
RUNNERS = 10            # at most this many such steps are written out
DECODERS = {"C at s_0 only": {"c_every_step": False}, "C at every step": {"c_every_step": True},
            "attention": {"attention": True}}     # the three decoders of notebook 08: make_model's arguments


def compute(params: dict, src_ids, forced=None) -> dict:
    """Encoder states (S, H), C (H,), output ids, top candidates (T, 3), their probabilities, attention (T, S)."""
    return seq2seq.run_decoder_np(params, src_ids, forced=forced, max_len=MAX_STEPS, top=TOP)


class Seq2SeqWidget(LiveFigure):
    """English words in; encoder states, C, attention and the German output character by character."""

    def __init__(self, params: dict, data: dict, text: str = "thirty-one", decoder: str | None = None):
        super().__init__()
        self.params = dict(params)                       # {decoder name: numpy weights}
        plain = next(iter(self.params.values()))
        self.src_vocab, self.tgt_vocab = data["src_vocab"], data["tgt_vocab"]
        self.lookup = translation.phrase_index([data["train"], data["held_out"]])
        self.held_out = set(int(n) for n in data["held_out"].numbers)
        H = plain["enc_W_hh"].shape[1]
        self._build_figure(H)
        self.controls = {
            "text": widgets.Text(value=text, description="English", continuous_update=True,
                                 placeholder="e.g. two hundred and five", layout=widgets.Layout(width="420px")),
            "number": widgets.BoundedIntText(value=self.lookup.get(tuple(translation.tokenize(text)), 31),
                                             min=0, max=translation.MAX_NUMBER, description="or pick",
                                             layout=widgets.Layout(width="170px")),
            "decoder": widgets.ToggleButtons(options=list(self.params), value=decoder or list(self.params)[-1],
                                             description="decoder"),
            "feed": widgets.ToggleButtons(options=["free running", "teacher forcing"], value="free running",
                                          description="feed"),
            "t": widgets.IntSlider(value=1, min=1, max=MAX_STEPS, description="step t"),
        }
        self.controls["number"].observe(self._on_number, names="value")
        self.connect()
        self.update()

    # -- figure ---------------------------------------------------------------------------
    def _build_figure(self, H: int) -> None:
        from matplotlib.colors import ListedColormap

        fig = self.fig = new_figure(10.5, 7.6)
        fig.set_dpi(72)
        spec = unrolled.seq2seq_spec(MAX_WORDS, MAX_STEPS, c_every_step=True, attention=True)
        self.view = unrolled.GraphView(fig.add_axes((0.01, 0.6, 0.98, 0.3)), spec, max_columns=22)
        self.c_label = [t for t in self.view.ax.texts if "Cs" in t.get_text()]    # W_Cs: shown with its edges
        self._attention_edges = self.view.is_attention.copy()
        gs = fig.add_gridspec(2, 5, width_ratios=[1, 0.035, 0.22, 2.3, 0.035], height_ratios=[MAX_WORDS, TOP + 0.4],
                              left=0.085, right=0.955, top=0.52, bottom=0.05, wspace=0.05, hspace=0.42)
        ax_h, ax_a = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 3])
        ax_c, ax_o = fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[1, 3])
        self.h_img = _grid(ax_h, MAX_WORDS, H, cmap="RdBu_r", vmin=-1, vmax=1)
        ax_h.set(xticks=[], yticks=[])
        ax_h.set_xlabel(f"unit (1 … {H})", fontsize=8, labelpad=1)
        ax_h.set_title(f"encoder states h_1 … h_S, one row per word", fontsize=10)
        self.words = [ax_h.text(-1.5, j, "", ha="right", va="center", fontsize=9) for j in range(MAX_WORDS)]
        self.c_img = _grid(ax_c, 1, H, cmap="RdBu_r", vmin=-1, vmax=1)
        ax_c.set(xticks=[], yticks=[0], yticklabels=["C = h_S"])
        ax_c.set_xlabel(f"unit (1 … {H})", fontsize=8, labelpad=1)
        ax_c.set_title("context C: the decoder's s_0", fontsize=10)
        _colourbar(fig, self.h_img, fig.add_subplot(gs[:, 1]), "state value")
        self.a_img = _grid(ax_a, MAX_WORDS, MAX_STEPS, cmap="Greens", vmin=0, vmax=1)
        ax_a.set(xticks=[], yticks=[])
        ax_a.set_ylabel("English word j", fontsize=8, labelpad=2)
        ax_a.set_xlabel("output step t", fontsize=8, labelpad=1)
        ax_a.set_title("attention α_tj: the English word each output character reads", fontsize=10)
        _colourbar(fig, self.a_img, fig.add_subplot(gs[0, 4]), "α_tj")
        self.a_note = ax_a.text(MAX_STEPS / 2, (MAX_WORDS - 1) / 2, "", ha="center", va="center",
                                fontsize=10, color="#6b7280")
        light_blues = ListedColormap(plt_cmap("Blues")(np.linspace(0, 1 / 1.7, 256)))   # text stays readable
        self.o_img = _grid(ax_o, TOP, MAX_STEPS, cmap=light_blues, vmin=0, vmax=1)
        _colourbar(fig, self.o_img, fig.add_subplot(gs[1, 4]), "p")
        ax_o.set(yticks=[], xticks=[])
        ax_o.set_xlabel("output step t (the orange box: step t of the slider)", fontsize=8, labelpad=1)
        ax_o.set_title(f"decoder output, step by step: best, 2nd, 3rd candidate (the last two where p(best) < {SURE})",
                       fontsize=10)
        probe = ax_o.text(-0.5, 0, "", ha="left", va="center", family="DejaVu Sans Mono")
        _fit_width([probe], ax_o, MAX_STEPS)                 # the size at which a character fills its cell
        size = probe.get_fontsize()
        probe.remove()
        # the best character of each step, one text per cell (a character drawn once is pasted after)
        self.o_best = [ax_o.text(i, 0, "", ha="center", va="center", family="DejaVu Sans Mono", fontsize=size)
                       for i in range(MAX_STEPS)]
        # runners-up: a few single characters, placed only at the steps where the best was unsure
        self.o_runners = [[ax_o.text(0, k, "", ha="center", va="center", family="DejaVu Sans Mono",
                                     fontsize=size, visible=False) for _ in range(RUNNERS)]
                          for k in range(1, TOP)]
        cell_pt = ax_o.get_position().width * fig.get_figwidth() * 72 / MAX_STEPS
        (self.wrong,) = ax_o.plot([], [], "s", ms=0.8 * cell_pt, mfc="none", mec="#dc2626", mew=1.5)
        from matplotlib.patches import Rectangle

        self.cursor_o = ax_o.add_patch(Rectangle((-0.5, -0.5), 1, TOP, fill=False, ec="#f59e0b", lw=2))
        self.cursor_a = ax_a.add_patch(Rectangle((-0.5, -0.5), 1, MAX_WORDS, fill=False, ec="#f59e0b", lw=2))
        # the verdict and step t's candidates change with every input: drawn a character at a time
        self.title = CharLine(fig, 0.5, 0.972, fontsize=11)
        self.subtitle = CharLine(fig, 0.5, 0.935, fontsize=9, color="#374151")
        # redrawn only when the input (words, decoder, feed) changes or the graph pans: everything
        # but what moves with step t
        self.add_layer(self.h_img, self.c_img, *self.view.static_artists, *self.view.label_artists,
                       self.title, *self.words, self.a_img, self.a_note, self.o_img, *self.o_best,
                       *[t for row in self.o_runners for t in row], self.wrong)
        self.animate(*self.view.step_artists)
        self.animate(self.subtitle, self.cursor_o, self.cursor_a)
        self._encoded = self._labelled = self._every = self._computed_for = None
        self._warm()

    def _warm(self) -> None:
        """Rasterise the characters, words and notes the widget shows, so a learner's first changes are quick."""
        import matplotlib

        english = [w for w in self.src_vocab.words if w.isalpha()]
        german = sorted({END if w == translation.EOS else w for w in self.tgt_vocab.words
                         if len(w) == 1 or w == translation.EOS})                 # what the decoder can write
        chars = sorted(set("0123456789abcdefghijklmnopqrstuvwxyz ,.:'()=-…" + "".join(german)))
        with matplotlib.rc_context({"text.hinting": "no_hinting"}):       # as render draws them
            self.warm_texts(self.title.artists[:1] + self.subtitle.artists[:1], chars)
            self.warm_texts(self.words[:1], english)
            self.warm_texts([self.a_note], [self._no_attention(True), self._no_attention(False)])
            self.warm_texts(self.o_best[:1] + [row[0] for row in self.o_runners], german)
            token = self.view.texts[f"x{MAX_WORDS}"]
            for word in english:                          # the graph shrinks a long word to fit its column
                self.view.set_labels({f"x{MAX_WORDS}": word})
                self.warm_texts([token], [word])
            self.view.set_labels({f"x{MAX_WORDS}": ""})
            self.warm_texts([self.view.texts["d1"], self.view.texts["y1"]], german + ["<bos>"])

    def render(self) -> bytes:
        """As LiveFigure.render, with unhinted text, as the characters' size was fitted to their cells."""
        import matplotlib

        with matplotlib.rc_context({"text.hinting": "no_hinting"}):
            return super().render()

    # -- wiring ---------------------------------------------------------------------------
    def _on_number(self, change) -> None:
        """Picking a number writes its English words into the text box (which updates)."""
        self.controls["text"].value = translation.english(change["new"])

    def _on_change(self, change=None) -> None:
        if change is not None and change.get("owner") is self.controls.get("number"):
            return              # the text box's own change does the update
        self.update()

    def refresh(self) -> None:
        """Read the controls, run the numpy encoder and decoder, update every panel."""
        c = self.controls
        self._notes = []
        try:
            src = translation.parse_english(c["text"].value, self.src_vocab, MAX_WORDS)
        except ValueError as err:
            raise InputError(str(err)) from None
        words = self.src_vocab.decode(src)
        number = self.lookup.get(tuple(words))
        reference = translation.german(number) if number is not None else None
        forced = None
        if c["feed"].value == "teacher forcing":
            if reference is None:
                self.note("no reference German for this phrase (not a number 0-9999): showing free running")
            else:
                forced = translation.encode_target(reference, self.tgt_vocab)
        elif number is None:
            self.note("these are valid words but not how English writes a number 0-9999: "
                     "the model translates them anyway")
        key = (tuple(src), c["decoder"].value, None if forced is None else tuple(forced))
        if key != self._computed_for:                     # moving t alone reuses the run and the layer
            self._run, self._computed_for = compute(self.params[c["decoder"].value], src, forced), key
            self.refresh_layer()
        r = self._run
        self._draw(r, words, number, reference, forced is not None)
        self.say(" ".join(self._notes))

    def note(self, text: str) -> None:
        """A message shown under the controls after this update (the picture is still drawn)."""
        self._notes.append(text)

    def _draw(self, r: dict, words, number, reference, forcing: bool) -> None:
        S, T = len(words), len(r["ids"])
        key = (tuple(words), self.controls["decoder"].value)
        if key != self._encoded:                          # a new source or another encoder
            states = np.full((MAX_WORDS, r["C"].shape[0]), np.nan)
            states[:S] = r["states"]
            self.h_img.set_array(states.ravel())
            self.c_img.set_array(r["C"])
            self.refresh_layer()
            self._encoded = key
        for j, label in enumerate(self.words):
            label.set_text(words[j] if j < S else "")
        chars = np.array([END if self.tgt_vocab.words[i] == translation.EOS else self.tgt_vocab.words[i]
                          for i in r["candidates"].ravel()]).reshape(r["candidates"].shape)     # (T, TOP)
        probs = np.full((TOP, MAX_STEPS), np.nan)
        probs[:, :T] = r["probs"].T
        self.o_img.set_array(probs.ravel())
        for i, cell in enumerate(self.o_best):
            cell.set_text(chars[i, 0] if i < T else "")
        unsure = np.flatnonzero(r["probs"][:, 0] < SURE)[:RUNNERS]    # runners-up shown only where unsure
        for k, row in enumerate(self.o_runners, start=1):
            for i, cell in enumerate(row):
                cell.set_visible(i < len(unsure))
                if i < len(unsure):
                    cell.set_text(chars[unsure[i], k])
                    cell.set_x(unsure[i])
        truth = None if reference is None else list(reference) + [END]
        wrong = [t for t in range(T) if truth is not None and (t >= len(truth) or chars[t, 0] != truth[t])]
        self.wrong.set_data(wrong, [0] * len(wrong))
        att = np.full((MAX_WORDS, MAX_STEPS), np.nan)
        if r["attention"] is not None:
            att[:S, :T] = r["attention"].T
        every = self.params[self.controls["decoder"].value]["dec_W_ih"].shape[1] > self.params[
            self.controls["decoder"].value]["dec_emb"].shape[1]
        self.a_note.set_text("" if r["attention"] is not None else self._no_attention(every))
        self.a_img.set_array(att.ravel())
        t = self._step(T)
        self._draw_graph(r, words, chars, t)
        self.cursor_o.set_x(t - 0.5)
        self.cursor_a.set_x(t - 0.5)
        self.cursor_a.set_visible(r["attention"] is not None)
        if reference is None:
            verdict = "not a number 0-9999: no reference to compare with"
        else:
            where = "held-out" if number in self.held_out else "training"
            verdict = f"{number}, a {where} number: " + (
                "right" if not wrong else f"{len(wrong)} wrong (red), the German is '{reference}'")
        self.title.set_text(verdict)
        top = ",  ".join(f"{chars[t, k]} {r['probs'][t, k]:.2f}" for k in range(TOP))
        self.subtitle.set_text(f"step t = {t + 1}: {top}")

    @staticmethod
    def _no_attention(every: bool) -> str:
        return ("no attention: this decoder sees the English only through C,\n"
                + ("as s_0 and as an input at every step" if every else "as its first state s_0 only"))

    def _draw_graph(self, r: dict, words, chars, t: int) -> None:
        """The unrolled graph, repainted once for all of _update_graph's changes."""
        with self.view.batch():
            self._update_graph(r, words, chars, t)

    def _update_graph(self, r: dict, words, chars, t: int) -> None:
        """The unrolled graph: words right-aligned next to C, the decoder's steps, C's and α's edges, step t lit."""
        S, T, view = len(words), len(r["ids"]), self.view
        enc = [f"{k}{j}" for j in range(MAX_WORDS - S + 1, MAX_WORDS + 1) for k in "xe"]
        fed = ["<bos>" if i == seq2seq.BOS_ID else self.tgt_vocab.words[i] for i in r["fed"]]
        key = (tuple(words), tuple(fed), tuple(chars[:, 0]))
        if key != self._labelled:
            labels = {f"x{MAX_WORDS - S + j}": w for j, w in enumerate(words, 1)}
            labels.update({f"d{i}": f for i, f in enumerate(fed, 1)})
            labels.update({f"y{i}": c for i, c in enumerate(chars[:, 0], 1)})
            view.set_labels(labels)
            view.set_hidden([n.id for n in view.spec.nodes if n.kind in "xe" and n.id not in enc])
            view.set_length(T)
            self.refresh_layer()
            self._labelled = key
        every = self.params[self.controls["decoder"].value]["dec_W_ih"].shape[1] > len(
            self.params[self.controls["decoder"].value]["dec_emb"][0])
        weights = {("C", f"s{i}"): float(every) for i in range(1, MAX_STEPS + 1)}
        att = np.zeros((MAX_STEPS, MAX_WORDS))
        if r["attention"] is not None:
            att[:T, MAX_WORDS - S:] = r["attention"]
        view.is_attention[:] = self._attention_edges & (r["attention"] is not None)   # none drawn without it
        weights.update({(f"e{j}", f"s{i}"): att[i - 1, j - 1] for i in range(1, MAX_STEPS + 1)
                        for j in range(1, MAX_WORDS + 1)})
        view.set_edge_weights(weights)
        values = {f"e{MAX_WORDS - S + j}": h for j, h in enumerate(r["states"], 1)}
        values.update({"C": r["C"], "s0": r["C"]})
        values.update({f"s{i}": s for i, s in enumerate(r["dec_states"][:t + 1], 1)})
        view.set_values(values, clear=True)
        if every != self._every:                         # the name W_Cs is in the layer
            for label in self.c_label:
                label.set_visible(every)
            self._every = every
            self.refresh_layer()
        if view.set_step(t + 1):
            self.refresh_layer()

    def _step(self, T: int) -> int:
        """The selected step as an index into the output; the slider spans the output's T steps."""
        slider = self.controls["t"]
        if slider.max != T:          # set inside update: the value it clamps makes no second redraw
            slider.max = T
        return min(slider.value, T) - 1


def _fit_width(texts, ax, n: int) -> None:
    """Set the font size of monospace texts so that n characters span the axes' width exactly."""
    import matplotlib

    with matplotlib.rc_context({"text.hinting": "no_hinting"}):   # as they are drawn (see render)
        renderer = ax.figure.canvas.get_renderer()
        probe = texts[0]
        probe.set_fontsize(10)
        probe.set_text("m" * n)
        width = probe.get_window_extent(renderer).width
        probe.set_text("")
        size = 10 * ax.get_window_extent(renderer).width / width
    for t in texts:
        t.set_fontsize(size)


def plt_cmap(name: str):
    """A matplotlib colour map by name."""
    import matplotlib

    return matplotlib.colormaps[name]


def _colourbar(fig, mesh, cax, label: str) -> None:
    """A slim colour bar for a grid, labelled."""
    bar = fig.colorbar(mesh, cax=cax)
    bar.ax.tick_params(labelsize=7, length=2)
    bar.set_label(label, fontsize=8, labelpad=1)


def _grid(ax, rows: int, cols: int, **kw):
    """A rows x cols colour grid (QuadMesh: much faster to redraw than imshow), cell (i, j) centred at (j, i)."""
    mesh = ax.pcolormesh(np.arange(cols + 1) - 0.5, np.arange(rows + 1) - 0.5, np.full((rows, cols), np.nan), **kw)
    ax.set(xlim=(-0.5, cols - 0.5), ylim=(rows - 0.5, -0.5))
    return mesh


def demo() -> Seq2SeqWidget:
    """The widget on untrained weights, for the benchmark: its output runs all MAX_STEPS steps instead of
    stopping at <eos>, the widget's most expensive case (tested)."""
    data = translation.load()
    V_src, V_tgt = len(data["src_vocab"]), len(data["tgt_vocab"])
    return Seq2SeqWidget({name: seq2seq.numpy_params(seq2seq.make_model(V_src, V_tgt, seed=0, **kw))
                          for name, kw in DECODERS.items()}, data)
