# The two commands of the README: `make book` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := book

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The environment of everything make runs (TensorFlow's log level, the training cache
# beside the build) comes from its one home, tools/environment.py; what is set already wins.
$(foreach setting,$(shell $(PYTHON) -m tools.environment),$(eval export $(setting)))

.PHONY: book test clean chromium exercises bench

# uv installs what pip would from the same pinned files, in seconds instead of minutes.
# .venv is compiled at install, as pip does: where Python may not write bytecode
# (PYTHONDONTWRITEBYTECODE), every process would otherwise compile TensorFlow again, 10 s
# each. (The tests make Binder's fresh environment with uv too; tests/conftest.py says how.)
UV_VERSION = 0.13.9
PIP_VERSION = 26.3
UV_INSTALL := $(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY)

# The environment is made without pip (ensurepip takes 6 s). uv goes into it with the
# environment's own pip if it has one, else with this Python's (pip 22.3 or later installs
# into another environment), else with a pip ensurepip gives it. uv then installs pip too,
# for whoever uses .venv/bin/pip.
$(VENV)/.requirements: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV)
	@# (set -x: make shows the command of the branch taken)
	@if $(PY) -m pip --version >/dev/null 2>&1; then set -x; \
	  $(PY) -m pip install --quiet uv==$(UV_VERSION); \
	elif $(PYTHON) -m pip --python $(PY) --version >/dev/null 2>&1; then set -x; \
	  $(PYTHON) -m pip --python $(PY) install --quiet uv==$(UV_VERSION); \
	elif set -x; $(PY) -m ensurepip --default-pip >/dev/null; then \
	  $(PY) -m pip install --quiet uv==$(UV_VERSION); \
	else \
	  echo "No pip to install uv with: $(PYTHON) needs pip 22.3 or later, or ensurepip (Debian: apt-get install python3-venv)." >&2; exit 1; \
	fi
	$(UV_INSTALL) -r requirements.txt pip==$(PIP_VERSION)
	touch $@

$(VENV)/.test-requirements: $(VENV)/.requirements requirements-test.txt
	$(UV_INSTALL) -r requirements-test.txt
	touch $@

# jupyter-cache knows only the notebooks' text: when the library they import
# changes, forget the executed notebooks (trained models stay cached). The drawing
# pad's script, style and markup are in a notebook's output too.
LIBRARY_HASH = $(shell find mnist_course -name "*.py" -o -path "mnist_course/draw/*" \( -name "*.js" -o -name "*.css" -o -name "*.html" \) | sort | xargs cat | sha256sum | cut -c1-16)

## book: build the site into _build/html, executing every notebook (cached; one per core, then Sphinx), and the launch notebooks into _build/launch
book: $(VENV)/.requirements
	@mkdir -p _build
	@if [ "$$(cat _build/.library-hash 2>/dev/null)" != "$(LIBRARY_HASH)" ]; then \
	  rm -rf _build/.jupyter_cache _build/.doctrees; echo "$(LIBRARY_HASH)" > _build/.library-hash; fi
	@# One notebook per core, each with one core's share of threads; the two longest first so that neither starts last.
	$(PY) -m tools.execute_notebooks --first book/07_beyond.ipynb book/05_explorer.ipynb
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@# The chapters as plain Jupyter shows them (downloads, Binder, Colab): _build/launch.
	$(PY) -m tools.launch_notebooks

# Two pytest workers (this machine has 2 cores), whole files each, in tests/conftest.py's order: in make test
# one builds the book while the other runs the tests that need none (exercises, training, data).
TWO_WORKERS = -n 2 --dist loadfile --no-loadscope-reorder

## check: the fast tests (library, data, exercises, pages' sources): no book build, no training, no browser
.PHONY: check
check: $(VENV)/.test-requirements
	$(PY) -m pytest -m "not slow and not browser" $(TWO_WORKERS)

## test: install what the tests need and run them all (builds the book)
test: $(VENV)/.test-requirements chromium
	$(PY) -m pytest $(TWO_WORKERS)

# The browser tests drive Debian's Chromium, or the one the CHROMIUM variable names (as
# tools/browser.py reads it); install it when missing and we are root.
chromium:
	@command -v "$${CHROMIUM:-chromium}" >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium: install it (sudo apt-get install chromium) and run make test again." >&2; exit 1; \
	  fi; }

## exercises: regenerate the student notebooks and the autograder from exercises/source
exercises: $(VENV)/.requirements
	$(PY) -m exercises.build

## bench: time a clean build, a rebuild, training and the explorer widget; weigh the pages
bench: $(VENV)/.test-requirements chromium
	$(PY) -m bench.run

## clean: remove the built site, the execution cache and the training cache
clean:
	rm -rf _build
