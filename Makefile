# Dealsight: `make run` starts the service on the embedded defaults, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
# The default suite skips tests marked slow; .ci/run sets PYTEST_ARGS to run everything.
PYTEST_ARGS ?= -m "not slow"

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-all install models lint typecheck check clean help

help:
	@echo "make run       set up .venv, migrate, start API + workers on http://$(HOST):$(PORT)"
	@echo "make test      set up .venv and run the test suite (slow tests: make test-all)"
	@echo "make check     ruff + mypy"

# Re-install only when the pinned dependencies or the project metadata change.
$(STAMP): .ci/requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade "pip>=24"
	$(BIN)/python -m pip install --disable-pip-version-check -q -r .ci/requirements.lock
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) models

# Train the objection model from bench/data/insights unless an up-to-date one exists (about
# 40 minutes on 2 cores the first time; instant afterwards).
models: $(STAMP)
	$(BIN)/dealsight models build

run: install
	$(BIN)/dealsight db upgrade
	$(BIN)/dealsight serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

test-all: install
	$(BIN)/pytest -m ""

lint: install
	$(BIN)/ruff check service nlp models migrations tests bench

typecheck: install
	$(BIN)/mypy

check: lint typecheck

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
