"""Headline results: shown in the notebook, and recorded for the benchmark when asked.

When the environment variable UNROLLED_RESULTS names a JSON file (the benchmark sets
it), every headline is also written there, so the README's figures come from the
notebooks' own runs.
"""
from __future__ import annotations

import json
import os
from pathlib import Path


def headline(key: str, value: float, label: str, fmt: str = "{:.3f}") -> None:
    """Show 'label: value' in bold and record (key, value) if UNROLLED_RESULTS is set."""
    from IPython.display import Markdown, display

    display(Markdown(f"**{label}: {fmt.format(value)}**"))
    path = os.environ.get("UNROLLED_RESULTS")
    if path:
        p = Path(path)
        data = json.loads(p.read_text()) if p.exists() else {}
        data[key] = {"value": float(value), "label": label, "text": fmt.format(value)}
        p.write_text(json.dumps(data, indent=1, sort_keys=True))
