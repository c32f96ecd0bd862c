# Odex CRM: `make run` starts everything locally, `make test` runs the whole suite.
# Every target is a thin wrapper over the `odex` command (app/cli.py).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help install run test fuzz lint format migrate seed worker serve bench soak bench-tools browser deploy-tools pdf-libs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml package.json
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error
	$(BIN)/odex vendor
	touch $(STAMP)

install: $(STAMP) pdf-libs ## create .venv, install Python and npm packages, fill static/vendor

pdf-libs: ## install Debian's pango, which WeasyPrint needs for invoice PDFs (skipped if present)
	@(/sbin/ldconfig -p 2>/dev/null || ldconfig -p) | grep -q 'libpangoft2-1.0.so.0' || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 >/dev/null) || (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 >/dev/null)

# Local use is dev mode, said explicitly: without ODEX_ENV the `odex` command is a production
# one (no dev mailbox, no demo seed, no simulated billing, every secret required).
LOCAL := ODEX_ENV=$${ODEX_ENV:-dev}

run: install ## start PostgreSQL, Valkey, mail sink, migrate, seed, web + worker on :8000 (dev)
	$(LOCAL) $(BIN)/odex run

serve: install ## web server only, as in production (needs DATABASE_URL, REDIS_URL, SMTP_URL…)
	$(BIN)/odex serve

worker: install ## arq worker only, as in production (needs DATABASE_URL, REDIS_URL, SMTP_URL…)
	$(BIN)/odex worker

migrate: install ## apply migrations (embedded PostgreSQL in dev unless DATABASE_URL is set)
	$(LOCAL) $(BIN)/odex migrate

seed: install ## seed the demo workspace into an empty database (dev)
	$(LOCAL) $(BIN)/odex seed

browser: ## install Debian's chromium for the browser tests (skipped if present)
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

deploy-tools: ## install Debian's haproxy and pgbouncer for the deployment test (skipped if present)
	@command -v haproxy >/dev/null && command -v pgbouncer >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends haproxy pgbouncer >/dev/null) || (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends haproxy pgbouncer >/dev/null)

lint: install ## ruff format check, ruff lint, mypy strict on app/, import layers (no cycles)
	$(BIN)/ruff format --check app tests piccolo_conf.py
	$(BIN)/ruff check app tests piccolo_conf.py
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: install ## apply ruff formatting and safe fixes
	$(BIN)/ruff format app tests piccolo_conf.py
	$(BIN)/ruff check --fix app tests piccolo_conf.py

# Two pytest processes (pytest-xdist), each with its own PostgreSQL, Valkey and mail sink: much
# of the suite waits (subprocesses starting, the browser, outages), so two share the 2 cores well.
TEST_WORKERS ?= 2

test: install browser deploy-tools lint ## lint, then every test against real PostgreSQL + Valkey (+ chromium, haproxy, pgbouncer)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist load

fuzz: install ## the hostile-input sweep, longer (FUZZ_EXAMPLES sweeps of every route, default 25)
	ODEX_FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-25} $(BIN)/pytest tests/core/test_no_server_errors.py -k generated -p no:cacheprovider --timeout=3600

bench-tools: ## install Debian's wrk and hey, the load generators of the benches (skipped if present)
	@(command -v wrk && command -v hey) >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk hey >/dev/null) || (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk hey >/dev/null)

bench: install bench-tools ## performance figures vs floors of the same run; table + var/bench/<UTC time>.json
	$(BIN)/pytest tests/perf -s -p no:cacheprovider --override-ini addopts= --timeout=3600

soak: install bench-tools ## R8: 1,000 sockets on 2 web processes, 200 writes/s for 60 s (also in bench with BENCH_SOAK=1)
	BENCH_SOAK=1 $(BIN)/pytest tests/perf/test_soak.py -s -p no:cacheprovider --override-ini addopts= --timeout=3600

clean: ## remove the virtualenv, vendor files and local data (var/)
	rm -rf $(VENV) node_modules static/vendor var
