# The two commands of the README: `make run` and `make test`. Each sets itself up on a fresh
# machine: it creates .venv when missing and installs the project (editable) with its extras.

PYTHON ?= python3
VENV   ?= .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.maus-installed

.PHONY: run test bench install clean help

help:
	@echo "make run    - reconstruct a simulated run with go.py (ARGS='--spill_count 20' to pass options)"
	@echo "make test   - run the whole test suite (PYTEST_ARGS='-k physics' to select)"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make clean  - remove .venv and build leftovers"

# Re-install whenever the package description changes.
$(STAMP): pyproject.toml setup.py
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VPY) go.py $(ARGS)

test: $(STAMP)
	$(VPY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(VPY) bench/bench_chain.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
