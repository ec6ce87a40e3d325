#!/usr/bin/env bash
# Shared functions for the pipeline step scripts. Source it; do not run it.
#
# Every input comes from the environment, so a dry run can set BITBUCKET_BRANCH and friends
# and put stand-ins for `pulumi` and the virtualenv's tools on PATH:
#   CI_VENV_BIN        directory holding python, ruff, shellcheck, ... (default .venv/bin)
#   CI_SKIP_INSTALL    when 1, do not create or fill the virtualenv
#   WEBSTACK_STACK     stack to use instead of the one derived from BITBUCKET_BRANCH. Set it
#                      as a deployment variable when a second stage on a branch deploys
#                      another stack (docs/pipeline.md, "A second region").
#   PULUMI_BACKEND     s3 (default) or cloud; see docs/pipeline.md for the variables of each

set -euo pipefail

CI_VENV_BIN="${CI_VENV_BIN:-.venv/bin}"
PYTHON="${CI_VENV_BIN}/python"

log() {
  printf '==> %s\n' "$*"
}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Fail with the variable's name unless every named variable is set and non-empty.
require_env() {
  local name
  for name in "$@"; do
    if [[ -z "${!name:-}" ]]; then
      die "${name} is not set; define it as a repository or deployment variable (docs/pipeline.md)"
    fi
  done
}

# Create the virtualenv and install one requirements file into it (the venv and pip caches
# make this a no-op when the lock files did not change).
ensure_venv() {
  local requirements="${1:-requirements-dev.txt}"
  if [[ "${CI_SKIP_INSTALL:-0}" == "1" ]]; then
    return 0
  fi
  if [[ ! -x "${PYTHON}" ]]; then
    log "creating virtualenv .venv"
    python3 -m venv .venv
  fi
  "${PYTHON}" -m pip install --disable-pip-version-check --quiet -r "${requirements}"
}

# Branches that deploy, each as <branch>=<stack>. stack_for_branch maps a branch through
# this list and its error message lists it, so a new environment adds one entry here.
DEPLOY_BRANCHES=(
  develop=staging
  main=prod
)

# Print the stack of the current branch, or WEBSTACK_STACK when it is set.
stack_for_branch() {
  if [[ -n "${WEBSTACK_STACK:-}" ]]; then
    printf '%s\n' "${WEBSTACK_STACK}"
    return 0
  fi
  if [[ -z "${BITBUCKET_BRANCH:-}" ]]; then
    die "BITBUCKET_BRANCH is not set and WEBSTACK_STACK is not given"
  fi
  local entry deploying=""
  for entry in "${DEPLOY_BRANCHES[@]}"; do
    if [[ "${entry%%=*}" == "${BITBUCKET_BRANCH}" ]]; then
      printf '%s\n' "${entry#*=}"
      return 0
    fi
    deploying+="${deploying:+, }${entry%%=*} (${entry#*=})"
  done
  die "branch '${BITBUCKET_BRANCH}' deploys no stack. Only these branches deploy: ${deploying}. To add one, see 'A new environment' in docs/pipeline.md"
}

# Turn the step's OIDC token into the web identity credentials that boto3 and the Pulumi
# AWS provider read (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE). Static keys are rejected.
setup_aws_oidc() {
  local role_arn="$1"
  if [[ -n "${AWS_ACCESS_KEY_ID:-}${AWS_SECRET_ACCESS_KEY:-}" ]]; then
    die "AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY is set; this pipeline authenticates by OIDC only, delete those variables"
  fi
  require_env BITBUCKET_STEP_OIDC_TOKEN AWS_REGION
  if [[ ! "${role_arn}" =~ ^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+ ]]; then
    die "role ARN '${role_arn}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
  fi
  local token_file
  token_file="$(mktemp "${TMPDIR:-/tmp}/oidc-token.XXXXXX")"
  chmod 600 "${token_file}"
  printf '%s' "${BITBUCKET_STEP_OIDC_TOKEN}" > "${token_file}"
  export AWS_WEB_IDENTITY_TOKEN_FILE="${token_file}"
  export AWS_ROLE_ARN="${role_arn}"
  export AWS_ROLE_SESSION_NAME="bitbucket-${BITBUCKET_BUILD_NUMBER:-local}"
  export AWS_DEFAULT_REGION="${AWS_REGION}"
  log "AWS access: web identity for ${AWS_ROLE_ARN}"
}

# The role of a deployment step. AWS_ROLE_ARN must be a deployment variable, so a step
# outside a deployment environment never picks up a deploy role.
deployment_role() {
  if [[ -z "${BITBUCKET_DEPLOYMENT_ENVIRONMENT:-}" ]]; then
    die "this step has no deployment environment, so it may not use AWS_ROLE_ARN"
  fi
  require_env AWS_ROLE_ARN
  printf '%s\n' "${AWS_ROLE_ARN}"
}

# Log in to the state backend and select the stack (never create it: an admin runs
# `pulumi stack init` once, see docs/pipeline.md).
pulumi_login_and_select() {
  local stack="$1"
  local qualified="${stack}"
  case "${PULUMI_BACKEND:-s3}" in
    s3)
      require_env PULUMI_STATE_BUCKET AWS_REGION
      pulumi login "s3://${PULUMI_STATE_BUCKET}?region=${AWS_REGION}&awssdk=v2"
      ;;
    cloud)
      require_env PULUMI_ACCESS_TOKEN PULUMI_ORG
      pulumi login
      qualified="${PULUMI_ORG}/${stack}"
      ;;
    *)
      die "PULUMI_BACKEND '${PULUMI_BACKEND}' is invalid; use s3 or cloud"
      ;;
  esac
  pulumi stack select "${qualified}" --non-interactive
}

# Write the stack's exports to a file and print its path.
write_stack_outputs() {
  local stack="$1"
  local file="${TMPDIR:-/tmp}/stack-outputs-${stack}.json"
  pulumi stack output --json > "${file}"
  printf '%s\n' "${file}"
}

# Print one export from a file written by write_stack_outputs (lists comma-joined).
stack_output() {
  "${PYTHON}" -m tools.stack_outputs "$1" "$2"
}
