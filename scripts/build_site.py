"""Build the course as a static HTML site, offline: build/site/index.html.

Every notebook is executed in a fresh kernel (as in the tests), its live widgets are replaced by
a line saying how to run them and by their static picture (animated over the steps where the
widget has a step control), and Sphinx with myst-nb renders the pages with MathJax shipped
locally. The landing page carries the README's course table and how to run the course.

Usage: python scripts/build_site.py [--out build/site] [--only 00,01]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
STATIC = re.compile(r'<details><summary>(.*?)</summary><img src="data:image/png;base64,([^"]+)"/></details>', re.S)
LIVE_NOTE = ("*A live widget stands here when the notebook runs in Jupyter (`make lab`): move its "
             "controls there. Below is its picture as the notebook left it.*")


def execute(src: Path, dst: Path) -> float:
    """Run a notebook top to bottom in a fresh kernel, swap live widgets for a note, save it; seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(src, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(src.parent)}}).execute()
    seconds = time.perf_counter() - start
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs = []
        for i, out in enumerate(cell.get("outputs", [])):
            data = out.get("data", {})
            html = data.get("text/html", "")
            picture = STATIC.search(html) if isinstance(html, str) else None
            if WIDGET_MIME in data:
                # a course widget is followed by its static picture: say how to run it live;
                # other widgets (progress bars, a live loss curve) just go
                later = cell.outputs[i + 1:]
                if any("image/png" in o.get("data", {}) and WIDGET_MIME not in o.get("data", {}) for o in later[:1]):
                    outs.append(nbformat.v4.new_output("display_data", data={"text/markdown": LIVE_NOTE}))
                continue
            if picture and "image/png" not in data:
                out = nbformat.v4.new_output("display_data", data={"image/png": picture.group(2)})
            outs.append(out)
        cell.outputs = outs
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, dst)
    return seconds


def landing_page() -> str:
    """index.md: what the course is, the course table from the README, how to run it, the contents."""
    readme = (ROOT / "README.md").read_text()
    intro = readme.split("## Quick start")[0].split("\n", 1)[1].strip()
    table = re.search(r"<!-- course-table:start -->\n(.*?)\n<!-- course-table:end -->", readme, re.S).group(1)
    table = table.replace("](notebooks/", "](")
    quick = readme.split("## Quick start", 1)[1].split("\n### ", 1)[0].strip()
    names = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    toc = "\n".join(names)
    return (f"# Unrolled\n\n{intro}\n\n## Run it yourself\n\n{quick}\n\n"
            "On these pages each widget is shown as a picture (animated over its steps where it has a step "
            "control); in Jupyter you move its controls and watch the state change.\n\n"
            f"## The course\n\n{table}\n\n```{{toctree}}\n:maxdepth: 1\n:caption: The course\n\n{toc}\n```\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "build" / "site"))
    ap.add_argument("--only", default="", help="comma-separated notebook numbers (a partial site, for trying)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    src = ROOT / "build" / "site-src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    shutil.copy(ROOT / "site" / "conf.py", src / "conf.py")
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        paths = [p for p in paths if p.name[:2] in set(args.only.split(","))]
    for p in paths:
        print(f"{p.name}: executed in {execute(p, src / p.name):.1f} s", flush=True)
    (src / "index.md").write_text(landing_page())
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "1", str(src), str(out)], check=True)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"site: {out}/index.html ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
