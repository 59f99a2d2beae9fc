# Two entry points: `make run` (set-up + default workflow) and `make test` (set-up + test suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.sgdspectra-installed
TSTAMP := $(VENV)/.sgdspectra-test-installed
CORES  ?= all

.PHONY: run test report lock clean help

help:
	@echo "make run    - create .venv, install pinned dependencies, run the default workflow"
	@echo "make test   - create .venv, install pinned dependencies, run the whole test suite"
	@echo "make clean  - remove results/ and .snakemake/ (keeps .venv)"

$(STAMP): envs/requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r envs/requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(TSTAMP): $(STAMP) envs/test-extra.txt
	$(BIN)/python -m pip install --quiet -r envs/test-extra.txt
	touch $(TSTAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) --configfile config.yaml
	$(BIN)/snakemake --configfile config.yaml --report results/report.html

test: $(TSTAMP)
	$(BIN)/python -m pytest

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu$$//' > envs/requirements.lock.new
	mv envs/requirements.lock.new envs/requirements.lock

clean:
	rm -rf results .snakemake
