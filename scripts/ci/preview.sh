#!/usr/bin/env bash
# Show what `pulumi up` would change, with a read-only role.
#   preview.sh            stack from the branch, role from the deployment variable AWS_ROLE_ARN
#   preview.sh staging    pull requests: role from the repository variable AWS_PREVIEW_ROLE_ARN
source "$(dirname "$0")/lib.sh"

if [[ $# -ge 1 ]]; then
  stack="$1"
else
  stack="$(stack_for_branch)"
fi

if [[ -n "${BITBUCKET_PR_ID:-}" ]]; then
  if [[ -z "${BITBUCKET_STEP_OIDC_TOKEN:-}" ]]; then
    # NOTE: assumes Bitbucket issues no OIDC token to pull requests from forks; the offline
    # plan step still renders both stacks for them.
    log "no OIDC token in this pull request (a fork?): skipped the AWS preview of ${stack}"
    exit 0
  fi
  require_env AWS_PREVIEW_ROLE_ARN
  role_arn="${AWS_PREVIEW_ROLE_ARN}"
else
  role_arn="$(deployment_role)"
fi

ensure_venv requirements.txt
setup_aws_oidc "${role_arn}"
pulumi_login_and_select "${stack}"
export COMMIT_SHA="${BITBUCKET_COMMIT:?BITBUCKET_COMMIT is not set}"
log "pulumi preview --stack ${stack} --policy-pack policy"
pulumi preview --stack "${stack}" --diff --non-interactive --policy-pack policy
