# Everything a fresh clone needs: `make run` starts the service, `make test` tests it.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export DEBUG ?= true
export REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test lint bench migrate demo clean

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
	@echo "Web:    http://127.0.0.1:8000/api/v1/  (admin: http://127.0.0.1:8000/admin/)"
	@echo "Flower: http://127.0.0.1:5555/"
	@echo "Ctrl-C stops everything."
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/honcho start

test: $(VENV)/.installed
	@REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/9} $(PY) scripts/check_redis.py
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed
	$(PY) bench/fanout.py
	$(PY) bench/preferences_fanout.py

clean:
	rm -rf $(VENV) db.sqlite3 test_db.sqlite3
