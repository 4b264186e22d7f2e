# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: demo test lint fuzz bench goldens clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[local]'
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/python -m ncap_iac.demo pipelines

test: $(STAMP_TEST) lint
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q

lint: $(STAMP_TEST)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	cd lambda_repo && $(abspath $(BIN))/mypy --config-file $(abspath pyproject.toml) --explicit-package-bases .

# Property-based tests with random seeds and NCAP_FUZZ_FACTOR times the examples (make test runs
# them derandomized). Turn each failure found into an @example of its test.
fuzz: $(STAMP_TEST)
	NCAP_FUZZ=1 NCAP_FUZZ_FACTOR=$${NCAP_FUZZ_FACTOR:-20} $(BIN)/python -m pytest -q -m property

bench: $(STAMP_TEST)
	$(BIN)/python benchmarks/compile.py
	$(BIN)/python benchmarks/submit.py
	$(BIN)/python benchmarks/emulator.py
	$(BIN)/python benchmarks/worker.py
	$(BIN)/python benchmarks/local_cloud.py
	$(BIN)/python benchmarks/local_scale.py

goldens: $(STAMP_RUN)
	$(BIN)/python tests/goldens/regenerate.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
