#!/usr/bin/env bash
# Render both stacks offline under Pulumi's mock runtime: no credentials, so it is safe for
# pull requests from forks.
source "$(dirname "$0")/lib.sh"

ensure_venv requirements-dev.txt
for stack in staging prod; do
  log "offline plan of ${stack}"
  "${PYTHON}" -m tools.plan "${stack}"
done
log "offline plan of the bootstrap project (example stack)"
"${PYTHON}" -m bootstrap.plan example
