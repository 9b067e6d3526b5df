# Unrolled: every command a learner or CI needs. Python 3.11+ and make; nothing else.
#   make lab    set up (first time) and open the course in JupyterLab
#   make test   set up (first time) and run every test, the real-browser test included
#   make test-min  every dependency at exactly its declared floor (.venv-min): unit, widget, notebook tests
#   make bench  measure notebook times, widget latency and headline results
#   make site   build the course as a static HTML site, offline (build/site/index.html)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.unrolled-installed
VENV_MIN  ?= .venv-min
PY_MIN    := $(VENV_MIN)/bin/python
STAMP_MIN := $(VENV_MIN)/.unrolled-min-installed
PYCHECK   := @$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Unrolled needs Python 3.11 or newer: run make PYTHON=python3.11 ...")'
# CPU build of torch: on the course's machines this pin installs from a local wheel.
# Elsewhere see README, "CPU torch".
TORCH  ?= torch==2.13.0
CHROMIUM ?= /usr/bin/chromium

.PHONY: setup lab test test-fast test-min browser bench strip clean site site-test

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYCHECK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $$([ "$$(id -u)" = "0" ] && echo --allow-root) notebooks/00_start_here.ipynb

# The browser test needs Debian's Chromium; as root we install it, otherwise we say how.
browser:
	@if [ -x "$(CHROMIUM)" ]; then echo "chromium: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "chromium not found: install it (Debian/Ubuntu: sudo apt-get install chromium)"; \
	  echo "or set CHROMIUM=/path/to/chromium; the browser test is skipped without it"; fi

test: $(STAMP) browser
	CHROMIUM=$(CHROMIUM) $(PY) -m pytest -m "not site"

# unit and widget tests only (seconds): no notebook execution, no browser
test-fast: $(STAMP)
	$(PY) -m pytest -m "not notebook and not browser and not claims and not site"

# The declared floors, proven: a separate venv with every dependency of pyproject.toml (test
# extras too) pinned at exactly its ">=" floor by scripts/min_requirements.py, torch at $(TORCH)
# (an exact pin). Runs the unit, widget and notebook tests: not the browser test, the claims
# suite or the static site (its extra is a tool for publishing, not needed to follow the course).
$(STAMP_MIN): pyproject.toml scripts/min_requirements.py
	$(PYCHECK)
	@test ! -e $(VENV_MIN) -o -f $(VENV_MIN)/pyvenv.cfg || { echo "$(VENV_MIN) is not a venv: not clearing it"; exit 1; }
	$(PYTHON) -m venv --clear $(VENV_MIN)   # new each time the floors change: nothing left from before
	$(PYTHON) scripts/min_requirements.py --torch "$(TORCH)" > $(VENV_MIN)/requirements-min.txt
	$(PY_MIN) -m pip install --quiet -r $(VENV_MIN)/requirements-min.txt -e ".[test]"
	touch $(STAMP_MIN)

test-min: $(STAMP_MIN)
	$(PY_MIN) scripts/min_requirements.py --torch "$(TORCH)" --check
	$(PY_MIN) -m pytest -m "not browser and not claims and not site"

bench: $(STAMP)
	$(PY) scripts/bench.py

# strip outputs and widget state from every notebook, keep kernelspec
strip: $(STAMP)
	$(PY) scripts/strip_notebooks.py notebooks/*.ipynb

clean:
	rm -rf build .pytest_cache

# the static site: its own extra (Sphinx, myst-nb, the book theme, MathJax shipped locally)
SITE_STAMP := $(VENV)/.unrolled-site-installed

$(SITE_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[test,site]"
	touch $(SITE_STAMP)

site: $(SITE_STAMP)
	$(PY) scripts/build_site.py

# builds the site and opens every page in Chromium, all non-local requests blocked
site-test: $(SITE_STAMP) browser
	CHROMIUM=$(CHROMIUM) $(PY) -m pytest -m site
