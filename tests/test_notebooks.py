"""Every notebook: committed clean (hygiene), and runs top to bottom in a fresh kernel."""
import importlib
import inspect
import re
import time

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import NOTEBOOKS, ROOT

HARD_LIMIT_S = 120


def _ids(paths):
    return [p.stem for p in paths]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"
    assert NOTEBOOKS[0].name == "00_start_here.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_clean(path):
    """Kernelspec kept; no outputs, execution counts or saved widget state."""
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "kernelspec metadata missing"
    assert "widgets" not in nb.metadata, "saved widget state in notebook metadata"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} has outputs (run `make strip`)"
            assert cell.execution_count is None, f"cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_contract(path):
    """Title, what you will learn, the seed idea, a summary, a pointer onward; an exercise check."""
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown").lower()
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert nb.cells[0].source.startswith("# "), "first cell must be the title"
    assert "what you will learn" in text
    assert "summary" in text
    if path.name != NOTEBOOKS[-1].name:
        assert "next:" in text, "end with a pointer to the next notebook ('Next: ...')"
    if not path.name.startswith("00"):
        assert "seed" in text, "say which idea of the seed article the notebook covers"
        assert "check_" in code, "at least one auto-checked exercise"
    assert "%%file" not in code and "import notebooks" not in code


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_runs_top_to_bottom(path, tmp_path):
    """Fresh kernel, all cells, no error, within the hard limit."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=HARD_LIMIT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    seconds = time.perf_counter() - start
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"cell {i} raised {out.get('ename')}"
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                assert "Traceback" not in out.get("text", ""), f"cell {i} printed a traceback"
    assert seconds <= HARD_LIMIT_S, f"{path.name} took {seconds:.0f} s (limit {HARD_LIMIT_S} s)"


MARKER = re.compile(r"^# (helpers\.[\w.]+): the same code, tested in tests/\n")


def _shown_functions():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            m = MARKER.match(cell.source) if cell.cell_type == "code" else None
            if m:
                yield pytest.param(path.name, m.group(1), cell.source[m.end():],
                                   id=f"{path.stem}:{m.group(1)}")


@pytest.mark.parametrize("notebook,qualname,shown", list(_shown_functions()))
def test_shown_code_is_the_helper(notebook, qualname, shown):
    """Code a learner reads in a notebook is character for character the tested helper."""
    module_name, func_name = qualname.rsplit(".", 1)
    func = getattr(importlib.import_module(module_name), func_name)
    assert shown.strip() == inspect.getsource(func).strip(), (
        f"{notebook} shows a {qualname} that differs from helpers: copy it again")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_one_sitting(path):
    """Under 2,500 words of prose and 45 minutes by the computed estimate, stamped and current."""
    from helpers.course import notebook_size, reading_line, reading_minutes

    nb = nbformat.read(path, as_version=4)
    assert notebook_size(path)["words"] < 2500, "more than 2,500 words of prose: not one sitting"
    assert reading_minutes(path) < 45, "45 minutes or more by the reading-time estimate"
    assert reading_line(path) in nb.cells[0].source, "reading time out of date: run scripts/reading_time.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_check_your_understanding(path):
    """Ends with a 'Check your understanding' section whose answers helpers.quiz checks."""
    nb = nbformat.read(path, as_version=4)
    heads = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
             and "check your understanding" in c.source.lower()]
    assert heads, "no 'Check your understanding' section"
    after = "\n".join(c.source for c in nb.cells[heads[-1]:] if c.cell_type == "code")
    assert "quiz.check(" in after or "check_understanding(" in after, "its questions have no automatic check"
