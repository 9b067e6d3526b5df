"""The lowest versions the course declares, as exact pins, read from pyproject.toml.

Every dependency (and every test extra) is pinned at its ">=" floor, so `make test-min` runs
the tests on exactly what pyproject.toml promises. torch is pinned at the exact CPU build the
Makefile installs (its TORCH), never at a looser range.

Usage:
  python scripts/min_requirements.py [--torch torch==2.13.0]   print the pins, one a line
  python scripts/min_requirements.py --check [--torch ...]     check this Python's installed
                                                                versions equal the pins
Needs Python 3.11+ (tomllib) and nothing else.
"""
from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<extras>\[[^\]]*\])?\s*"
                  r"(?P<ranges>[^;]*?)\s*(?P<marker>;.*)?$")


def normalize(name: str) -> str:
    """A distribution name as pip compares them (PEP 503): lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def floor_pin(spec: str) -> str:
    """'numpy>=1.26' -> 'numpy==1.26' (extras and markers kept); a spec without a floor raises."""
    m = SPEC.match(spec)
    if not m:
        raise ValueError(f"cannot read the requirement {spec!r}")
    floors = [r.strip()[2:].strip() for r in m["ranges"].split(",") if r.strip().startswith(">=")]
    if len(floors) != 1:
        raise ValueError(f"{spec!r}: every dependency needs exactly one '>=' floor for test-min")
    return f"{m['name']}{m['extras'] or ''}=={floors[0]}{(' ' + m['marker']) if m['marker'] else ''}"


def torch_pin(torch: str) -> str:
    """The Makefile's TORCH, checked to be one exact version ('torch==2.13.0')."""
    if not re.fullmatch(r"torch==[0-9][0-9A-Za-z.+]*", torch.strip()):
        raise ValueError(f"test-min needs an exact torch pin such as torch==2.13.0, not {torch!r}")
    return torch.strip()


def makefile_torch() -> str:
    """The TORCH default set in the Makefile."""
    m = re.search(r"^TORCH\s*\?=\s*(\S+)\s*$", (ROOT / "Makefile").read_text(), re.M)
    if not m:
        raise ValueError("no 'TORCH ?= torch==X' line in the Makefile")
    return m.group(1)


def pins(pyproject: str, torch: str) -> list[str]:
    """Exact pins for the dependencies and test extras of a pyproject.toml text, in its order."""
    project = tomllib.loads(pyproject)["project"]
    specs = project["dependencies"] + project.get("optional-dependencies", {}).get("test", [])
    out = []
    for spec in specs:
        name = normalize(SPEC.match(spec)["name"]) if SPEC.match(spec) else ""
        if name == "torch":
            pin = torch_pin(torch)
            if _release(pin.split("==")[1]) < _release(floor_pin(spec).split("==")[1].split(";")[0].strip()):
                raise ValueError(f"{pin} is below the torch floor in pyproject.toml ({spec})")
            out.append(pin)
        else:
            out.append(floor_pin(spec))
    return out


def _release(version: str) -> tuple[int, ...]:
    """'1.26' -> (1, 26); '2.13.0+cpu' -> (2, 13); trailing zeros dropped, so 10 == 10.0.0."""
    parts = []
    for p in version.split("+")[0].split("."):
        if not p.isdigit():
            break
        parts.append(int(p))
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def check(required: list[str]) -> list[str]:
    """Problems (empty if none): each pinned package installed at exactly its pinned version."""
    import importlib.metadata as md

    problems = []
    for pin in required:
        name, version = pin.split(";")[0].split("==")
        name = re.sub(r"\[.*\]", "", name)
        try:
            found = md.version(name)
        except md.PackageNotFoundError:
            problems.append(f"{name}: not installed (wanted {version})")
            continue
        public = found.split("+")[0]  # 2.13.0+cpu is torch 2.13.0
        if not re.fullmatch(r"[0-9.]+", public) or _release(public) != _release(version):
            problems.append(f"{name}: {found} installed, the floor is {version}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--torch", default=None, help="the exact torch pin (default: the Makefile's TORCH)")
    ap.add_argument("--check", action="store_true", help="check the installed versions instead of printing")
    args = ap.parse_args()
    try:
        required = pins((ROOT / "pyproject.toml").read_text(), args.torch or makefile_torch())
    except ValueError as e:
        print(f"min_requirements: {e}", file=sys.stderr)
        return 2
    if not args.check:
        print("\n".join(required))
        return 0
    floor = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    problems = check(required)
    if problems:
        print("Not at the declared floors:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"Python {sys.version.split()[0]} (requires-python {floor}); all {len(required)} dependencies at "
          "their floors: " + ", ".join(p.split(";")[0] for p in required))
    return 0


if __name__ == "__main__":
    sys.exit(main())
