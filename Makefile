# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: demo test bench goldens clean

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

test: $(STAMP_TEST)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q

bench: $(STAMP_TEST)
	$(BIN)/python benchmarks/compile.py
	$(BIN)/python benchmarks/submit.py
	$(BIN)/python benchmarks/emulator.py
	$(BIN)/python benchmarks/worker.py
	$(BIN)/python benchmarks/local_cloud.py

goldens: $(STAMP_RUN)
	$(BIN)/python tests/goldens/regenerate.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
