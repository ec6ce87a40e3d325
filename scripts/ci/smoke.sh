#!/usr/bin/env bash
# Check the deployed service: /api/health answers 200 and /api/info reports this commit.
source "$(dirname "$0")/lib.sh"

stack="$(stack_for_branch)"
role_arn="$(deployment_role)"
ensure_venv requirements.txt
setup_aws_oidc "${role_arn}"
pulumi_login_and_select "${stack}"
outputs="$(write_stack_outputs "${stack}")"

log "smoke test of ${stack}"
"${PYTHON}" -m tools.smoke \
  --url "$(stack_output "${outputs}" url)" \
  --commit "${BITBUCKET_COMMIT:?BITBUCKET_COMMIT is not set}" \
  --timeout "${SMOKE_TIMEOUT_SECONDS:-300}"
