"""scripts/bench.py: per-cell timing, the machine speed figure and where they are reported."""
import importlib.util
import re
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT

spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def _executed(timings):
    """A notebook whose code cells carry nbclient's timing metadata (None: a cell never run)."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# Title"))
    for i, t in enumerate(timings):
        cell = nbformat.v4.new_code_cell(f"\n# cell {i}\nx = {i}")
        if t is not None:
            busy, idle = t
            cell.metadata["execution"] = {"iopub.status.busy": f"2026-12-01T10:00:{busy:09.6f}Z",
                                          "iopub.execute_input": f"2026-12-01T10:00:{busy:09.6f}Z",
                                          "shell.execute_reply": f"2026-12-01T10:00:{idle:09.6f}Z",
                                          "iopub.status.idle": f"2026-12-01T10:00:{idle:09.6f}Z"}
        nb.cells.append(cell)
    return nb


def test_cell_times_reads_nbclients_stamps_and_skips_cells_not_run():
    cells = bench.cell_times(_executed([(1.0, 1.25), None, (2.0, 5.5)]))
    assert [c["cell"] for c in cells] == [1, 3]  # index among all cells; the markdown cell is 0
    assert cells[0]["s"] == pytest.approx(0.25) and cells[1]["s"] == pytest.approx(3.5)
    assert cells[1]["source"] == "# cell 2"  # first non-blank line


def test_median_cells_and_slowest_order():
    runs = [[{"cell": 1, "s": 1.0, "source": "a"}, {"cell": 2, "s": 4.0, "source": "b"}],
            [{"cell": 1, "s": 3.0, "source": "a"}, {"cell": 2, "s": 2.0, "source": "b"}],
            [{"cell": 1, "s": 2.0, "source": "a"}, {"cell": 2, "s": 9.0, "source": "b"}]]
    med = bench.median_cells(runs)
    assert [(c["cell"], c["s"]) for c in med] == [(1, 2.0), (2, 4.0)]
    cells = [{"cell": i, "s": s, "source": ""} for i, s in enumerate([0.1, 3.0, 0.5, 3.0, 2.0])]
    assert [c["cell"] for c in bench.slowest(cells, 3)] == [1, 3, 4]


def test_machine_speed_is_the_best_of_its_repeats():
    figures = iter([{"torch_ms": 5, "numpy_ms": 4, "ms": 9}, {"torch_ms": 3, "numpy_ms": 4, "ms": 7},
                    {"torch_ms": 6, "numpy_ms": 2, "ms": 8}])
    speed = bench.machine_speed(3, workload=lambda: next(figures))
    assert speed["ms"] == 7 and speed["torch_ms"] == 3 and speed["repeats"] == 3
    assert bench.speed_line(speed) == "machine speed: 7 ms for the reference workload"


def test_reference_workload_restores_the_thread_count_and_the_generator():
    import torch

    before = torch.get_num_threads()
    state = torch.random.get_rng_state()
    r = bench.reference_workload(steps=20)
    assert r["torch_ms"] > 0 and r["numpy_ms"] > 0 and r["ms"] == pytest.approx(r["torch_ms"] + r["numpy_ms"])
    assert torch.get_num_threads() == before
    assert torch.equal(torch.random.get_rng_state(), state), "the global torch generator was moved"


def _results():
    cells = [{"cell": 2, "s": 0.2, "source": "import x"}, {"cell": 5, "s": 4.0, "source": "model = train(|)"},
             {"cell": 7, "s": 1.0, "source": "plot()"}, {"cell": 9, "s": 0.1, "source": "done"}]
    return {"date": "2026-12-01", "machine": "a CPU", "runs": 3, "course_s": 5.3, "widgets": {},
            "speed": {"ms": 432.1, "torch_ms": 400.0, "numpy_ms": 32.1},
            "notebooks": {"00_start_here.ipynb": {"median_s": 5.3, "headlines": {}, "cells": cells, "speed_ms": 97.6},
                          "01_one_step.ipynb": {"median_s": 1.0, "headlines": {}, "cells": cells, "speed_ms": 151.2}}}


def test_table_footer_and_results_md_report_speed_and_slowest_cells():
    table = bench.markdown(_results())
    assert table.splitlines()[-1].startswith("Machine speed: 432 ms for the reference workload (")
    assert table.splitlines()[-1].endswith("ranged from 98 to 151 ms during this benchmark "
                                           "(each notebook's is in the slowest-cells table below).")
    md = bench.slowest_cells_markdown(_results())
    row = next(line for line in md.splitlines() if line.startswith("| 00_start_here"))
    assert row.startswith("| 00_start_here.ipynb | 5.3 s | 98 ms | ")
    assert row.index("cell 5: 4.0 s") < row.index("cell 7: 1.0 s") < row.index("cell 2: 0.2 s")
    assert "cell 9" not in row and "train(/)" in row  # a | would break the table


def test_speed_option_prints_only_the_figure():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench.py"), "--speed"], capture_output=True,
                         text=True, check=True, timeout=120).stdout
    assert re.fullmatch(r"machine speed: \d+ ms for the reference workload\n", out)


def test_widget_figures_are_the_median_of_runs_taken_in_turn(monkeypatch):
    order, p95 = [], {"helpers.a": iter([30.0, 50.0, 20.0]), "helpers.b": iter([5.0, 6.0, 7.0])}

    def fake(module):
        order.append(module)
        value = next(p95[module])
        return {"changes": 31, "median_ms": value / 2, "p95_ms": value, "controls": ["t"]}
    monkeypatch.setattr(bench, "bench_widget", fake)
    monkeypatch.setattr(bench, "machine_speed", lambda: {"ms": 123.4})
    monkeypatch.setattr(bench, "notebook_of", lambda m: "00_start_here.ipynb")
    out = bench.bench_widgets(["helpers.a", "helpers.b"], runs=3)
    assert order == ["helpers.a", "helpers.b"] * 3                      # in turn, not one widget's runs in a row
    assert out["helpers.a"]["p95_ms"] == 30.0 and out["helpers.a"]["runs_p95_ms"] == [30.0, 50.0, 20.0]
    assert out["helpers.b"]["median_ms"] == 3.0 and out["helpers.a"]["speed_ms"] == 123.4
    results = {**_results(), "widgets": out}
    assert "the median of 3 such runs per widget (taken in turn across the widgets); the machine speed figure " \
           "before them: 123 ms." in bench.markdown(results)
