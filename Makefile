# The two quick-start commands of the README:
#   make chat   installs what the chat needs into .venv and starts it on the built-in articles
#   make test   installs everything (test extras included) into .venv and runs the whole suite
# Everything lands in .venv; nothing is installed system-wide.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# llama-cpp-python compiles from source (about 7 minutes on 2 cores, cached by pip afterwards).
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# The torch build the [torch] extra uses: the CPU wheel. Installed first and on its own so that
# the extra's "torch>=2.4" is already met and pip never pulls a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: chat test install install-test chromium lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

install: $(PY)
	$(PIP) install --quiet -e ".[app]"

install-test: $(PY) chromium
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[test]"

# The chat's browser test drives Debian's chromium (Playwright never downloads a browser here).
# Installed with apt where it is missing and apt is there; elsewhere, install a chromium yourself.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || \
	  ( $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null )

chat: install
	$(PY) app.py

test: install-test
	$(PY) -m ruff check rag tests app.py
	$(PY) -m mypy
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
