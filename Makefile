# Unrolled: every command a learner or CI needs. Python 3.11+ and make; nothing else.
#   make lab    set up (first time) and open the course in JupyterLab
#   make test   set up (first time) and run every test, the real-browser test included
#   make bench  measure notebook times, widget latency and headline results
#   make site   build the course as a static HTML site, offline (build/site/index.html)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.unrolled-installed
# CPU build of torch: on the course's machines this pin installs from a local wheel.
# Elsewhere see README, "CPU torch".
TORCH  ?= torch==2.13.0
CHROMIUM ?= /usr/bin/chromium

.PHONY: setup lab test test-fast browser bench strip clean site site-test

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Unrolled needs Python 3.11 or newer: run make PYTHON=python3.11 ...")'
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
