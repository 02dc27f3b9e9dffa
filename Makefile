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
# plotly.js for the dashboard's interactive plots: from npm, pinned by webfrontend/package-lock.json,
# copied into the app's static files so that Django serves it and `pip install .` ships it
# (never a CDN). Installing the project makes it (order-only: it does not force a re-install).
PLOTLY_JS := webfrontend/dashboard/static/dashboard/vendor/plotly.min.js

.PHONY: run test bench install clean help web webassets

help:
	@echo "make run    - reconstruct a simulated run with go.py (ARGS='--spill_count 20' to pass options)"
	@echo "make test   - run the whole test suite (PYTEST_ARGS='-k physics' to select)"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make web    - serve the dashboard of images/ on http://127.0.0.1:8000/ (MAUS_IMAGE_DIRECTORY=...)"
	@echo "make clean  - remove .venv and build leftovers"

$(VPY):
	$(PYTHON) -m venv $(VENV)

# Re-install whenever the package description changes.
$(RUN_STAMP): pyproject.toml setup.py | $(VPY) $(PLOTLY_JS)
	$(PIP) -e .
	@touch $@

$(TEST_STAMP): pyproject.toml setup.py | $(VPY) $(PLOTLY_JS)
	$(PIP) -e '.[test,root]'
	@touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

webassets: $(PLOTLY_JS)

$(PLOTLY_JS): webfrontend/package.json webfrontend/package-lock.json
	@command -v npm >/dev/null || { echo "make: npm (Node.js) is needed to install plotly.js for the dashboard: apt-get install npm" >&2; exit 1; }
	npm ci --prefix webfrontend --no-audit --no-fund --loglevel=error
	mkdir -p $(@D)
	cp webfrontend/node_modules/plotly.js-dist-min/LICENSE $(@D)/plotly.LICENSE
	gzip -9 -c webfrontend/node_modules/plotly.js-dist-min/plotly.min.js > $@.gz
	cp webfrontend/node_modules/plotly.js-dist-min/plotly.min.js $@.tmp && mv $@.tmp $@

# The dashboard on 127.0.0.1 only, DEBUG off as in production; a secret key is made for the
# session unless MAUS_WEB_SECRET_KEY is set (nothing is signed that must outlive the server).
web: $(RUN_STAMP)
	@echo "MAUS Online dashboard: http://127.0.0.1:8000/ (plots from $${MAUS_IMAGE_DIRECTORY:-images}/)"
	MAUS_WEB_SECRET_KEY="$${MAUS_WEB_SECRET_KEY:-$$($(VPY) -c 'import secrets; print(secrets.token_urlsafe(50))')}" \
	  $(VPY) webfrontend/manage.py runserver 127.0.0.1:8000

run: $(RUN_STAMP)
	$(VPY) go.py $(ARGS)

test: $(TEST_STAMP)
	$(VPY) -m pytest $(PYTEST_ARGS)

bench: $(TEST_STAMP)
	$(VPY) bench/bench_chain.py
	$(VPY) bench/bench_reducers.py
	$(VPY) bench/bench_workers.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache webfrontend/node_modules webfrontend/dashboard/static/dashboard/vendor
