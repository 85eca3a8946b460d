# 42 students → PostgreSQL. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help sync demo test test-fast bench dbt dbt-test docs docs-serve lint psql db-stop clean cron-install cron-remove cron-show status export
EVERY ?= 6

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(INSTALLED): requirements.txt requirements-dev.txt scripts/bootstrap.sh
	@PYTHON=$(PYTHON) scripts/bootstrap.sh

sync: $(INSTALLED) ## Fetch the students from the API and update the users table
	@$(PY) -m pipelines.ft42_pipeline

demo: $(INSTALLED) ## Full sync of 40,335 emulated students into the embedded PostgreSQL
	@$(PY) -m scripts.demo

test: $(INSTALLED) ## Run the test-suite (pytest + dbt tests) on the emulator and a real PostgreSQL
	@$(PY) -m pytest -n 2 --dist loadgroup tests

test-fast: $(INSTALLED) ## Run the unit tests and dbt unit tests only (seconds; no emulator)
	@$(PY) -m pytest -q tests/unit

bench: $(INSTALLED) ## Benchmark the sync (embedded PostgreSQL, or DB_HOST=...; writes tests/bench/RESULTS.md; ARGS=--quick)
	@$(PY) -m tests.bench.run_bench $(ARGS)

dbt: $(INSTALLED) ## Run a dbt command on the configured warehouse: make dbt ARGS="test"
	@$(PY) -m pipelines.ft42_pipeline dbt $(ARGS)

dbt-test: $(INSTALLED) ## Run the dbt data tests on the configured warehouse
	@$(PY) -m pipelines.ft42_pipeline dbt test

docs: $(INSTALLED) ## Generate the dbt docs site, also as one static HTML file
	@$(PY) -m pipelines.ft42_pipeline docs

docs-serve: docs ## Serve the dbt docs on http://127.0.0.1:8080 (PORT=... to change)
	@$(PY) -m pipelines.ft42_pipeline docs-serve $(PORT)

lint: $(INSTALLED) ## Lint the Python (ruff) and the SQL (sqlfluff with the dbt templater)
	@$(PY) -m pipelines.ft42_pipeline lint

psql: $(INSTALLED) ## Open psql on the configured (or embedded) database
	@$(PY) -m pipelines.ft42_pipeline psql

status: $(INSTALLED) ## Show the database, user count, last runs, freshness and the end of the run log
	@$(PY) -m pipelines.status

export: $(INSTALLED) ## Write exports/08_users/all.json from the users table (OUT=path to change)
	@$(PY) -m pipelines.export_users $(OUT)

cron-install: $(INSTALLED) ## Install the crontab line running make sync every EVERY hours (default 6)
	@$(PY) -m pipelines.cron install $(EVERY)

cron-remove: $(INSTALLED) ## Remove this checkout's crontab line
	@$(PY) -m pipelines.cron remove

cron-show: $(INSTALLED) ## Show this checkout's crontab line
	@$(PY) -m pipelines.cron show

db-stop: $(INSTALLED) ## Stop the embedded PostgreSQL
	@$(PY) -m pipelines.ft42_pipeline db-stop

clean: ## Remove the venv, dbt build output and dlt working state (keeps the embedded data)
	rm -rf $(VENV) dbt_project/target dbt_project/logs .data/dlt .data/dbt
