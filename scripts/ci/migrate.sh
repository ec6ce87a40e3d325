#!/usr/bin/env bash
# Run `alembic upgrade head` as a one-off Fargate task of the task definition that the
# release phase registered, in the service's private subnets and security group.
source "$(dirname "$0")/lib.sh"

stack="$(stack_for_branch)"
role_arn="$(deployment_role)"
ensure_venv requirements.txt
setup_aws_oidc "${role_arn}"
pulumi_login_and_select "${stack}"
outputs="$(write_stack_outputs "${stack}")"

log "migrating the ${stack} database"
"${PYTHON}" -m tools.migrate \
  --cluster "$(stack_output "${outputs}" clusterName)" \
  --task-definition "$(stack_output "${outputs}" taskDefinitionArn)" \
  --container "$(stack_output "${outputs}" containerName)" \
  --subnets "$(stack_output "${outputs}" privateSubnetIds)" \
  --security-groups "$(stack_output "${outputs}" serviceSecurityGroupId)" \
  --log-group "$(stack_output "${outputs}" logGroupName)" \
  --region "$(stack_output "${outputs}" region)" \
  --command "${MIGRATION_COMMAND:-alembic upgrade head}" \
  --timeout "${MIGRATION_TIMEOUT_SECONDS:-900}"
