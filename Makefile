# hookline: `make run` starts a demo server, `make test` runs lint and every test.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
SRC     = hookline

.PHONY: run test lint format migrate clean bench soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when the dependency list changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/hookline serve --demo

migrate: $(VENV)/.installed-run
	$(BIN)/hookline migrate

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check $(SRC) tests
	$(BIN)/ruff format --check $(SRC) tests
	$(BIN)/mypy --strict $(SRC) tests
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

# A benchmark, not a test (docs/benchmarks.md); e.g. make bench BENCH_ARGS=--quick
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The fault suite's long run (docs/faults.md): worker and API SIGKILLs through a burst
# of SOAK_EVENTS deliveries per backend (12 worker and 3 API kills); prints what was
# lost (must be 0), the duplicates and the throughput. E.g. make soak SOAK_EVENTS=10000
SOAK_EVENTS ?= 100000
soak: $(VENV)/.installed-dev
	HOOKLINE_SOAK=1 HOOKLINE_SOAK_EVENTS=$(SOAK_EVENTS) \
	  $(BIN)/python -m pytest -s -p no:cacheprovider tests/faults/test_kills.py

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix $(SRC) tests
	$(BIN)/ruff format $(SRC) tests

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
