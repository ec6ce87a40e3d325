#!/usr/bin/env bash
# Check the pipeline and the image definition: Bitbucket schema, shellcheck, hadolint and
# the committed-secret scan.
source "$(dirname "$0")/lib.sh"

ensure_venv requirements-dev.txt
log "bitbucket-pipelines.yml against the Bitbucket Pipelines schema"
"${CI_VENV_BIN}/check-jsonschema" --builtin-schema vendor.bitbucket-pipelines bitbucket-pipelines.yml
log "shellcheck scripts/ci"
"${CI_VENV_BIN}/shellcheck" --external-sources --source-path=SCRIPTDIR scripts/ci/*.sh
if [[ -f app/Dockerfile ]]; then
  log "hadolint app/Dockerfile"
  "${CI_VENV_BIN}/hadolint" app/Dockerfile
fi
"$(dirname "$0")/secret_scan.sh"
