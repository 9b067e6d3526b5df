"""The project's own files: dependencies agree, commands are wired, floors are pinned, licence and
citation are there, helpers imports cleanly."""
import datetime as dt
import importlib.util
import re
import subprocess
import sys
import tomllib

import pytest
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


def test_ci_runs_the_readme_test_command_then_the_floors():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test-min" in readme and "make site-test" in readme
    commands = re.findall(r"^make [\w-]+$", ci, re.M)
    assert commands == ["make test", "make test-min", "make site-test"], commands
    assert re.search(r"^set -euo pipefail$", ci, re.M), "a failing make must fail CI"
    assert "torch==2.13.0" in (ROOT / "Makefile").read_text()


def _min_requirements():
    spec = importlib.util.spec_from_file_location("min_requirements", ROOT / "scripts" / "min_requirements.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_min_requirements_pin_every_dependency_at_its_floor():
    mr = _min_requirements()
    text = (ROOT / "pyproject.toml").read_text()
    py = tomllib.loads(text)["project"]
    declared = _ranges(py["dependencies"] + py["optional-dependencies"]["test"])
    pins = mr.pins(text, mr.makefile_torch())
    got = {_name(p): p.split("==")[1] for p in pins}
    assert set(got) == set(declared)
    for name, rng in declared.items():
        assert got[name] == ("2.13.0" if name == "torch" else rng.removeprefix(">=")), (name, rng)


def test_min_requirements_refuse_what_they_cannot_prove():
    mr = _min_requirements()
    toml = '[project]\ndependencies = [{}]\n'
    assert mr.pins(toml.format('"foo[x] >= 1.2, <2", "torch>=2.2"'), "torch==2.13.0") == ["foo[x]==1.2", "torch==2.13.0"]
    for deps, torch in (('"bar"', "torch==2.13.0"), ('"bar<2"', "torch==2.13.0"),
                        ('"torch>=2.2"', "torch --index-url https://example.org/cpu"),
                        ('"torch>=2.2"', "torch>=2.2"), ('"torch>=2.5"', "torch==2.4.1")):
        with pytest.raises(ValueError):
            mr.pins(toml.format(deps), torch)


def test_min_requirements_check_finds_a_version_off_its_floor():
    import importlib.metadata as md

    mr = _min_requirements()
    have = md.version("nbformat")
    assert mr.check([f"nbformat=={have}"]) == []
    assert mr.check(["nbformat==0.1"]) == [f"nbformat: {have} installed, the floor is 0.1"]
    assert "not installed" in mr.check(["surely-not-installed-pkg==1.0"])[0]


def test_makefile_test_min_installs_the_pins_and_runs_the_tests():
    make = (ROOT / "Makefile").read_text()
    assert re.search(r"^test-min:", make, re.M) and ".venv-min" in make
    assert "scripts/min_requirements.py --torch \"$(TORCH)\" >" in make
    assert "min_requirements.py --torch \"$(TORCH)\" --check" in make
    assert '-m pytest -m "not browser and not claims and not site"' in make
    assert ".venv-min/" in (ROOT / ".gitignore").read_text().splitlines()


def test_readme_lists_the_floors_test_min_proves():
    mr = _min_requirements()
    readme = (ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines() if "`make test-min`:" in line)
    for pin in mr.pins((ROOT / "pyproject.toml").read_text(), mr.makefile_torch()):
        name, version = pin.split("==")
        if name != "torch":
            assert f"{name} {version}" in row, f"README's test-min row does not name {name} {version}"
    assert "torch 2.13.0" not in row and "| 2.13.0, CPU build" in readme


def test_license_and_citation():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lic = (ROOT / "LICENSE").read_text()
    assert py["license"] == {"text": "MIT"}
    assert lic.startswith("MIT License") and "Copyright (c) 2026 The Unrolled authors" in lic
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version", "license", "date-released"):
        assert cff.get(key), f"CITATION.cff has no {key}"
    assert cff["version"] == py["version"] and cff["license"] == "MIT"
    assert cff["authors"] == [{"name": "The Unrolled authors"}]
    dt.date.fromisoformat(str(cff["date-released"]))


def test_importing_helpers_has_no_side_effects():
    code = ("import sys, matplotlib; before = dict(matplotlib.rcParams); "
            "import helpers, helpers.live, helpers.onestep, helpers.numbers, helpers.training; "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "assert dict(matplotlib.rcParams) == before, 'rcParams changed'; "
            "import matplotlib.pyplot as plt; assert not plt.get_fignums(), 'a figure was opened'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
