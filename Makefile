# The two commands of the README: `make run` and `make test`. Each sets itself up on a fresh
# machine: it creates .venv when missing and installs the project (editable). `make test`
# adds the test extras and real PyROOT (the `root` extra, ~250 MB to download once), so the
# ROOT reducers are tested for real; `make run` does not need ROOT.

PYTHON ?= python3
VENV   ?= .venv
VPY    := $(VENV)/bin/python
RUN_STAMP  := $(VENV)/.maus-installed-run
TEST_STAMP := $(VENV)/.maus-installed-test
DOCS_STAMP := $(VENV)/.maus-installed-docs
PIP := $(VPY) -m pip install --quiet --disable-pip-version-check
# plotly.js for the dashboard's interactive plots: from npm, pinned by webfrontend/package-lock.json,
# copied into the app's static files so that Django serves it and `pip install .` ships it
# (never a CDN). Installing the project makes it (order-only: it does not force a re-install).
PLOTLY_JS := webfrontend/dashboard/static/dashboard/vendor/plotly.min.js
# pouchdb-server, the CouchDB-protocol server of the document-store tests, from npm, pinned by
# tests/couchdb/package-lock.json. --ignore-scripts: leveldown loads the prebuilt binary shipped
# in its package instead of compiling one.
COUCHDB_TEST_SERVER := tests/couchdb/node_modules/.maus-installed

.PHONY: run test bench install clean help web webassets test-deps docs

help:
	@echo "make run    - a simulated live beam (go.py) and its dashboard on http://127.0.0.1:8000/; Ctrl-C stops both (ARGS='--spill_interval 2' for go.py)"
	@echo "make test   - run the whole test suite (PYTEST_ARGS='-k physics' to select)"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make web    - serve the dashboard of images/ on http://127.0.0.1:8000/ (MAUS_IMAGE_DIRECTORY=...)"
	@echo "make docs   - build the documentation into site/ (mkdocs build --strict: a warning is an error)"
	@echo "make clean  - remove .venv and build leftovers"

$(VPY):
	$(PYTHON) -m venv $(VENV)

# Re-install whenever the package description changes.
$(RUN_STAMP): pyproject.toml setup.py | $(VPY) $(PLOTLY_JS)
	$(PIP) -e .
	@touch $@

$(TEST_STAMP): pyproject.toml setup.py | $(VPY) $(PLOTLY_JS) $(COUCHDB_TEST_SERVER)
	$(PIP) -e '.[test,root]'
	@touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

$(DOCS_STAMP): pyproject.toml setup.py | $(VPY)
	$(PIP) -e '.[docs]'
	@touch $@

# The documentation site, from docs/ (mkdocs.yml). --strict: a broken link or anchor, or a page
# missing from the nav, fails the build; the configuration reference is generated from
# conf/defaults.toml by docs/hooks/config_reference.py, which imports the installed project.
docs: $(DOCS_STAMP)
	$(VPY) -m mkdocs build --strict --site-dir site

webassets: $(PLOTLY_JS)

$(PLOTLY_JS): webfrontend/package.json webfrontend/package-lock.json
	@command -v npm >/dev/null || { echo "make: npm (Node.js) is needed to install plotly.js for the dashboard: apt-get install npm" >&2; exit 1; }
	npm ci --prefix webfrontend --no-audit --no-fund --loglevel=error
	mkdir -p $(@D)
	cp webfrontend/node_modules/plotly.js-dist-min/LICENSE $(@D)/plotly.LICENSE
	gzip -9 -c webfrontend/node_modules/plotly.js-dist-min/plotly.min.js > $@.gz
	cp webfrontend/node_modules/plotly.js-dist-min/plotly.min.js $@.tmp && mv $@.tmp $@

$(COUCHDB_TEST_SERVER): tests/couchdb/package.json tests/couchdb/package-lock.json
	@command -v npm >/dev/null || { echo "make: npm (Node.js) is needed to install pouchdb-server for the tests: apt-get install npm" >&2; exit 1; }
	npm ci --prefix tests/couchdb --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

# The dashboard on 127.0.0.1 only, DEBUG off as in production; a secret key is made for the
# session unless MAUS_WEB_SECRET_KEY is set (nothing is signed that must outlive the server).
web: $(RUN_STAMP)
	@echo "MAUS Online dashboard: http://127.0.0.1:8000/ (plots from $${MAUS_IMAGE_DIRECTORY:-images}/)"
	MAUS_WEB_SECRET_KEY="$${MAUS_WEB_SECRET_KEY:-$$($(VPY) -c 'import secrets; print(secrets.token_urlsafe(50))')}" \
	  $(VPY) webfrontend/manage.py runserver 127.0.0.1:8000

# go.py on a simulated live beam and the dashboard together (webfrontend/live.py); the URL is
# printed once it answers, and Ctrl-C stops both. ARGS go to go.py (--image_directory to both).
run: $(RUN_STAMP)
	$(VPY) webfrontend/live.py $(ARGS)

test: $(TEST_STAMP) test-deps
	$(VPY) -m pytest $(PYTEST_ARGS)

# What the web front-end's browser and Apache tests need beyond Python packages (Debian's
# chromium, apache2, apache2-dev, and a venv that www-data can read, for mod_wsgi): installs
# only what is missing, so it is quick once done. Runs as root, as on the project's machines.
test-deps:
	bash .ci/install-test-deps

bench: $(TEST_STAMP) test-deps
	$(VPY) bench/bench_chain.py
	$(VPY) bench/bench_reducers.py
	$(VPY) bench/bench_workers.py
	$(VPY) bench/bench_web.py
	$(VPY) bench/bench_doc_store.py

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache webfrontend/node_modules tests/couchdb/node_modules webfrontend/dashboard/static/dashboard/vendor
