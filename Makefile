# 42 students → PostgreSQL. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The `ft42` command line (pipelines/cli.py); `$(VENV)/bin/ft42` is the same, installed by bootstrap.
FT42 := $(PY) -m pipelines.cli
INSTALLED := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help sync plan demo test test-fast bench dbt dbt-test docs docs-serve lint psql db-stop clean cron-install cron-remove cron-show status export lock
EVERY ?= 6

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(INSTALLED): requirements.lock pyproject.toml scripts/bootstrap.sh
	@PYTHON=$(PYTHON) scripts/bootstrap.sh

sync: $(INSTALLED) ## Fetch the due tables from the API and update them (FULL=1: list in full; TABLES=a,b: only those)
	@$(FT42) sync

plan: $(INSTALLED) ## Show what a sync would do now, per table, against the hourly budget; changes nothing
	@$(FT42) plan

demo: $(INSTALLED) ## Two syncs of every table, 40,335 emulated students on the real hourly budget, into the embedded PostgreSQL
	@$(PY) -m scripts.demo

test: $(INSTALLED) ## Run the test-suite (pytest + dbt tests) on the emulator and a real PostgreSQL, but the slow ones
	@$(PY) -m pytest -n 2 --dist loadgroup -m "not slow" tests

test-all: $(INSTALLED) ## Run every test, the slow ones too (kills and reconcile passes over the big tables: minutes more)
	@$(PY) -m pytest -n 2 --dist loadgroup tests

test-fast: $(INSTALLED) ## Run the unit tests and dbt unit tests only (seconds; no emulator)
	@$(PY) -m pytest -q tests/unit

bench: $(INSTALLED) ## Benchmark the sync (embedded PostgreSQL, or DB_HOST=...; writes tests/bench/RESULTS.md; ARGS=--quick)
	@$(PY) -m tests.bench.run_bench $(ARGS)

dbt: $(INSTALLED) ## Run a dbt command on the configured warehouse: make dbt ARGS="test"
	@$(FT42) dbt $(ARGS)

dbt-test: $(INSTALLED) ## Run the dbt data tests on the configured warehouse
	@$(FT42) dbt test

docs: $(INSTALLED) ## Generate the dbt docs site, also as one static HTML file
	@$(FT42) docs

docs-serve: $(INSTALLED) ## Generate and serve the dbt docs on http://127.0.0.1:8080 (PORT=... to change)
	@$(FT42) docs --serve --port $(or $(PORT),8080)

lint: $(INSTALLED) ## Lint the Python (ruff) and the SQL (sqlfluff with the dbt templater)
	@$(FT42) lint

psql: $(INSTALLED) ## Open psql on the configured (or embedded) database
	@$(FT42) psql

status: $(INSTALLED) ## Show the database, each table's rows and last listing, backfill progress, last runs and the log
	@$(FT42) status

export: $(INSTALLED) ## Write exports/08_users/all.json from the users table (OUT=path to change)
	@$(FT42) export $(OUT)

cron-install: $(INSTALLED) ## Install the crontab line running .venv/bin/ft42 sync every EVERY hours (default 6)
	@$(FT42) cron install $(EVERY)

cron-remove: $(INSTALLED) ## Remove this checkout's crontab line
	@$(FT42) cron remove

cron-show: $(INSTALLED) ## Show this checkout's crontab line
	@$(FT42) cron show

db-stop: $(INSTALLED) ## Stop the embedded PostgreSQL
	@$(FT42) db-stop

lock: $(INSTALLED) ## Regenerate requirements.lock from requirements*.txt (pip-compile; needs the package index)
	@$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --no-strip-extras --no-emit-find-links \
		--no-emit-index-url --output-file requirements.lock requirements-dev.txt

clean: ## Remove the venv, dbt build output and dlt working state (keeps the embedded data)
	rm -rf $(VENV) dbt_project/target dbt_project/logs .data/dlt .data/dbt
