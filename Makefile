# dbt_pipeline_costs - the two commands a fresh machine needs: `make demo` and `make test`.
# Everything is installed from pinned versions (requirements.txt + constraints.txt) into .venv.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB := $(CURDIR)/build/demo.duckdb
DEMO_DAYS ?= 30
DEMO_BUDGET ?= 10000
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export PYTHONPATH := $(CURDIR)/scripts

CHROMIUM ?= /usr/bin/chromium-headless-shell
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PIPELINE_COSTS_CHROMIUM := $(CHROMIUM)
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed

.PHONY: help install deps airflow-venv browser demo test lint bench clean

help:
	@echo "make demo   - install, generate demo logs, build the package on DuckDB, print a cost summary, write the HTML report"
	@echo "make test   - install and run the whole test suite (lint, unit, integration, dialect)"
	@echo "make lint   - ruff + sqlfluff only"
	@echo "make bench  - benchmark (printed figures; not part of make test)"
	@echo "make browser - install headless Chromium for the report's browser test (apt)"

$(STAMP): requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

# Airflow for tests/test_airflow_dag.py, in its own virtualenv (the example DAG calls dbt from .venv by path).
$(AIRFLOW_STAMP): requirements-airflow.txt constraints-airflow.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-airflow.txt -c constraints-airflow.txt
	touch $(AIRFLOW_STAMP)

airflow-venv: $(AIRFLOW_STAMP)

# Headless Chromium for tests/test_report_browser.py (Debian's package; root in CI, sudo elsewhere).
browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium-headless-shell fonts-dejavu-core; }
	@$(CHROMIUM) --version

deps: $(STAMP)
	cd integration_tests && ../$(BIN)/dbt deps --profiles-dir . --quiet

demo: deps
	mkdir -p build
	$(BIN)/python -m pipeline_costs generate --duckdb $(DEMO_DB) --days $(DEMO_DAYS)
	cd integration_tests && DBT_DUCKDB_PATH=$(DEMO_DB) ../$(BIN)/dbt build --profiles-dir . --full-refresh \
		--vars '{dbt_pipeline_costs_monthly_budget: $(DEMO_BUDGET)}'
	$(BIN)/python -m pipeline_costs summary --duckdb $(DEMO_DB)
	$(BIN)/python -m pipeline_costs report --duckdb $(DEMO_DB) --out build/report

test: deps airflow-venv browser
	$(BIN)/ruff check scripts tests
	$(BIN)/python -m pytest -q

lint: deps
	$(BIN)/ruff check scripts tests
	$(BIN)/sqlfluff lint models analyses

bench: deps
	$(BIN)/python scripts/benchmark.py

# On-run-end upload: upload time at 200 / 2,000 / 10,000 results and dbt build with vs without the hook.
.PHONY: bench-upload
bench-upload: install
	$(BIN)/python scripts/benchmark_upload.py

clean:
	rm -rf build $(AIRFLOW_VENV) integration_tests/target integration_tests/dbt_packages integration_tests/logs target logs
