# The README's commands. Each target creates and fills its own virtual environment from the pinned files.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app lms
export LMS_PORT ?= 5000

.PHONY: run test test-sqlite test-postgresql drills lint typecheck bench refdata translations messages browser-deps clean lock criteria-doc screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The locks carry a hash for every file: pip refuses anything that differs from what was locked.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

## make lock: regenerate the hashed locks from requirements.in / requirements-dev.in (needs PyPI).
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 --no-header
lock: $(VENV)/.dev
	$(UV_COMPILE) --output-file requirements.txt requirements.in
	$(UV_COMPILE) --output-file requirements-dev.txt requirements-dev.in

translations: $(VENV)/.runtime
	$(BIN)/pybabel compile --use-fuzzy -d lms/translations >/dev/null

## make messages: collect new strings into the Vietnamese catalogue (lazy strings of forms are marked with _l; WTForms' own
## messages are listed with N_ and _n in lms/core/forms.py).
messages: $(VENV)/.dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -k _n:1,2 -o /tmp/lms-messages.pot . >/dev/null
	$(BIN)/pybabel update -i /tmp/lms-messages.pot -d lms/translations --no-fuzzy-matching -w 120

## make criteria-doc: rewrite docs/criteria.md from the shipped criteria files (a test checks they agree).
criteria-doc: $(VENV)/.runtime
	$(BIN)/python -m lms.titles.criteria_doc > docs/criteria.md

## make run: install, migrate, load reference + demo data on first run (criteria sets and plans too), start web +
## worker + beat; the worker evaluates the demo communes' titles and indicators within a minute of starting.
run: $(VENV)/.runtime translations
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) setup-demo
	$(FLASK) load-holidays
	$(FLASK) seed-it-demo
	$(FLASK) titles load-criteria
	$(FLASK) targets load-plans
	$(FLASK) titles seed-demo
	$(BIN)/honcho start -f Procfile

## make test: the whole suite on SQLite; also on PostgreSQL + the broker when LMS_TEST_DATABASE_URL and
## LMS_TEST_BROKER_URL are set. The two runs then go at the same time: they share no database, broker, port or
## temporary folder, and each keeps about one core busy (one pytest process, waiting on its database, workers and the
## drills' outages), so on two cores they take about as long as the slower one alone. Each run writes a log of its own, printed whole when that run ends (the first to end first);
## make test fails if either fails. A run that collects no test is a failure (pytest exit code 5). A background job
## ignores Ctrl-C unless told otherwise (env --default-signal=INT): pytest then stops both runs and their processes.
test: $(VENV)/.dev translations browser-deps
	@if [ -z "$$LMS_TEST_DATABASE_URL" ]; then \
	  echo "LMS_TEST_DATABASE_URL is not set: the PostgreSQL run is not part of this run"; \
	  exec $(MAKE) --no-print-directory test-sqlite; fi; \
	logs=$$(mktemp -d /tmp/lms-test-logs.XXXXXX); \
	echo "== the SQLite and the PostgreSQL runs at the same time: each one's log is printed when it ends ($$logs)"; \
	for run in sqlite postgresql; do \
	  ( start=$$(date +%s); env --default-signal=INT $(MAKE) --no-print-directory test-$$run >$$logs/$$run.log 2>&1; rc=$$?; \
	    echo $$rc >$$logs/$$run.rc; \
	    flock $$logs/print sh -c 'cat "$$1"; echo "== the $$2 run ended with exit code $$3 after $$4 s"' \
	      sh $$logs/$$run.log $$run $$rc $$(( $$(date +%s) - start )) ) & \
	done; \
	wait; \
	rc_sqlite=$$(cat $$logs/sqlite.rc 2>/dev/null || echo 1); rc_postgresql=$$(cat $$logs/postgresql.rc 2>/dev/null || echo 1); \
	rm -rf $$logs; \
	echo "== make test: SQLite run exit code $$rc_sqlite, PostgreSQL run exit code $$rc_postgresql"; \
	[ "$$rc_sqlite" = 0 ] && [ "$$rc_postgresql" = 0 ]

# pytest exits 5 when it collected no test: that is a broken run, never a pass.
PYTEST = run_pytest() { $(BIN)/pytest -p no:cacheprovider "$$@"; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing the run" >&2; return 1; fi; return $$rc; }; run_pytest

# The fault drills (they start their own redis-server) run in the PostgreSQL run and in make drills.
test-sqlite:
	@echo "== the whole suite on SQLite, the embedded broker and a real worker, browser tests included"
	@env -u LMS_TEST_DATABASE_URL -u LMS_TEST_BROKER_URL sh -c '$(PYTEST) tests -m "not drill and not postgresql"'

test-postgresql:
	@echo "== the suite on PostgreSQL ($$LMS_TEST_DATABASE_URL) with a real worker on $${LMS_TEST_BROKER_URL:-the embedded broker}"
	@sh -c '$(PYTEST) tests -m "not browser"'

## make screenshots: run the browser journeys and keep each one's last page under docs/screenshots/ (for the README).
screenshots: $(VENV)/.dev translations browser-deps
	@env -u LMS_TEST_DATABASE_URL -u LMS_TEST_BROKER_URL LMS_SCREENSHOTS=1 sh -c '$(PYTEST) tests/browser/test_journey_*.py'
	@ls docs/screenshots/*.png

## make drills: only the fault drills (tests/integration/test_drill_*.py: a broker of their own stopped, workers
## killed…), on LMS_TEST_DATABASE_URL if set, bounded in time. Their DRILL lines are the figures of docs/reliability.md.
drills: $(VENV)/.dev translations
	@echo "== the fault drills on $${LMS_TEST_DATABASE_URL:-SQLite}"
	@timeout 900 sh -c '$(PYTEST) tests/integration -m drill -s -q'

browser-deps:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Chromium is missing: run 'sudo apt-get install chromium'" >&2; exit 1; fi; }
	@# pdftoppm renders the report PDFs to images in tests/targets/test_report_layout.py.
	@command -v pdftoppm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils; \
	  else echo "pdftoppm is missing: run 'sudo apt-get install poppler-utils'" >&2; exit 1; fi; }

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

## make bench: every benchmark, each as a ratio against its floor measured in the same run (docs/benchmarks.md).
## make bench SCALE=commune tries them in minutes; BENCH_DB and BENCH_REDIS name the benchmarks' own databases.
SCALE       ?= province
BENCH_DB    ?= postgresql://postgres@127.0.0.1:5432/lms_bench
BENCH_REDIS ?= redis://127.0.0.1:6379/13
bench: $(VENV)/.dev
	$(BIN)/python bench/all.py --scale $(SCALE) --database-url $(BENCH_DB) --broker-url $(BENCH_REDIS)

refdata: $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-refdata.txt
	$(BIN)/python -m lms.registry.data.generate

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .mypy_cache
