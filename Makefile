# The two commands of the README: `make run` and `make test`. Each sets itself up on a fresh
# machine: it creates .venv when missing and installs the project (editable). `make test`
# adds the test extras and real PyROOT (the `root` extra, ~250 MB to download once), so the
# ROOT reducers are tested for real; `make run` does not need ROOT.

PYTHON ?= python3
VENV   ?= .venv
VPY    := $(VENV)/bin/python
RUN_STAMP  := $(VENV)/.maus-installed-run
TEST_STAMP := $(VENV)/.maus-installed-test
PIP := $(VPY) -m pip install --quiet --disable-pip-version-check

.PHONY: run test bench install clean help

help:
	@echo "make run    - reconstruct a simulated run with go.py (ARGS='--spill_count 20' to pass options)"
	@echo "make test   - run the whole test suite (PYTEST_ARGS='-k physics' to select)"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make clean  - remove .venv and build leftovers"

$(VPY):
	$(PYTHON) -m venv $(VENV)

# Re-install whenever the package description changes.
$(RUN_STAMP): pyproject.toml setup.py | $(VPY)
	$(PIP) -e .
	@touch $@

$(TEST_STAMP): pyproject.toml setup.py | $(VPY)
	$(PIP) -e '.[test,root]'
	@touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

run: $(RUN_STAMP)
	$(VPY) go.py $(ARGS)

test: $(TEST_STAMP)
	$(VPY) -m pytest $(PYTEST_ARGS)

bench: $(TEST_STAMP)
	$(VPY) bench/bench_chain.py
	$(VPY) bench/bench_reducers.py
	$(VPY) bench/bench_workers.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
