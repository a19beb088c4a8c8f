# The two set-up commands of the README. Each creates .venv from pyproject.toml if needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: reproduce test bench lint format env

$(BIN)/snakemake: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(BIN)/snakemake

env: $(BIN)/snakemake

## Full reproduction on the embedded default data (config/config.yaml).
reproduce: env
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --cores $(CORES) --report results/report.html

## The test suite (what .ci/run calls); the workflow is linted on the defaults and on the test
## config the end-to-end tests run (.test/config/tiny.yaml). pytest exit code 5 (no tests collected) is a failure here:
## a suite that ran nothing must not pass.
test: env lint
	$(BIN)/pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; exit $$rc

bench: env
	$(BIN)/python benchmarks/run_all.py

lint: env
	$(BIN)/ruff check src workflow/scripts tests benchmarks tools
	$(BIN)/ruff format --check src workflow/scripts tests benchmarks tools
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint --cores 1
	$(BIN)/snakemake --lint --cores 1 --configfile .test/config/tiny.yaml

## Apply the two formatters (ruff format for Python, snakefmt for Snakefiles) to the whole tree.
format: env
	$(BIN)/ruff format src workflow/scripts tests benchmarks tools
	$(BIN)/snakefmt Snakefile workflow
