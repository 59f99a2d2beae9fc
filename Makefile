# Two entry points: `make run` (set-up + default workflow) and `make test` (set-up + test suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.sgdspectra-installed
TSTAMP := $(VENV)/.sgdspectra-test-installed
BSTAMP := $(VENV)/.sgdspectra-bench-installed
CORES  ?= all

.PHONY: run test bench bench-quick report lock clean help

help:
	@echo "make run    - create .venv, install pinned dependencies, run the default workflow"
	@echo "              and write its HTML report, results/report.html (make report: the report alone)"
	@echo "make test   - create .venv, install pinned dependencies, run the whole test suite"
	@echo "make bench  - also install benchmarks/requirements.txt, run every benchmark, write benchmarks/RESULTS.md"
	@echo "make bench-quick - the same with small sizes (checks the scripts; writes a scratch file)"
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
	$(MAKE) report

# The HTML report of the finished default run (results/report.html, one self-contained file).
report: $(STAMP)
	$(BIN)/snakemake --configfile config.yaml --report results/report.html --report-stylesheet workflow/report/report.css

test: $(TSTAMP)
	$(BIN)/python -m pytest

# Benchmark-only dependencies (powerlaw, weightwatcher): constrained by the lock, so that no
# locked package (torch in particular) changes.
$(BSTAMP): $(STAMP) benchmarks/requirements.txt envs/requirements.lock
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt -c envs/requirements.lock
	touch $(BSTAMP)

bench: $(BSTAMP)
	$(BIN)/python benchmarks/run_all.py

bench-quick: $(BSTAMP)
	$(BIN)/python benchmarks/run_all.py --quick

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu$$//' > envs/requirements.lock.new
	mv envs/requirements.lock.new envs/requirements.lock

clean:
	rm -rf results .snakemake
