# QA Portal: `make run` serves everything on the embedded default; `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
# The sign-in address seed_demo prints: a wildcard bind is reached here as 127.0.0.1.
URL_HOST = $(if $(filter 0.0.0.0 :: [::],$(HOST)),127.0.0.1,$(HOST))

# The test suite runs against real services: PostgreSQL and Redis on this machine by default.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/qaportal
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

# `make test` and CI export these to scripts/services and pytest.
TEST_ENV = DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}"

.PHONY: install lock run superuser services test lint format bench clean

install: $(VENV)/.installed

# newman (npm) replays Microsoft's SCIM reference Postman collection in tests/conformance.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Exactly the versions and hashes of the lock file (runtime + dev), then QA Portal itself;
# `pip check` fails when pyproject.toml asks for something the lock lacks (run `make lock`).
$(VENV)/.installed: requirements/dev.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements/dev.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	$(VENV)/bin/pip check
	touch $@

# Refresh the lock files from pyproject.toml: requirements/base.txt (production) and
# requirements/dev.txt (+ the dev extra), pinned with hashes for Python 3.11 on Linux.
# UPGRADE=1 moves every pin to its newest release; otherwise pins change only where needed.
LOCK_OPTIONS = --generate-hashes --python-version 3.11 --python-platform linux \
	--custom-compile-command "make lock" --quiet $(if $(UPGRADE),--upgrade)
# Needs only uv, not an installed lock: pyproject.toml may ask for what the lock lacks yet.
lock:
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(VENV)/bin/pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml $(LOCK_OPTIONS) -o requirements/base.txt
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev $(LOCK_OPTIONS) -o requirements/dev.txt

# The embedded default: SQLite and Celery's filesystem broker under var/ (no server needed);
# with REDIS_URL set, the worker and beat use Redis. Procfile.dev runs from the venv's PATH.
run: install
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --url "http://$(URL_HOST):$(PORT)/login/"
	PATH="$(abspath $(VENV))/bin:$$PATH" HOST=$(HOST) PORT=$(PORT) \
		$(VENV)/bin/honcho -f Procfile.dev start

# A staff account for Django admin (/admin/) on the database of `make run` (or DATABASE_URL).
superuser: install
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createsuperuser

# PostgreSQL and Redis running (installed when missing), Debian's Chromium for the Playwright
# browser tests (Playwright's own download cannot work here) and npm for newman.
services:
	$(TEST_ENV) scripts/services

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# services first: it installs npm, which node_modules needs.
test: services install node_modules/.installed lint
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

# Load and scale benchmarks on PostgreSQL + gunicorn (bench/README.md); about 12-14 minutes.
# BENCH_ARGS passes options to bench/run.py, e.g. BENCH_ARGS="--only queries,throughput".
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/qaportal_bench

bench: install
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	BENCH_DATABASE_URL="$(BENCH_DATABASE_URL)" $(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .ruff_cache
