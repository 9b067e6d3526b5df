"""The project's own files: dependencies agree, commands are wired, helpers imports cleanly."""
import re
import subprocess
import sys
import tomllib

import yaml

from conftest import ROOT

CONDA_NAMES = {"pytorch": "torch"}


def _name(spec):
    return re.split(r"[<>=!~ ]", spec.strip(), maxsplit=1)[0].lower()


def _ranges(specs):
    return {_name(s): s.replace(" ", "")[len(_name(s)):] for s in specs}


def test_pyproject_and_environment_yml_agree():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _ranges(py["dependencies"] + py["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    conda = [d for d in env if isinstance(d, str)]
    pip = [p for d in env if isinstance(d, dict) for p in d.get("pip", [])]
    have = {CONDA_NAMES.get(k, k): v for k, v in _ranges(conda + pip).items() if k not in ("python", "pip")}
    assert have == wanted


def test_envcheck_lists_the_same_packages_as_pyproject():
    from helpers import envcheck

    deps = _ranges(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    assert {k: ">=" + v for k, v in envcheck.REQUIRED.items()} == deps


def test_envcheck_names_a_missing_package_and_its_fix():
    from helpers import envcheck

    rows = envcheck.check({"numpy": "1.0", "surely-not-installed-pkg": "1.0", "torch": "99"})
    assert rows[0]["ok"] and not rows[1]["ok"] and rows[1]["found"] is None
    assert "pip install 'surely-not-installed-pkg>=1.0'" in rows[1]["fix"]
    assert not rows[2]["ok"] and "torch==2.13.0" in rows[2]["fix"]
    assert "missing or too old" in envcheck.report(rows)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and re.search(r"^make test$", ci, re.M)
    assert "torch==2.13.0" in (ROOT / "Makefile").read_text()


def test_importing_helpers_has_no_side_effects():
    code = ("import sys, matplotlib; before = dict(matplotlib.rcParams); "
            "import helpers, helpers.live, helpers.onestep, helpers.numbers, helpers.training; "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "assert dict(matplotlib.rcParams) == before, 'rcParams changed'; "
            "import matplotlib.pyplot as plt; assert not plt.get_fignums(), 'a figure was opened'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
