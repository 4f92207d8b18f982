# QA Portal: `make run` serves everything on the embedded default; `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

# The test suite runs against real services: PostgreSQL and Redis on this machine by default.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/qaportal
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test lint format browser bench clean

install: $(VENV)/.installed

# newman (npm) replays Microsoft's SCIM reference Postman collection in tests/conformance.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

# The embedded default: SQLite and Celery's filesystem broker under var/ (no server needed);
# with REDIS_URL set, the worker and beat use Redis. Procfile.dev runs from the venv's PATH.
run: install
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	PATH="$(abspath $(VENV))/bin:$$PATH" HOST=$(HOST) PORT=$(PORT) \
		$(VENV)/bin/honcho -f Procfile.dev start

# Debian's Chromium for the Playwright browser tests (Playwright's own download cannot work here).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: install node_modules/.installed browser lint
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	REDIS_URL="$${REDIS_URL:-$(TEST_REDIS_URL)}" \
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Load and scale benchmarks on PostgreSQL + gunicorn (bench/README.md); about 10-12 minutes.
# BENCH_ARGS passes options to bench/run.py, e.g. BENCH_ARGS="--only queries,throughput".
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/qaportal_bench

bench: install
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	BENCH_DATABASE_URL="$(BENCH_DATABASE_URL)" $(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .ruff_cache
