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

# Two stamps: `make run` needs the runtime requirements only; the test tools come with
# the targets that use them.
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev

$(RUNTIME): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(RUNTIME)
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

run: $(RUNTIME)
	@$(PY) scripts/check_redis.py
	@$(MAKE) --no-print-directory demo
	@rm -rf $(METRICS_DIR) && mkdir -p $(METRICS_DIR)
	@echo "Starting web, worker, beat, flower and the mail catcher; the service says when it is ready. Ctrl-C stops everything."
	@export PATH="$(abspath $(VENV))/bin:$$PATH" PROMETHEUS_MULTIPROC_DIR="$(METRICS_DIR)"; \
	  python scripts/wait_ready.py & \
	  exec honcho start

# Everything on Redis as the broker, then the tests marked both_brokers (the real-worker
# end-to-end, priority and retry ones, and RabbitMQ's own) again with RabbitMQ as the
# broker, on the vhost of TEST_RABBITMQ_URL, whose task queues they empty.
TEST_RABBITMQ_URL ?= amqp://guest:guest@127.0.0.1:5672//

test: $(DEV)
	@REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/9} $(PY) scripts/check_redis.py
	@$(PY) scripts/check_broker.py $(TEST_RABBITMQ_URL)
	$(PY) -m pytest $(PYTEST_ARGS)
	TEST_BROKER_URL=$(TEST_RABBITMQ_URL) $(PY) -m pytest -m both_brokers $(PYTEST_ARGS)

# Kills and restarts real processes on a private PostgreSQL, Redis and RabbitMQ node the
# tests start themselves (tests/chaos/conftest.py); about 10 minutes.
chaos: $(DEV)
	$(PY) -m pytest tests/chaos -m chaos --create-db -p no:cacheprovider $(PYTEST_ARGS)

# Style and the import layering (the contracts in pyproject.toml).
lint: $(DEV)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: $(DEV)
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 test_db.sqlite3 .run
