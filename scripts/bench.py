"""Measure the course on this machine and write bench/results.json, bench/results.md and
the course table in README.md.

- every notebook, top to bottom in a fresh kernel, 3 times: the median seconds;
- every widget (each helpers module with a ``demo()``): at least 30 control changes driven
  from Python, time from the new value to the new PNG: median and 95th percentile, each the
  median of 3 such runs (taken in turn across the widgets);
- the headline figures each notebook reports in its own run (helpers.report.headline);
- where each notebook's seconds go: every code cell's time (the median over the runs), the
  slowest ones listed in bench/results.md;
- a machine speed figure: a fixed small workload of the kind the course runs (torch GRUCell
  steps on one thread and a numpy RNN-step loop), best of 3, so that times measured on two
  machines can be compared.

Usage: python scripts/bench.py [--runs 3] [--only 01,02]
       python scripts/bench.py --speed      print the machine speed figure only
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])

GOALS = {"notebook_s": 15, "course_s": 90, "widget_median_ms": 50, "widget_p95_ms": 35}
MIN_CHANGES = 30
SLOWEST_CELLS = 3  # listed per notebook in results.md
SPEED_WORKLOAD = ("2000 torch GRUCell steps (batch 16, 16 inputs, H = 64, 1 thread, no grad) "
                  "and 2000 numpy RNN steps (batch 16, H = 64), best of 3")


def machine() -> str:
    """CPU model, cores, Python and torch versions."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, torch {torch.__version__}")


def run_notebook(path: Path, results_file: Path) -> tuple[float, list[dict]]:
    """Execute one notebook in a fresh kernel; return its wall time in seconds and its cell times."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ["UNROLLED_RESULTS"] = str(results_file)
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        return time.perf_counter() - start, cell_times(nb)
    finally:
        os.environ.pop("UNROLLED_RESULTS", None)


def _stamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def cell_times(nb) -> list[dict]:
    """Each executed code cell's kernel time (busy to idle, as nbclient records it), in order.

    One dict per code cell: its index among all the notebook's cells (0-based), seconds, and its
    first non-blank source line, so a reader can find it.
    """
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        ex = cell.get("metadata", {}).get("execution", {})
        begin = ex.get("iopub.status.busy") or ex.get("iopub.execute_input")
        end = ex.get("iopub.status.idle") or ex.get("shell.execute_reply")
        if not (begin and end):
            continue
        first = next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")
        out.append({"cell": i, "s": max(0.0, (_stamp(end) - _stamp(begin)).total_seconds()), "source": first[:80]})
    return out


def median_cells(runs: list[list[dict]]) -> list[dict]:
    """Per-cell median over several runs of the same notebook (cells matched by index)."""
    by_cell: dict[int, dict] = {}
    for run in runs:
        for c in run:
            by_cell.setdefault(c["cell"], {"cell": c["cell"], "source": c["source"], "runs_s": []})["runs_s"].append(c["s"])
    return [{"cell": c["cell"], "s": statistics.median(c["runs_s"]), "source": c["source"]}
            for c in sorted(by_cell.values(), key=lambda c: c["cell"])]


def slowest(cells: list[dict], n: int = SLOWEST_CELLS) -> list[dict]:
    """The n slowest cells, slowest first (ties in cell order)."""
    return sorted(cells, key=lambda c: (-c["s"], c["cell"]))[:n]


def reference_workload(steps: int = 2000) -> dict:
    """Time (ms) the fixed workload once: torch GRUCell steps on 1 thread, then numpy RNN steps."""
    import numpy as np
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng():  # the weights' draw leaves the global generator as it was
            torch.manual_seed(0)
            cell = torch.nn.GRUCell(16, 64)
            x = torch.randn(16, 16)  # (B, inputs)
        h = torch.zeros(16, 64)  # (B, H)
        with torch.no_grad():
            start = time.perf_counter()
            for _ in range(steps):
                h = cell(x, h)
            torch_ms = 1000 * (time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    rng = np.random.default_rng(0)
    W, U, b = rng.normal(0, 0.1, (64, 64)), rng.normal(0, 0.1, (16, 64)), np.zeros(64)
    xs, hn = rng.normal(size=(16, 16)), np.zeros((16, 64))
    start = time.perf_counter()
    for _ in range(steps):
        hn = np.tanh(hn @ W + xs @ U + b)  # (B, H)
    numpy_ms = 1000 * (time.perf_counter() - start)
    return {"torch_ms": torch_ms, "numpy_ms": numpy_ms, "ms": torch_ms + numpy_ms}


def machine_speed(repeats: int = 3, workload=reference_workload) -> dict:
    """The machine speed figure: the best (lowest) of `repeats` timings of the reference workload."""
    best = min((workload() for _ in range(repeats)), key=lambda r: r["ms"])
    return {**best, "repeats": repeats, "workload": SPEED_WORKLOAD}


def speed_line(speed: dict | None) -> str:
    """'machine speed: N ms for the reference workload' (lower is faster)."""
    if not speed:
        return "machine speed: not measured"
    return f"machine speed: {speed['ms']:.0f} ms for the reference workload"


def bench_notebooks(paths, runs: int) -> dict:
    """Median time of `runs` executions and the headline figures of each notebook."""
    out = {}
    for path in paths:
        speed = machine_speed(repeats=1)["ms"]      # the machine's speed drifts: measured next to each notebook
        times, figures, cells = [], [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                res = Path(tmp) / "results.json"
                seconds, cell_s = run_notebook(path, res)
                times.append(seconds)
                cells.append(cell_s)
                figures.append(json.loads(res.read_text()) if res.exists() else {})
        same = all(f == figures[0] for f in figures)
        per_cell = median_cells(cells)
        out[path.name] = {"median_s": statistics.median(times), "runs_s": times,
                          "headlines": figures[-1], "same_figures_every_run": same, "cells": per_cell,
                          "speed_ms": speed}
        top = ", ".join(f"cell {c['cell']} {c['s']:.1f} s" for c in slowest(per_cell))
        print(f"{path.name}: {statistics.median(times):.1f} s  {figures[-1] and len(figures[-1])} figures"
              f"{'' if same else '  (FIGURES DIFFER BETWEEN RUNS)'}; slowest: {top}", flush=True)
    return out


def _sweep(control, n: int) -> list:
    """n values for a control: a sweep across a slider, the options of a dropdown, a toggle."""
    import numpy as np

    if hasattr(control, "min") and hasattr(control, "max") and not hasattr(control, "options"):
        if hasattr(control, "base"):  # log slider
            exps = np.linspace(control.min, control.max, n)
            return [float(control.base ** e) for e in exps]
        if isinstance(control.value, int) and control.max - control.min + 1 < n:
            # few integer values: go back and forth, so that every one of the n values is a change
            cycle = list(range(control.min, control.max + 1)) + list(range(control.max - 1, control.min, -1))
            return [cycle[i % len(cycle)] for i in range(n)] if len(cycle) > 1 else []
        vals = np.linspace(control.min, control.max, n)
        return [type(control.value)(v) if isinstance(control.value, int) else float(v) for v in vals]
    if hasattr(control, "options") and control.options and type(control).__name__ != "Combobox":
        opts = [o[1] if isinstance(o, tuple) else o for o in control.options]
        return [opts[i % len(opts)] for i in range(n)]
    if isinstance(getattr(control, "value", None), bool):
        return [bool(i % 2) for i in range(n)]
    return []


def bench_widget(module_name: str) -> dict:
    """Build the module's demo widget and drive its controls through >= 30 changes."""
    module = importlib.import_module(module_name)
    widget = module.demo()
    built = len(widget.latencies_ms)
    drivable = {k: c for k, c in widget.controls.items() if _sweep(c, 2)}
    if not drivable:
        return {"error": "no slider, dropdown or toggle to drive"}
    per = max(10, -(-MIN_CHANGES // len(drivable)))
    for name, control in drivable.items():
        start = control.value
        for v in _sweep(control, per):
            control.value = v
        control.value = start
    lat = sorted(widget.latencies_ms[built:])
    import numpy as np

    return {"changes": len(lat), "median_ms": float(np.median(lat)), "p95_ms": float(np.percentile(lat, 95)),
            "controls": list(drivable)}


def bench_widgets(modules: list[str], runs: int) -> dict:
    """Each widget benchmarked `runs` times, the runs taken in turn across widgets: median of the runs' figures.

    A shared machine slows down for minutes at a time: one run per widget would measure
    whichever phase it fell into; taking the median of runs spread over the section is the
    notebooks' rule (median of their runs) applied to the widgets. The machine speed figure
    before the section is kept with the results.
    """
    import numpy as np

    speed = machine_speed()["ms"]
    by_module: dict[str, list[dict]] = {m: [] for m in modules}
    for _ in range(runs):
        for m in modules:
            by_module[m].append(bench_widget(m))
    out = {}
    for m, rs in by_module.items():
        ok = [r for r in rs if "median_ms" in r]
        w = {"notebook": notebook_of(m), "speed_ms": speed}
        if len(ok) < len(rs):
            w["error"] = next(r["error"] for r in rs if "error" in r)
        else:
            w.update(changes=min(r["changes"] for r in ok), controls=ok[0]["controls"],
                     median_ms=float(np.median([r["median_ms"] for r in ok])),
                     p95_ms=float(np.median([r["p95_ms"] for r in ok])),
                     runs_p95_ms=[round(r["p95_ms"], 1) for r in ok])
        out[m] = w
        print(f"{m} ({w['notebook']}): " + (f"{w['median_ms']:.1f} ms median, {w['p95_ms']:.1f} ms p95 (runs: "
                                            f"{w['runs_p95_ms']}) over {w['changes']} changes each"
                                            if "median_ms" in w else w["error"]), flush=True)
    return out


def widget_modules() -> list[str]:
    """helpers modules that define a demo() widget factory."""
    names = []
    for p in sorted((ROOT / "helpers").glob("*.py")):
        if re.search(r"^def demo\(", p.read_text(), re.M):
            names.append(f"helpers.{p.stem}")
    return names


def notebook_of(module: str) -> str:
    """Which notebook a widget module belongs to (by the notebooks that import it)."""
    short = module.split(".")[1]
    imports = rf"(from helpers\.{short} import|import helpers\.{short}\b|from helpers import [^\n]*\b{short}\b)"
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        code = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")
        if re.search(imports, code):
            return nb.name
    return "shared"


def markdown(results: dict) -> str:
    """The course table: one row per notebook with time, widget latency and headline figures."""
    from helpers.course import COURSE

    def flag(ok: bool) -> str:
        return "" if ok else " ✗"

    lines = ["| # | notebook | what it teaches | runs in | widget update (median / p95) | results, from the notebook's own run |",
             "|---|---|---|---|---|---|"]
    for num, slug, title, idea in COURSE:
        name = f"{num}_{slug}.ipynb"
        nb = results["notebooks"].get(name)
        if not (ROOT / "notebooks" / name).exists():
            continue
        t = f"{nb['median_s']:.1f} s{flag(nb['median_s'] <= GOALS['notebook_s'])}" if nb else "—"
        ws = [w for w in results["widgets"].values() if w.get("notebook") == name and "median_ms" in w]
        lat = "<br>".join(f"{w['median_ms']:.0f} / {w['p95_ms']:.0f} ms"
                          f"{flag(w['median_ms'] <= GOALS['widget_median_ms'] and w['p95_ms'] <= GOALS['widget_p95_ms'])}"
                          for w in ws) or "—"
        figs = "<br>".join(f"{h['label']}: {h.get('text') or _fmt(h['value'])}" for h in (nb or {}).get("headlines", {}).values()) or "—"
        lines.append(f"| {num} | [{title}](notebooks/{name}) | {idea} | {t} | {lat} | {figs} |")
    for m, w in sorted(results["widgets"].items()):
        if w.get("notebook") == "shared" and "median_ms" in w:
            ok = w["median_ms"] <= GOALS["widget_median_ms"] and w["p95_ms"] <= GOALS["widget_p95_ms"]
            lines += ["", f"Shared drawing `{m}` (the unrolled graph inside the widgets of 02, 04, 07, 08 and 09), "
                          f"update on its own: {w['median_ms']:.0f} / {w['p95_ms']:.0f} ms{flag(ok)}."]
    total = results["course_s"]
    lines += ["", f"Whole course, top to bottom: **{total:.0f} s**{flag(total <= GOALS['course_s'])} "
                  f"(goal ≤ {GOALS['course_s']} s). Goals: each notebook ≤ {GOALS['notebook_s']} s, widget update "
                  f"median ≤ {GOALS['widget_median_ms']} ms and p95 ≤ {GOALS['widget_p95_ms']} ms; ✗ marks a miss.",
              f"Measured by `make bench` on {results['date']}: {results['machine']}. "
              f"Notebook times are the median of {results['runs']} runs in a fresh kernel; widget times are "
              f"from a new control value to the new image, over ≥ {MIN_CHANGES} changes, the median of "
              f"{results['runs']} such runs per widget (taken in turn across the widgets)"
              + _widget_speed(results) + ".",
              speed_line(results.get("speed")).capitalize() + f" ({SPEED_WORKLOAD}; lower is faster): "
              "`python scripts/bench.py --speed` prints your machine's figure, to compare with this one."
              + _speed_drift(results)]
    return "\n".join(lines)


def _widget_speed(results: dict) -> str:
    """The machine speed figure measured before the widget runs, if recorded."""
    speeds = {w["speed_ms"] for w in results["widgets"].values() if w.get("speed_ms")}
    return f"; the machine speed figure before them: {max(speeds):.0f} ms" if len(speeds) == 1 else ""


def _speed_drift(results: dict) -> str:
    """The range of the speed figures measured before each notebook, if any (a shared machine drifts)."""
    per = [nb["speed_ms"] for nb in results["notebooks"].values() if nb.get("speed_ms")]
    if not per:
        return ""
    return (f" Measured before each notebook's runs, the same figure ranged from {min(per):.0f} to {max(per):.0f} ms "
            "during this benchmark (each notebook's is in the slowest-cells table below).")


def slowest_cells_markdown(results: dict) -> str:
    """Where each notebook's seconds go: its slowest cells, for results.md."""
    lines = ["## Slowest cells", "",
             f"The {SLOWEST_CELLS} slowest code cells of each notebook (kernel time, median over the runs; "
             "cell = position among all the notebook's cells, counted from 0). Every cell's time is in results.json.",
             "", "| notebook | runs in | machine speed before it | slowest cells |", "|---|---|---|---|"]
    for name, nb in sorted(results["notebooks"].items()):
        cells = nb.get("cells")
        if not cells:
            lines.append(f"| {name} | {nb['median_s']:.1f} s | {_ms(nb.get('speed_ms'))} | not measured |")
            continue
        top = "<br>".join(f"cell {c['cell']}: {c['s']:.1f} s `{c['source'].replace('|', '/').replace('`', '')}`"
                          for c in slowest(cells))
        lines.append(f"| {name} | {nb['median_s']:.1f} s | {_ms(nb.get('speed_ms'))} | {top} |")
    return "\n".join(lines)


def _ms(v) -> str:
    return f"{v:.0f} ms" if v else "—"


def _fmt(v: float) -> str:
    if 0 < abs(v) < 1e-3:  # errors and differences (1e-9): a percentage would print 0.0%
        return f"{v:.1e}"
    return f"{v:.1%}" if 0 <= v <= 1 and not float(v).is_integer() else f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


def update_readme(table: str) -> None:
    """Replace the course table between its markers in README.md."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    new = re.sub(r"(<!-- course-table:start -->\n).*?(\n<!-- course-table:end -->)",
                 lambda m: m.group(1) + table + m.group(2), text, flags=re.S)
    readme.write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated notebook numbers, e.g. 01,02")
    ap.add_argument("--speed", action="store_true", help="print the machine speed figure only")
    args = ap.parse_args()
    if args.speed:
        print(speed_line(machine_speed()))
        return
    import matplotlib

    matplotlib.use("Agg")
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    out_json = ROOT / "bench" / "results.json"
    old = json.loads(out_json.read_text()) if out_json.exists() else {"notebooks": {}, "widgets": {}}
    if args.only:
        keep = set(args.only.split(","))
        paths = [p for p in paths if p.name[:2] in keep]
    notebooks = dict(old.get("notebooks", {}))
    notebooks.update(bench_notebooks(paths, args.runs))
    widgets = dict(old.get("widgets", {}))
    chosen = [m for m in widget_modules()
              if not args.only or notebook_of(m)[:2] in set(args.only.split(","))]
    widgets.update(bench_widgets(chosen, args.runs))
    speed = machine_speed()
    print(speed_line(speed), flush=True)
    present = {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    notebooks = {k: v for k, v in notebooks.items() if k in present}
    results = {"date": dt.date.today().isoformat(), "machine": machine(), "runs": args.runs, "goals": GOALS,
               "speed": speed, "notebooks": notebooks, "widgets": widgets,
               "course_s": sum(v["median_s"] for v in notebooks.values())}
    out_json.parent.mkdir(exist_ok=True)
    out_json.write_text(json.dumps(results, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    table = markdown(results)
    (ROOT / "bench" / "results.md").write_text("# Benchmark results\n\n" + table + "\n\n"
                                               + slowest_cells_markdown(results) + "\n")
    update_readme(table)
    print(table)


if __name__ == "__main__":
    main()
