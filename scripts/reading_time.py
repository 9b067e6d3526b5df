"""Stamp each notebook's estimated reading time under its title (helpers.course.reading_line).

Usage: python scripts/reading_time.py [notebooks/*.ipynb]   (default: every notebook)
Run it after editing a notebook; tests/test_notebooks.py fails while a stamp is out of date.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.course import READING_PREFIX, reading_line  # noqa: E402


def stamp(path: Path) -> bool:
    """Write the reading line into the first cell (after the title); True if it changed."""
    nb = json.loads(path.read_text())
    for _ in range(3):  # the stamp's own words count: repeat until it is stable
        lines = "".join(nb["cells"][0]["source"]).split("\n")
        body = [ln for ln in lines[1:] if not ln.startswith(READING_PREFIX)]
        while body and not body[0].strip():
            body.pop(0)
        path_tmp = json.dumps(nb)
        new = [lines[0], "", reading_line(path) if _ else READING_PREFIX, ""] + body
        text = "\n".join(new)
        nb["cells"][0]["source"] = [ln + "\n" for ln in text.split("\n")[:-1]] + [text.split("\n")[-1]]
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return json.dumps(nb) != path_tmp


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for p in paths:
        stamp(p)
        print(p.name, reading_line(p))
