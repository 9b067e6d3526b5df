"""Environment check: is every package the course needs installed, at a version that works?"""
from __future__ import annotations

import importlib.metadata as md
import sys

# What the course needs (the same ranges as pyproject.toml; a test checks they agree).
REQUIRED = {
    "numpy": "1.26", "matplotlib": "3.8", "pillow": "10", "ipywidgets": "8.1",
    "jupyterlab": "4.2", "ipykernel": "6.29", "torch": "2.2", "num2words": "0.5.13",
    "names": "0.3", "tqdm": "4.66",
}


def _version_tuple(v: str) -> tuple:
    parts = []
    for p in v.split("+")[0].split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def check(required: dict[str, str] = REQUIRED) -> list[dict]:
    """One row per package: name, minimum, found version (or None), ok, and the fix."""
    rows = []
    for name, minimum in required.items():
        try:
            found = md.version(name)
        except md.PackageNotFoundError:
            found = None
        ok = found is not None and _version_tuple(found) >= _version_tuple(minimum)
        fix = "" if ok else (f"pip install torch==2.13.0 (CPU build; see README, 'CPU torch')" if name == "torch"
                             else f"pip install '{name}>={minimum}'  (or: make setup)")
        rows.append({"package": name, "minimum": minimum, "found": found, "ok": ok, "fix": fix})
    return rows


def report(rows: list[dict] | None = None) -> str:
    """The check as a Markdown table, with a one-line verdict first."""
    rows = check() if rows is None else rows
    bad = [r for r in rows if not r["ok"]]
    head = (f"All {len(rows)} packages found (Python {sys.version.split()[0]})." if not bad else
            f"{len(bad)} package(s) missing or too old: " + ", ".join(r["package"] for r in bad) + ".")
    lines = [head, "", "| package | needs | found | status |", "|---|---|---|---|"]
    for r in rows:
        status = "ok" if r["ok"] else f"**fix:** `{r['fix']}`"
        lines.append(f"| {r['package']} | >= {r['minimum']} | {r['found'] or 'missing'} | {status} |")
    return "\n".join(lines)
