#!/usr/bin/env bash
# Lint the Python code: ruff (rules in pyproject.toml).
source "$(dirname "$0")/lib.sh"

ensure_venv requirements-dev.txt
log "ruff check"
"${CI_VENV_BIN}/ruff" check .
