# Everything a fresh clone needs: `make run` starts the service, `make test` tests it.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export DEBUG ?= true
export REDIS_URL ?= redis://127.0.0.1:6379/0
# Prometheus multiprocess files of the processes `make run` starts (emptied at each start).
METRICS_DIR ?= $(CURDIR)/.run/metrics

.PHONY: run test chaos lint bench migrate demo clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

run: $(VENV)/.installed
	@$(PY) scripts/check_redis.py
	@$(MAKE) --no-print-directory demo
	@rm -rf $(METRICS_DIR) && mkdir -p $(METRICS_DIR)
	@echo "Starting web, worker, beat and flower; the service says when it is ready. Ctrl-C stops everything."
	@export PATH="$(abspath $(VENV))/bin:$$PATH" PROMETHEUS_MULTIPROC_DIR="$(METRICS_DIR)"; \
	  python scripts/wait_ready.py & \
	  exec honcho start

test: $(VENV)/.installed
	@REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/9} $(PY) scripts/check_redis.py
	$(PY) -m pytest $(PYTEST_ARGS)

# Kills and restarts real processes on a private PostgreSQL and Redis the tests start
# themselves (tests/chaos/conftest.py); about 7 minutes.
chaos: $(VENV)/.installed
	$(PY) -m pytest tests/chaos -m chaos --create-db -p no:cacheprovider $(PYTEST_ARGS)

# Style and the import layering (the contracts in pyproject.toml).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: $(VENV)/.installed
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 test_db.sqlite3 .run
