"""The course map, with each notebook's measured run time from the latest benchmark."""
from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results.json"

COURSE = [
    ("00", "start_here", "Start here", "the course map; a 1-unit RNN you can steer"),
    ("01", "one_step", "One step", "the seed's DAG h1 = tanh(W1x+b1), o = tanh(W2h1+b2), y = softmax(o)"),
    ("02", "recurrence", "Recurrence", "h_t = f(h_{t-1}, x_t; θ), the unrolled graph, shared θ"),
    ("03", "bptt", "Backprop through time", "gradients along the unrolled graph; vanishing and exploding"),
    ("04", "memory", "Memory", "Markovization; how long a plain state remembers"),
    ("05", "gates", "Gates", "gated units (GRU/LSTM); RNN vs CNN"),
    ("06", "generating_sequences", "Generating sequences", "a character-level model of real surnames"),
    ("07", "vector_to_sequence", "Vector to sequence", "one vector in, a caption out"),
    ("08", "sequence_to_sequence", "Sequence to sequence", "encoder, context C, decoder; attention"),
    ("09", "bidirectional", "Bidirectional", "forward state h, backward state g"),
    ("10", "batches_of_unequal_length", "Batches of unequal length", "padding, masks, packing"),
]


def measured_times(path: Path = RESULTS) -> dict[str, float]:
    """Median run time in seconds per notebook file name, from bench/results.json (if any)."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {name: nb["median_s"] for name, nb in data.get("notebooks", {}).items()}


def course_map(notebooks_dir: Path | None = None) -> str:
    """The course as a Markdown table: notebook, idea, measured time (— if not yet measured)."""
    notebooks_dir = notebooks_dir or RESULTS.parents[1] / "notebooks"
    times = measured_times()
    lines = ["| # | notebook | idea | runs in |", "|---|---|---|---|"]
    for num, slug, title, idea in COURSE:
        name = f"{num}_{slug}.ipynb"
        here = (notebooks_dir / name).exists()
        link = f"[{title}]({name})" if here else f"{title} *(coming)*"
        t = f"{times[name]:.0f} s" if name in times else "—"
        lines.append(f"| {num} | {link} | {idea} | {t} |")
    return "\n".join(lines)


# Reading time: prose at 150 words a minute, code at 10 lines a minute, 3 minutes per widget to
# play with. Stamped into each notebook's first cell by scripts/reading_time.py (tests check it).
WORDS_PER_MIN, CODE_LINES_PER_MIN, WIDGET_MIN = 150, 10, 3
READING_PREFIX = "*Reading time: about "


def notebook_size(path: Path) -> dict[str, int]:
    """Words of prose, non-blank lines of code, and widgets shown (`.show()` calls) in a notebook."""
    import re

    cells = json.loads(Path(path).read_text())["cells"]
    prose = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    lines = [ln for src in code for ln in src.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return {"words": len(re.findall(r"[A-Za-z]+", prose)), "code_lines": len(lines),
            "widgets": sum(len(re.findall(r"^\s*(?!plt\.)[A-Za-z_]\w*\.show\(\)", src, re.M)) for src in code)}


def reading_minutes(path: Path) -> int:
    """Estimated minutes to work through a notebook (read, run, play), rounded up to 5."""
    s = notebook_size(path)
    minutes = s["words"] / WORDS_PER_MIN + s["code_lines"] / CODE_LINES_PER_MIN + WIDGET_MIN * s["widgets"]
    return int(5 * -(-minutes // 5))


def reading_line(path: Path) -> str:
    """The line stamped under a notebook's title."""
    s = notebook_size(path)
    return (f"{READING_PREFIX}{reading_minutes(path)} minutes* (estimated from its {s['words']:,} words, "
            f"{s['code_lines']} lines of code and {s['widgets']} widget{'s' * (s['widgets'] != 1)}).")
