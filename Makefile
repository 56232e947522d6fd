# Two commands do all the set-up on a fresh machine:
#   make serve   install the runtime into .venv and run seedgate with embedded defaults (SQLite + local files +
#                preview engine) on 127.0.0.1:8000; another port: make serve ARGS="--port 8080"
#   make test    install the test tools too, run `make check` and the fast test lane (unit tests, a real SQLite
#                store in a temporary directory, one smoke server; a few minutes on two cores)
#   make test-all  everything: every real-process suite on SQLite and PostgreSQL (what .ci/run runs)
# The `seedgate` command lands in .venv/bin/seedgate.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed
GPU_STAMP := $(VENV)/.installed-gpu

.PHONY: serve test test-all check format test-gpu gpu-deps gpu-wheels lint bench bench-gpu browser node clean

# The runtime alone: what `make serve` needs (the test extra adds SDKs, pytest, ruff and playwright).
$(RUNTIME_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The `gpu` extra for the local diffusers engine. CPU torch first: installing diffusers before torch would pull the
# multi-GB CUDA build. On a GPU machine, install the CUDA torch you want instead and then `pip install -e '.[gpu]'`.
$(GPU_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,gpu]'
	touch $(GPU_STAMP)

gpu-deps: $(GPU_STAMP)

serve: $(RUNTIME_STAMP)
	SEEDGATE_API_KEY=$${SEEDGATE_API_KEY:-sk-seedgate-local} $(BIN)/seedgate serve $(ARGS)

# The fast lane: what is not marked slow or e2e (tests/conftest.py marks the suites that start processes and
# every PostgreSQL run e2e; a new test file is fast unless listed there).
FAST := not slow and not e2e
test: check
	$(BIN)/pytest -q -m "$(FAST)" $(ARGS)

# Debian's Chromium for the console's browser tests (Playwright drives it; it never downloads a browser itself).
browser:
	test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

# Debian's node and npm for the `openai` npm package tests (tests/node; the test fixture runs `npm ci` there).
node:
	command -v node >/dev/null && command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)

# Everything, slow and e2e suites included, on SQLite and PostgreSQL (what .ci/run does).
test-all: check browser node
	$(BIN)/pytest -q -m "" $(ARGS)

# The local engine's tests alone (tiny random pipelines on CPU; no downloads).
test-gpu: $(GPU_STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q -m gpu_engine $(ARGS)

# Lint, formatting and types (mypy: strict on core/ and client/, default elsewhere; pyproject.toml).
CHECKED := seedgate tests bench tools
check: $(STAMP)
	$(BIN)/ruff check $(CHECKED)
	$(BIN)/ruff format --check $(CHECKED)
	$(BIN)/mypy

# Rewrite the tree in the formatter's style and apply ruff's safe fixes.
format: $(STAMP)
	$(BIN)/ruff format $(CHECKED)
	$(BIN)/ruff check --fix $(CHECKED)

lint: check

bench: $(STAMP)
	$(BIN)/python bench/api_bench.py
	$(BIN)/python bench/preview_bench.py

# CPU smoke of the GPU benchmark (tiny configs); on a GPU machine run bench/gpu_engine.py without --tiny.
bench-gpu: $(GPU_STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python bench/gpu_engine.py --tiny --steps 2

# For a GPU machine with CUDA torch and transformers but no package registry: the other wheels the benchmark needs,
# saved to .whl/ (ignored by git) to carry there. docs/benchmarks.md shows the install and the run.
GPU_WHEELS := diffusers==0.42.1 importlib_metadata==10.2.0 ftfy==6.3.1 wcwidth==0.9.4 av==18.1.0
gpu-wheels: $(STAMP)
	$(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
		-d .whl $(GPU_WHEELS)

clean:
	rm -rf $(VENV) data .pytest_cache
