#!/usr/bin/env bash
# Run `pulumi up` in one of the two phases of a release.
#   deploy.sh release   build and push the image, register the new task definition, apply
#                       every other change, but keep the service on its current task
#                       definition (stack config holdServiceTaskDefinition=true)
#   deploy.sh rollout   point the service at the new task definition and wait for the
#                       rolling deployment to reach a steady state
# Migrations run between the two (migrate.sh), so the service never runs new code on an
# old schema.
source "$(dirname "$0")/lib.sh"

# Stack config key the program reads: true keeps the ECS service on its current task
# definition while `pulumi up` builds the image and registers the new task definition.
HOLD_SERVICE_KEY="webstack:holdServiceTaskDefinition"

phase="${1:-}"
case "${phase}" in
  release) hold="true" ;;
  rollout) hold="false" ;;
  *) die "usage: deploy.sh release|rollout (got '${phase}')" ;;
esac

stack="$(stack_for_branch)"
role_arn="$(deployment_role)"
ensure_venv requirements.txt
setup_aws_oidc "${role_arn}"
pulumi_login_and_select "${stack}"
# The program tags the image with COMMIT_SHA, so both phases resolve the same image.
export COMMIT_SHA="${BITBUCKET_COMMIT:?BITBUCKET_COMMIT is not set}"
log "pulumi up --stack ${stack} (${phase}: ${HOLD_SERVICE_KEY}=${hold})"
pulumi up --stack "${stack}" --yes --diff --non-interactive --policy-pack policy \
  --config "${HOLD_SERVICE_KEY}=${hold}"
