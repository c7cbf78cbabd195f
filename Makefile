# Two commands do everything: `make run` (console + worker on the embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: install run web worker test lint format bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The suite also trains with a tiny base model it builds itself, so it needs the base-models extra.
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,base-models]"
	touch $(TEST_STAMP)

run: install
	$(BIN)/python manage.py serve

web: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/gunicorn webapp.wsgi --config python:webapp.gunicorn_conf --bind $${BIND:-127.0.0.1:8000} --workers $${WEB_WORKERS:-2} --threads 8

worker: install
	$(BIN)/python manage.py rqworker training inference default

test: $(TEST_STAMP)
	bash scripts/test.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
