# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
# checkov pins boto3, packaging and networkx below the versions the project installs, so it gets a
# venv of its own (tests/template/test_checkov.py runs it from there). A new version reinstalls it.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV    := .venv-checkov
STAMP_CHECKOV   := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

.PHONY: demo test lint checkov shellcheck chromium portal fuzz bench goldens docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[local]'
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

$(STAMP_CHECKOV):
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

checkov: $(STAMP_CHECKOV)

# shellcheck reads the user data and the image setup scripts the templates carry: Debian's package.
SHELLCHECK := $(shell command -v shellcheck 2>/dev/null)
shellcheck:
ifeq ($(SHELLCHECK),)
	@command -v apt-get >/dev/null || { echo "install shellcheck (Debian: apt-get install shellcheck)"; exit 1; }
	apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null
endif

# The lab portal's browser tests drive Debian's Chromium (Playwright's own download cannot work here).
CHROMIUM := $(shell command -v chromium 2>/dev/null)
chromium:
ifeq ($(CHROMIUM),)
	@command -v apt-get >/dev/null || { echo "install chromium (Debian: apt-get install chromium)"; exit 1; }
	apt-get update -qq && apt-get install -y -qq chromium >/dev/null
endif

# The portal's build tools and axe-core (its accessibility check), pinned by portal/package-lock.json;
# the built portal is committed in src/ncap_iac/portal (tests check it is what the sources build to).
PORTAL_STAMP := portal/node_modules/.installed
$(PORTAL_STAMP): portal/package-lock.json
	cd portal && npm ci --no-audit --no-fund --loglevel=error
	touch $@

portal: $(PORTAL_STAMP)
	cd portal && node build.mjs

demo: $(STAMP_RUN)
	$(BIN)/python -m ncap_iac.demo pipelines

test: $(STAMP_TEST) $(STAMP_CHECKOV) shellcheck chromium $(PORTAL_STAMP) lint
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=25

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
	$(BIN)/python benchmarks/worker_boot.py
	$(BIN)/python benchmarks/local_cloud.py
	$(BIN)/python benchmarks/local_scale.py
	$(BIN)/python benchmarks/stages.py
	$(BIN)/python benchmarks/scaling.py
	$(BIN)/python benchmarks/warm_pool.py

# The documentation site in site/: the references written from the schema and the parsers, then
# mkdocs (make test checks both: tests/test_docs.py).
docs: $(STAMP_TEST)
	$(BIN)/python docs/generate.py
	$(BIN)/mkdocs build --strict

goldens: $(STAMP_RUN)
	$(BIN)/python tests/goldens/regenerate.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .hypothesis site portal/node_modules
