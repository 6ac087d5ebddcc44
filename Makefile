# The two commands of the README: `make study` and `make test`. Each sets up what
# is missing (the .venv with pinned packages, Debian's TeX), then runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
ACTIVATE := source $(VENV)/bin/activate
CORES ?= $(shell nproc)

export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0

.PHONY: setup system-deps study test lint format bench clean

setup: $(STAMP) system-deps

# Rebuilt only when the pins or the package metadata change.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -qq --upgrade pip
	$(VENV)/bin/pip install -qq -r requirements.lock
	$(VENV)/bin/pip install -qq --no-deps -e .
	touch $@

system-deps:
	@bash scripts/install_system_deps.sh

study: setup
	$(ACTIVATE) && snakemake --cores $(CORES)

test: setup
	$(ACTIVATE) && pytest

lint: setup
	$(ACTIVATE) && snakemake --lint && snakefmt --check Snakefile workflow/rules

format: setup
	$(ACTIVATE) && snakefmt Snakefile workflow/rules

bench: setup
	$(ACTIVATE) && python bench/packing.py

clean:
	rm -rf results logs paper/build paper/generated .snakemake
