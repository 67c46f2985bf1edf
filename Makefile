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

.PHONY: chat test install install-test lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

install: $(PY)
	$(PIP) install --quiet -e ".[app]"

install-test: $(PY)
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[test]"

chat: install
	$(PY) app.py

test: install-test
	$(PY) -m ruff check rag tests app.py
	$(PY) -m mypy
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
