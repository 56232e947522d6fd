# Two commands do all the set-up on a fresh machine:
#   make serve   run seedgate with embedded defaults (SQLite + local files + preview engine) on 127.0.0.1:8000
#   make test    install everything into .venv and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test test-all lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

serve: $(STAMP)
	SEEDGATE_API_KEY=$${SEEDGATE_API_KEY:-sk-seedgate-local} $(BIN)/seedgate serve $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check seedgate tests bench
	$(BIN)/pytest -q $(ARGS)

# Everything, slow suites included (what .ci/run does).
test-all: $(STAMP)
	$(BIN)/ruff check seedgate tests bench
	$(BIN)/pytest -q -m "" $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check seedgate tests bench

bench: $(STAMP)
	$(BIN)/python bench/api_bench.py
	$(BIN)/python bench/preview_bench.py

clean:
	rm -rf $(VENV) data .pytest_cache
