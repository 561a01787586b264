# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1:8000

.PHONY: run test lint check-deploy install browser haproxy cluster-test clean bench wrk

run: install  ## the platform on this machine: SQLite, tasks in-process, demo data
	$(BIN)/python manage.py migrate --noinput
	SITE_URL=http://$(HOST) $(BIN)/python manage.py demo
	SITE_URL=http://$(HOST) $(BIN)/python manage.py runserver $(HOST)

test: install browser  ## the whole suite (PostgreSQL and a broker when DATABASE_URL/CELERY_BROKER_URL are set)
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

check-deploy: install  ## Django's deployment checks under production settings
	DJANGO_ENV=production SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	ALLOWED_HOSTS=forms.example.nhs.uk DATABASE_URL=sqlite:///unused.sqlite3 REDIS_CACHE_URL=redis://127.0.0.1:6379/15 \
	FIELD_ENCRYPTION_KEYS=$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Browser tests drive Debian's Chromium; no test tool may download a browser of its own.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-liberation; \
	  else echo "Install Debian's chromium and chromium-driver for the browser tests"; fi; }

# The several-host run (tests/cluster/): network namespaces need root; HAProxy is Debian's.
haproxy:
	@command -v haproxy >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends haproxy; \
	  else echo "Install Debian's haproxy for the cluster run"; fi; }

# Data host, two web hosts, HAProxy, two workers and beat in network namespaces; faults
# under load; prints the table and writes tests/cluster/RESULTS.md (about 6 minutes).
cluster-test: install haproxy
	$(BIN)/python -m tests.cluster.scenario --write-results

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 test-artifacts

# The benchmarks' load generator is Debian's wrk (bench/README.md says why a C client):
# installed like the browser, never built or downloaded by the benchmark itself.
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends wrk; \
	  else echo "Install Debian's wrk for the benchmarks (apt-get install wrk)"; fi; }

# The benchmarks (bench/README.md): one run, writes bench/RESULTS.md. Needs PostgreSQL,
# Redis and wrk; recreates the database BENCH_DB (default pf_bench).
bench: install wrk
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py
