# The two set-up commands for a fresh machine are `make plan` and `make test`; both create
# the virtualenv they need. Everything else here is a shortcut for a developer.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= staging
PROGRAM_STAMP := $(VENV)/.program-installed
DEV_STAMP := $(VENV)/.dev-installed
# Checkov pins boto3 and pydantic versions that conflict with the program's, so it lives in
# a virtualenv of its own (tools/checkov_scan.py finds it there).
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: plan plan-json test lint app test-servers lock clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3

$(PROGRAM_STAMP): requirements.txt constraints.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt app/requirements.txt constraints.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(PROGRAM_STAMP)

$(CHECKOV_STAMP): security/requirements-checkov.txt security/constraints-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r security/requirements-checkov.txt
	touch $@

## Render a stack's full plan offline (STACK=staging by default; STACK=prod for prod).
plan: $(PROGRAM_STAMP)
	$(PY) -m tools.plan $(STACK)

plan-json: $(PROGRAM_STAMP)
	$(PY) -m tools.plan $(STACK) --json

## Run every test: lint, program, app (with local PostgreSQL and Redis), pipeline, policy.
test: $(DEV_STAMP) $(CHECKOV_STAMP) test-servers
	$(PY) -m ruff check .
	$(PY) -m pytest

## Install the PostgreSQL and Redis server binaries the app's integration tests start.
test-servers:
	scripts/install-test-servers.sh

## Run the app locally on port 8000 with embedded defaults (SQLite, in-process cache).
app: $(DEV_STAMP)
	$(PY) -m app

lint: $(DEV_STAMP)
	$(PY) -m ruff check .

## Rewrite constraints.txt from a fresh virtualenv after a pin in a requirements file changed.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	grep -v '^-c ' requirements.txt > .venv-lock/requirements.txt
	sed 's|^-r app/|-r ../app/|' requirements-dev.txt > .venv-lock/requirements-dev.txt
	.venv-lock/bin/python -m pip install --quiet -r .venv-lock/requirements-dev.txt
	{ sed -n '1,3p' constraints.txt; .venv-lock/bin/python -m pip freeze --all \
	    | grep -v '^\(pip\|setuptools\|wheel\)=='; } > constraints.new
	mv constraints.new constraints.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .ruff_cache
