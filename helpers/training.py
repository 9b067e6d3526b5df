"""Small training loops with a progress bar and a live loss curve (numpy and torch)."""
from __future__ import annotations

import pickle
import sys
import threading
import time
from contextlib import contextmanager

import numpy as np

from .live import figure_png, new_figure


_SEED_LOCK = threading.RLock()


@contextmanager
def seeded_torch(seed: int):
    """Inside: torch's global generator seeded with seed; after: as it was before.

    One thread at a time: side_by_side may build models in several threads at once, and
    without the lock one thread's seed would leak into another's weights.
    """
    import torch

    with _SEED_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class LossCurve:
    """A loss-vs-step plot shown once and redrawn in place while training runs."""

    MIN_INTERVAL = 0.5   # seconds between redraws while training (a redraw costs tens of ms)

    def __init__(self, title: str = "training loss", ylabel: str = "loss"):
        import ipywidgets as widgets

        self.fig = new_figure(6.4, 2.8)
        self.fig.subplots_adjust(left=0.11, right=0.98, top=0.88, bottom=0.18)
        self.ax = self.fig.add_subplot()
        self.ax.set(xlabel="step", ylabel=ylabel, title=title)
        self.ax.grid(alpha=0.3)
        (self.raw_line,) = self.ax.plot([], [], color="#93c5fd", lw=0.8)
        (self.line,) = self.ax.plot([], [], color="#2563eb", lw=1.8)
        (self.val_line,) = self.ax.plot([], [], "o-", color="#dc2626", lw=1, ms=3)
        self.image = widgets.Image(format="png")
        self.steps, self.losses, self.val_steps, self.val_losses = [], [], [], []
        self.last_drawn, self.drawn_points = -float("inf"), 0

    def add(self, step: int, loss: float, val: float | None = None) -> None:
        """Record a point (and optionally a held-out point)."""
        self.steps.append(step)
        self.losses.append(loss)
        if val is not None:
            self.val_steps.append(step)
            self.val_losses.append(val)

    def redraw(self) -> None:
        """Update the line data (raw and smoothed training loss, held-out points) and the image."""
        self.raw_line.set_data(self.steps, self.losses)
        self.line.set_data(self.steps, smooth(self.losses))
        handles, labels = [self.raw_line, self.line], ["train (each step)", "train (smoothed)"]
        if self.val_steps:
            self.val_line.set_data(self.val_steps, self.val_losses)
            handles.append(self.val_line)
            labels.append("held-out")
        self.ax.legend(handles, labels, loc="upper right", fontsize=8)
        self.ax.relim()
        self.ax.autoscale_view()
        self.image.value = figure_png(self.fig, dpi=80)
        self.last_drawn, self.drawn_points = time.perf_counter(), len(self.steps)

    def due(self) -> bool:
        """True when the last redraw is at least MIN_INTERVAL seconds old."""
        return time.perf_counter() - self.last_drawn >= self.MIN_INTERVAL


def smooth(values, weight: float = 0.9) -> np.ndarray:
    """Exponential moving average, bias-corrected so the first points are not pulled to 0."""
    out, avg = np.empty(len(values)), 0.0
    for i, v in enumerate(values):
        avg = weight * avg + (1 - weight) * v
        out[i] = avg / (1 - weight ** (i + 1))
    return out


def _progress(total: int, desc: str, live: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not live, leave=True)


def _show(curve: LossCurve | None) -> None:
    if curve is not None:
        from IPython.display import display

        display(curve.image)


def _show_final(curve: LossCurve | None, history: dict, desc: str, seconds: float) -> None:
    """Redraw the finished curve, keep a static copy for readers without a kernel, print a summary."""
    if curve is not None:
        from IPython.display import HTML, display

        from .live import static_html

        if curve.drawn_points != len(curve.steps):      # the last point is not on the picture yet
            curve.redraw()
        display(HTML(static_html(curve.image.value, "Static picture of the loss curve")))
        first, last = smooth(history["loss"])[[0, -1]]
        held = f"; held-out {history['val'][-1][1]:.3f}" if history["val"] else ""
        print(f"{desc}: {len(history['loss'])} steps in {seconds:.1f} s; "
              f"training loss {first:.3f} -> {last:.3f} (smoothed){held}")


class Adam:
    """Adam for a dict of numpy arrays (updated in place)."""

    def __init__(self, params: dict, lr: float = 1e-2, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params, self.lr, self.betas, self.eps, self.t = params, lr, betas, eps, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads: dict) -> None:
        """One update from grads."""
        self.t += 1
        b1, b2 = self.betas
        for k, g in grads.items():
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            m_hat = self.m[k] / (1 - b1**self.t)
            v_hat = self.v[k] / (1 - b2**self.t)
            self.params[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def fit_numpy(loss_and_grads, params: dict, steps: int, lr: float = 1e-2, every: int = 10,
              live: bool = True, desc: str = "training", validate=None) -> dict:
    """Train numpy params with Adam: loss_and_grads(params) -> (loss, grads).

    Shows a progress bar and a live loss curve when live; returns the loss history.
    validate(params) -> held-out loss, drawn every `every` steps if given.
    """
    opt = Adam(params, lr)
    curve = LossCurve(title=desc) if live else None
    _show(curve)
    history = {"step": [], "loss": [], "val": []}
    start = time.perf_counter()
    with _progress(steps, desc, live) as bar:
        for step in range(1, steps + 1):
            loss, grads = loss_and_grads(params)
            opt.step(grads)
            history["step"].append(step)
            history["loss"].append(loss)
            val = None
            if step % every == 0 or step == steps:
                val = validate(params) if validate else None
                if val is not None:
                    history["val"].append((step, val))
            if curve:
                curve.add(step, loss, val)
                if (step % every == 0 or step == steps) and curve.due():
                    curve.redraw()
                    bar.set_postfix(loss=f"{loss:.3f}")
            bar.update(1)
    _show_final(curve, history, desc, time.perf_counter() - start)
    return history


class TorchAdam:
    """Adam for torch parameters: the arithmetic of torch.optim.Adam's defaults, step for step.

    Ours, not torch.optim's, because creating a torch.optim optimizer first imports torch's
    compiler (about 2 s); a test checks that both give identical weights. lr may be changed
    between steps.
    """

    def __init__(self, params, lr: float = 1e-2, betas=(0.9, 0.999), eps: float = 1e-8):
        import torch

        self.params = [p for p in params if p.requires_grad]
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        """Forget the gradients of the last step."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """One update from the parameters' .grad (parameters without a gradient are skipped)."""
        import torch

        b1, b2 = self.betas
        self.t += 1
        step = float(self.t)
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                if p.grad is None:
                    continue
                m.lerp_(p.grad, 1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                denom = (v.sqrt() / (1 - b2**step) ** 0.5).add_(self.eps)
                p.addcdiv_(m, denom, value=-(self.lr / (1 - b1**step)))


def fit_torch(model, batch_loss, steps: int, lr=1e-2, every: int = 20, live: bool = True,
              desc: str = "training", validate=None, clip: float | None = None) -> dict:
    """Train a torch model with Adam: batch_loss(model, step) -> scalar loss tensor.

    Same progress bar and live curve as fit_numpy; validate(model) -> float, optional.
    lr is a number, or a function of the number of updates done so far (a schedule).
    """
    import torch

    opt = TorchAdam(model.parameters(), lr=lr(0) if callable(lr) else lr)
    curve = LossCurve(title=desc) if live else None
    _show(curve)
    history = {"step": [], "loss": [], "val": []}
    start = time.perf_counter()
    with _progress(steps, desc, live) as bar:
        for step in range(1, steps + 1):
            model.train()
            loss = batch_loss(model, step)
            opt.zero_grad()
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            if callable(lr):
                opt.lr = lr(step - 1)
            opt.step()
            value = float(loss.detach())
            history["step"].append(step)
            history["loss"].append(value)
            val = None
            if (step % every == 0 or step == steps) and validate is not None:
                model.eval()
                with torch.no_grad():
                    val = float(validate(model))
                history["val"].append((step, val))
            if curve:
                curve.add(step, value, val)
                if (step % every == 0 or step == steps) and curve.due():
                    curve.redraw()
                    bar.set_postfix(loss=f"{value:.3f}")
            bar.update(1)
    model.eval()
    _show_final(curve, history, desc, time.perf_counter() - start)
    return history


def side_by_side(jobs: dict, show: bool = True, title: str = "training loss", modules: dict | None = None) -> dict:
    """Run independent training jobs {name: job()} at once, torch on one thread each: {name: what job() returned}.

    Each job's result is what it gives alone on one thread, so with two cores two models
    train in about the time of one. Jobs run in threads, unless `modules` names the modules
    each job trains in place ({name: module or list of modules}, built before the call): then,
    on Linux, every job runs in a forked process (no interpreter lock shared: faster when a
    step is many small torch operations), its result must be picklable, and the modules get
    their trained weights back. Same results either way (tested).
    With show, one picture of every job's loss (a job returns a history, or a tuple holding
    one) and a summary per job.
    """
    import torch

    threads, seconds = torch.get_num_threads(), {}
    torch.set_num_threads(1)
    try:
        if modules is not None and FORK:
            results = _run_forked(jobs, modules, seconds)
        else:
            results = _run_threads(jobs, seconds)
    finally:
        torch.set_num_threads(threads)
    if show:
        histories = {name: _history_in(r) for name, r in results.items()}
        _show_curves({n: h for n, h in histories.items() if h is not None}, seconds, title)
    return results


FORK = sys.platform.startswith("linux")   # side_by_side may fork (macOS and Windows: threads)


def _run_threads(jobs: dict, seconds: dict) -> dict:
    """Every job in a thread of its own; their results, and each one's seconds into `seconds`."""
    from concurrent.futures import ThreadPoolExecutor

    def timed(name, job):
        start = time.perf_counter()
        try:
            return job()
        finally:
            seconds[name] = time.perf_counter() - start

    with ThreadPoolExecutor(max(1, len(jobs))) as pool:
        futures = {name: pool.submit(timed, name, job) for name, job in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


def _run_forked(jobs: dict, modules: dict, seconds: dict) -> dict:
    """Every job in a forked process; copy each job's modules back; re-raise a job's error here."""
    import multiprocessing
    import warnings

    context, running = multiprocessing.get_context("fork"), {}
    try:
        for name, job in jobs.items():
            receive, send = context.Pipe(duplex=False)
            mods = _module_list(modules.get(name))
            process = context.Process(target=_forked_job, args=(send, job, mods), daemon=True)
            with warnings.catch_warnings():             # Python >= 3.12 warns on fork in any threaded process
                warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
                process.start()
            send.close()
            running[name] = (process, receive, mods)
        results = {}
        for name, (process, receive, mods) in running.items():
            try:
                status, value, states, seconds[name] = pickle.loads(receive.recv_bytes())
            except EOFError:
                process.join()
                raise RuntimeError(f"training job {name!r} ended without a result "
                                   f"(exit code {process.exitcode})") from None
            if status == "error":
                raise value
            for module, state in zip(mods, states):
                _load_module_state(module, state)
            results[name] = value
        return results
    finally:
        for process, receive, _ in running.values():
            if process.is_alive():
                process.terminate()
            process.join()
            receive.close()


def _module_list(modules) -> list:
    """A job's modules as a list (one module, several, or none)."""
    if modules is None:
        return []
    return list(modules) if isinstance(modules, (list, tuple)) else [modules]


def _forked_job(conn, job, modules: list) -> None:
    """In the forked process: run the job, send (status, result or error, module states, seconds)."""
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    try:
        payload = ("ok", job(), None)
        payload = payload[:2] + ([_module_state(m) for m in modules],)
    except BaseException as error:                      # noqa: BLE001 - passed on to the parent
        payload = ("error", error, None)
    payload += (time.perf_counter() - start,)
    try:
        data = pickle.dumps(payload)
    except Exception as error:                          # noqa: BLE001 - an unpicklable result or error
        data = pickle.dumps(("error", RuntimeError(f"the job's {'result' if payload[0] == 'ok' else 'error'} "
                                                   f"cannot be sent back: {error!r} ({payload[1]!r:.200})"),
                             None, payload[3]))
    conn.send_bytes(data)
    conn.close()


def _module_state(module) -> dict:
    """What training changes in a module: parameters (values and gradients), buffers, train/eval flags."""
    return {"params": [(p.detach().clone(), None if p.grad is None else p.grad.clone()) for p in module.parameters()],
            "buffers": [b.clone() for b in module.buffers()],
            "training": [m.training for m in module.modules()]}


def _load_module_state(module, state: dict) -> None:
    """Put a _module_state back into the same module (built before the fork, so the same structure)."""
    import torch

    with torch.no_grad():
        for p, (value, grad) in zip(module.parameters(), state["params"], strict=True):
            p.copy_(value)
            p.grad = grad
        for b, value in zip(module.buffers(), state["buffers"], strict=True):
            b.copy_(value)
    for m, flag in zip(module.modules(), state["training"], strict=True):
        m.training = flag


def _history_in(result):
    """The history dict a training job returned (alone or inside a tuple), or None."""
    for item in result if isinstance(result, tuple) else (result,):
        if isinstance(item, dict) and "loss" in item and "step" in item:
            return item
    return None


def curves_png(histories: dict, title: str = "training loss") -> bytes:
    """One picture of several runs' training loss (smoothed, each step faint behind it; held-out points if any)."""
    fig = new_figure(6.4, 2.8)
    fig.subplots_adjust(left=0.11, right=0.98, top=0.88, bottom=0.18)
    ax = fig.add_subplot()
    colours = ["#2563eb", "#dc2626", "#059669", "#9333ea"]
    for (name, h), colour in zip(histories.items(), colours * len(histories)):
        ax.plot(h["step"], h["loss"], color=colour, lw=0.6, alpha=0.3)
        ax.plot(h["step"], smooth(h["loss"]), color=colour, lw=1.8, label=name)
        if h.get("val"):
            steps, vals = zip(*h["val"])
            ax.plot(steps, vals, "o--", color=colour, lw=1, ms=3, label=f"{name}, held-out")
    ax.set(xlabel="step", ylabel="loss", title=title, ylim=(0, None))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    return figure_png(fig, dpi=80)


def _show_curves(histories: dict, seconds: dict, title: str) -> None:
    """Display the runs' curves and a summary line per run."""
    from IPython.display import Image, display

    if histories:
        display(Image(curves_png(histories, title)))
    for name, h in histories.items():
        first, last = smooth(h["loss"])[[0, -1]]
        print(f"{name}: {len(h['loss'])} steps in {seconds[name]:.1f} s (side by side); "
              f"training loss {first:.3f} -> {last:.3f} (smoothed)")
