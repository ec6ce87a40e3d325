#!/usr/bin/env bash
# Run the test suite (program, app, bootstrap and pipeline tests) and the secret scan.
source "$(dirname "$0")/lib.sh"

ensure_venv requirements-dev.txt
log "pytest"
"${PYTHON}" -m pytest -q
