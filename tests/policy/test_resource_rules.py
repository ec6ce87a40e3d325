"""Each resource rule, called through its pulumi-policy policy: one passing and one failing case.

Properties go through the policy SDK's unknown-checking proxy, as in a real preview, so the
rules are exercised on `Mapping`/`Sequence` proxies rather than plain dicts.
"""

import json
from typing import Any

import pytest
from pulumi_policy import ResourceValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from policy.context import RuleContext
from policy.pack import build_policies
from policy.rules import RESOURCE_RULES
from tests.policy.fixtures import GOOD, good, policy_document, task_with, without

ECR = "aws:ecr/repository:Repository"
CLUSTER = "aws:ecs/cluster:Cluster"
SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
TG = "aws:lb/targetGroup:TargetGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
RDS = "aws:rds/instance:Instance"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
EFS = "aws:efs/fileSystem:FileSystem"
AP = "aws:efs/accessPoint:AccessPoint"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
LOGS = "aws:cloudwatch/logGroup:LogGroup"


def validate(rule_id: str, resource_type: str, props: dict[str, Any], name: str = "res",
             context: RuleContext | None = None) -> list[str]:
    """Call one policy's validate as the analyzer would and return the reported messages."""
    ctx = context or RuleContext(stack="prod")
    policies = {p.name: p for p in build_policies(lambda: (ctx, None))}
    reported: list[str] = []
    args = ResourceValidationArgs(resource_type, unknown_checking_proxy(props),
                                  f"urn:pulumi:prod::webstack::{resource_type}::{name}", name,
                                  None, None)  # type: ignore[arg-type]
    policies[rule_id].validate(args, lambda message, urn=None: reported.append(message))
    return reported


# (rule id, resource type, failing properties, exact messages)
FAILING: list[tuple[str, str, dict[str, Any], list[str]]] = [
    ("ecr-scan-on-push", ECR, good(ECR, imageScanningConfiguration={"scanOnPush": False}),
     ["[ECR.1] aws:ecr/repository:Repository 'res': images are not scanned on push. "
      "Fix: set imageScanningConfiguration.scanOnPush to true."]),
    ("ecr-immutable-tags", ECR, without(ECR, "imageTagMutability"),
     ["[ECR.2] aws:ecr/repository:Repository 'res': image tags are MUTABLE (the AWS default). "
      'Fix: set imageTagMutability to "IMMUTABLE".']),
    ("ecs-container-insights", CLUSTER, good(CLUSTER, settings=[]),
     ["[ECS.12] aws:ecs/cluster:Cluster 'res': Container Insights is off. "
      'Fix: add settings [{name: "containerInsights", value: "enabled"}].']),
    ("ecs-service-no-public-ip", SERVICE,
     good(SERVICE, networkConfiguration={"assignPublicIp": True, "subnets": ["s"]}),
     ["[ECS.2] aws:ecs/service:Service 'res': tasks get a public IP address. "
      "Fix: set networkConfiguration.assignPublicIp to false and run the tasks in private "
      "subnets."]),
    ("ecs-platform-latest", SERVICE, good(SERVICE, platformVersion="1.4.0"),
     ["[ECS.10] aws:ecs/service:Service 'res': platformVersion is pinned to '1.4.0', so "
      "security fixes in newer Fargate platform versions never reach the tasks. "
      'Fix: remove platformVersion or set it to "LATEST".']),
    ("ecs-circuit-breaker", SERVICE,
     good(SERVICE, deploymentCircuitBreaker={"enable": True, "rollback": False}),
     ["aws:ecs/service:Service 'res': the deployment circuit breaker with rollback is off, so "
      "a failing rollout keeps replacing healthy tasks. "
      "Fix: set deploymentCircuitBreaker to {enable: true, rollback: true}."]),
    ("ecs-no-host-namespaces", TASK, good(TASK, pidMode="host", networkMode="host"),
     ["[ECS.3] aws:ecs/taskDefinition:TaskDefinition 'res': the task shares the host's process "
      'namespace. Fix: remove pidMode or set it to "task".',
      "[ECS.1] aws:ecs/taskDefinition:TaskDefinition 'res': the task uses the host network "
      'mode. Fix: set networkMode to "awsvpc".']),
    ("ecs-not-privileged", TASK, task_with(privileged=True),
     ["[ECS.4] aws:ecs/taskDefinition:TaskDefinition 'res': container 'web' is privileged. "
      "Fix: remove privileged or set it to false."]),
    ("ecs-read-only-root", TASK, task_with(readonlyRootFilesystem=False),
     ["[ECS.5] aws:ecs/taskDefinition:TaskDefinition 'res': container 'web' can write to its "
      "root filesystem. Fix: set readonlyRootFilesystem to true and mount a task volume where "
      "the app writes (for example /tmp)."]),
    ("ecs-no-secrets-in-environment", TASK,
     task_with(environment=[{"name": "OPENAI_API_KEY", "value": "sk-test"}]),
     ["[ECS.8] aws:ecs/taskDefinition:TaskDefinition 'res': container 'web' has plain "
      "environment variable 'OPENAI_API_KEY' that has a credential-like name. Fix: store the "
      "value in Secrets Manager and reference it under `secrets` (valueFrom), or rename a "
      "variable that holds no credential."]),
    ("ecs-log-driver", TASK, task_with(logConfiguration={}),
     ["[ECS.9] aws:ecs/taskDefinition:TaskDefinition 'res': container 'web' has no log driver. "
      'Fix: set logConfiguration.logDriver to "awslogs" with a log group.']),
    ("ecs-non-root-user", TASK, task_with(user="0:0"),
     ["[ECS.1] aws:ecs/taskDefinition:TaskDefinition 'res': container 'web' runs with user "
      "'0:0', which is root. Fix: set user to a non-root numeric UID:GID such as "
      '"10001:10001".']),
    ("ecs-efs-tls-iam", TASK,
     good(TASK, volumes=[{"name": "activity",
                          "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]),
     ["aws:ecs/taskDefinition:TaskDefinition 'res': EFS volume 'activity' is mounted without "
      'encryption in transit. Fix: set efsVolumeConfiguration.transitEncryption to "ENABLED".',
      "aws:ecs/taskDefinition:TaskDefinition 'res': EFS volume 'activity' is mounted without "
      "IAM authorization, so the file system policy cannot tell this task from any other "
      'client. Fix: set efsVolumeConfiguration.authorizationConfig.iam to "ENABLED" with an '
      "access point."]),
    ("ecs-separate-task-role", TASK,
     good(TASK, taskRoleArn=GOOD[TASK]["executionRoleArn"]),
     ["aws:ecs/taskDefinition:TaskDefinition 'res': the task role is the execution role, so "
      "the app's code can pull images and read every secret the task references. "
      "Fix: give taskRoleArn its own role, separate from executionRoleArn."]),
    ("alb-http-redirects-to-https", LISTENER,
     good(LISTENER, protocol="HTTP", port=80.0, sslPolicy=None, certificateArn=None),
     ["[ELB.1] aws:lb/listener:Listener 'res': the HTTP listener's default actions are "
      "['forward'], so plain HTTP reaches the application. Fix: make its only default action "
      'a redirect with protocol "HTTPS", port "443" and statusCode "HTTP_301".']),
    ("alb-tls-policy", LISTENER, good(LISTENER, sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06"),
     ["[ELB.17] aws:lb/listener:Listener 'res': the TLS policy is "
      "'ELBSecurityPolicy-TLS13-1-2-2021-06'. Fix: set sslPolicy to "
      '"ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09" or another policy on the ELB.17 list.']),
    ("alb-drop-invalid-headers", ALB, good(ALB, dropInvalidHeaderFields=False),
     ["[ELB.4] aws:lb/loadBalancer:LoadBalancer 'res': the load balancer forwards invalid HTTP "
      "header fields. Fix: set dropInvalidHeaderFields to true."]),
    ("alb-deletion-protection", ALB, without(ALB, "enableDeletionProtection"),
     ["[ELB.6] aws:lb/loadBalancer:LoadBalancer 'res': deletion protection is off. "
      "Fix: set enableDeletionProtection to true, or relax alb-deletion-protection with a "
      "reason in a non-prod stack file."]),
    ("alb-desync-mitigation", ALB, good(ALB, desyncMitigationMode="monitor"),
     ["[ELB.12] aws:lb/loadBalancer:LoadBalancer 'res': desync mitigation mode is 'monitor'. "
      'Fix: set desyncMitigationMode to "defensive" or "strictest".']),
    ("alb-multi-az", ALB, good(ALB, subnets=["subnet-pub-a"]),
     ["[ELB.13] aws:lb/loadBalancer:LoadBalancer 'res': the load balancer has 1 subnet(s). "
      "Fix: place it in public subnets of at least two Availability Zones."]),
    ("alb-health-check-path", TG, good(TG, healthCheck={"path": "/", "matcher": "200"}),
     ["aws:lb/targetGroup:TargetGroup 'res': the health check path is '/', so a page that "
      "renders without its dependencies counts as healthy. "
      'Fix: set healthCheck.path to the dedicated endpoint "/api/health".']),
    ("sg-world-open-web-only", SG,
     good(SG, ingress=[{"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0,
                        "cidrBlocks": ["0.0.0.0/0"]}]),
     ["[EC2.18] aws:ec2/securityGroup:SecurityGroup 'res': inline ingress rule 0 admits TCP "
      "ports 22.0-22.0 from the internet. Fix: open only TCP 80 or 443 to 0.0.0.0/0 or ::/0 "
      "(the ALB's group), and admit every other port only from a security group."]),
    ("rds-not-public", RDS, good(RDS, publiclyAccessible=True),
     ["[RDS.2] aws:rds/instance:Instance 'res': the database is publicly accessible. "
      "Fix: set publiclyAccessible to false and keep it in private subnets."]),
    ("rds-encrypted", RDS, good(RDS, storageEncrypted=False),
     ["[RDS.3] aws:rds/instance:Instance 'res': storage is not encrypted. "
      "Fix: set storageEncrypted to true (this replaces an existing instance)."]),
    ("rds-multi-az", RDS, good(RDS, multiAz=False),
     ["[RDS.5] aws:rds/instance:Instance 'res': the database has no multi-AZ standby. "
      "Fix: set multiAz to true, or relax rds-multi-az with a reason in a non-prod stack "
      "file."]),
    ("rds-deletion-protection", RDS, good(RDS, deletionProtection=False),
     ["[RDS.8] aws:rds/instance:Instance 'res': deletion protection is off. "
      "Fix: set deletionProtection to true, or relax rds-deletion-protection with a reason "
      "in a non-prod stack file."]),
    ("rds-final-snapshot", RDS, good(RDS, skipFinalSnapshot=True),
     ["aws:rds/instance:Instance 'res': deleting the database would take no final snapshot. "
      "Fix: set skipFinalSnapshot to false with a finalSnapshotIdentifier, or relax "
      "rds-final-snapshot with a reason in a non-prod stack file."]),
    ("rds-logs-exported", RDS, good(RDS, enabledCloudwatchLogsExports=["upgrade"]),
     ["[RDS.9] aws:rds/instance:Instance 'res': database logs exported to CloudWatch Logs "
      "are ['upgrade']. Fix: add ['postgresql'] to enabledCloudwatchLogsExports."]),
    ("rds-backup-retention", RDS, good(RDS, backupRetentionPeriod=3.0),
     ["[RDS.11] aws:rds/instance:Instance 'res': backups are kept 3 days. "
      "Fix: set backupRetentionPeriod to 7 days or more, or relax rds-backup-retention with "
      "a reason in a non-prod stack file."]),
    ("rds-minor-upgrades", RDS, good(RDS, autoMinorVersionUpgrade=False),
     ["[RDS.13] aws:rds/instance:Instance 'res': automatic minor version upgrades are off. "
      "Fix: set autoMinorVersionUpgrade to true."]),
    ("rds-copy-tags-to-snapshots", RDS, without(RDS, "copyTagsToSnapshot"),
     ["[RDS.17] aws:rds/instance:Instance 'res': tags are not copied to snapshots. "
      "Fix: set copyTagsToSnapshot to true."]),
    ("rds-admin-name", RDS, good(RDS, username="postgres"),
     ["[RDS.25] aws:rds/instance:Instance 'res': the master user name is the default "
      "'postgres'. Fix: set username to an application-specific name such as \"app\"."]),
    ("cache-backups", CACHE, good(CACHE, snapshotRetentionLimit=0.0),
     ["[ElastiCache.1] aws:elasticache/replicationGroup:ReplicationGroup 'res': automatic "
      "backups are off. Fix: set snapshotRetentionLimit to 1 day or more."]),
    ("cache-failover", CACHE, good(CACHE, automaticFailoverEnabled=False, multiAzEnabled=False),
     ["[ElastiCache.3] aws:elasticache/replicationGroup:ReplicationGroup 'res': "
      "automaticFailoverEnabled and multiAzEnabled off. Fix: set automaticFailoverEnabled "
      "and multiAzEnabled to true with 2 or more nodes, or relax cache-failover with a reason "
      "in a non-prod stack file."]),
    ("cache-encryption-at-rest", CACHE, good(CACHE, atRestEncryptionEnabled=False),
     ["[ElastiCache.4] aws:elasticache/replicationGroup:ReplicationGroup 'res': data at rest "
      "is not encrypted. Fix: set atRestEncryptionEnabled to true."]),
    ("cache-encryption-in-transit", CACHE, good(CACHE, transitEncryptionMode="preferred"),
     ["[ElastiCache.5] aws:elasticache/replicationGroup:ReplicationGroup 'res': clients may "
      "connect without TLS. Fix: set transitEncryptionEnabled to true "
      '(transitEncryptionMode "required").']),
    ("cache-auth", CACHE, without(CACHE, "authToken"),
     ["[ElastiCache.6] aws:elasticache/replicationGroup:ReplicationGroup 'res': clients need "
      "no credentials. Fix: set authToken from a Secrets Manager secret, or userGroupIds."]),
    ("cache-subnet-group", CACHE, without(CACHE, "subnetGroupName"),
     ["[ElastiCache.7] aws:elasticache/replicationGroup:ReplicationGroup 'res': the subnet "
      "group is 'the default one'. Fix: create an aws.elasticache.SubnetGroup of the private "
      "subnets and set subnetGroupName to it."]),
    ("efs-encrypted", EFS, good(EFS, encrypted=False),
     ["[EFS.1] aws:efs/fileSystem:FileSystem 'res': the file system is not encrypted. "
      "Fix: set encrypted to true (this replaces the file system)."]),
    ("efs-access-point-root", AP, good(AP, rootDirectory={"path": "/"}),
     ["[EFS.3] aws:efs/accessPoint:AccessPoint 'res': the access point exposes the file "
      "system's root directory. Fix: set rootDirectory.path to a subdirectory such as "
      '"/activity" with creationInfo.']),
    ("efs-access-point-user", AP, without(AP, "posixUser"),
     ["[EFS.4] aws:efs/accessPoint:AccessPoint 'res': the access point enforces no POSIX "
      "user. Fix: set posixUser to the container's uid and gid (10001)."]),
    ("iam-no-wildcard-actions", ROLE_POLICY,
     good(ROLE_POLICY, policy=policy_document({"Effect": "Allow", "Action": "s3:*",
                                               "Resource": "*"})),
     ["[IAM.21] aws:iam/rolePolicy:RolePolicy 'res': the policy allows every action of a "
      "service (s3:*). Fix: list the exact actions of that service the role needs."]),
    ("iam-no-kms-decrypt-all", ROLE_POLICY,
     good(ROLE_POLICY, policy=policy_document({"Effect": "Allow", "Action": ["kms:Decrypt"],
                                               "Resource": "*"})),
     ["[KMS.2] aws:iam/rolePolicy:RolePolicy 'res': the policy allows ['kms:decrypt'] on "
      "every KMS key. Fix: limit Resource to the ARNs of the keys the role must use, or add a "
      "kms:ViaService condition."]),
    ("iam-ecs-trust", ROLE,
     good(ROLE, assumeRolePolicy=policy_document({
         "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
         "Action": "sts:AssumeRole"})),
     ["aws:iam/role:Role 'res': ECS tasks of any account can assume the role (no "
      "aws:SourceAccount condition). Fix: add Condition {StringEquals: "
      '{"aws:SourceAccount": "<account id>"}}.']),
    ("logs-retention-set", LOGS, without(LOGS, "retentionInDays"),
     ["aws:cloudwatch/logGroup:LogGroup 'res': the log group has no retention, so it keeps "
      "logs forever. Fix: set retentionInDays, at least 90 in prod."]),
    ("logs-long-retention", LOGS, good(LOGS, retentionInDays=14.0),
     ["aws:cloudwatch/logGroup:LogGroup 'res': logs are kept 14 days. Fix: set "
      "retentionInDays to 90 or more, or relax logs-long-retention with a reason in a "
      "non-prod stack file."]),
]


@pytest.mark.parametrize("resource_type", sorted(GOOD))
def test_compliant_resource_passes_every_rule(resource_type):
    for rule in RESOURCE_RULES:
        if resource_type in rule.resource_types:
            assert validate(rule.id, resource_type, good(resource_type)) == [], rule.id


@pytest.mark.parametrize(("rule_id", "resource_type", "props", "expected"), FAILING,
                         ids=[case[0] for case in FAILING])
def test_rule_reports_exact_message(rule_id, resource_type, props, expected):
    assert validate(rule_id, resource_type, props) == expected


def test_every_resource_rule_has_a_failing_case():
    assert {case[0] for case in FAILING} == {rule.id for rule in RESOURCE_RULES}


def test_rule_ignores_other_resource_types():
    assert validate("rds-not-public", ECR, {"publiclyAccessible": True}) == []


RELAXED = [
    ("rds-multi-az", RDS, good(RDS, multiAz=False)),
    ("rds-deletion-protection", RDS, good(RDS, deletionProtection=False)),
    ("rds-final-snapshot", RDS, good(RDS, skipFinalSnapshot=True)),
    ("rds-backup-retention", RDS, good(RDS, backupRetentionPeriod=1.0)),
    ("alb-deletion-protection", ALB, good(ALB, enableDeletionProtection=False)),
    ("cache-failover", CACHE, good(CACHE, automaticFailoverEnabled=False)),
    ("logs-long-retention", LOGS, good(LOGS, retentionInDays=14.0)),
]


@pytest.mark.parametrize(("rule_id", "resource_type", "props"), RELAXED,
                         ids=[case[0] for case in RELAXED])
def test_relaxation_silences_only_its_rule(rule_id, resource_type, props):
    staging = RuleContext(stack="staging", relaxations={rule_id: "staging tolerates it"})
    assert validate(rule_id, resource_type, props) != []
    assert validate(rule_id, resource_type, props, context=staging) == []


def test_relaxed_backups_still_need_one_day():
    staging = RuleContext(stack="staging", relaxations={"rds-backup-retention": "cheap"})
    assert validate("rds-backup-retention", RDS, good(RDS, backupRetentionPeriod=0.0),
                    context=staging) == [
        "[RDS.11] aws:rds/instance:Instance 'res': automated backups are off "
        "(backupRetentionPeriod is 0 or unset). Fix: set backupRetentionPeriod to 7 days or "
        "more."]


def test_relaxing_one_rule_keeps_the_others():
    staging = RuleContext(stack="staging", relaxations={"rds-multi-az": "staging downtime ok"})
    assert validate("rds-not-public", RDS, good(RDS, publiclyAccessible=True, multiAz=False),
                    context=staging) != []


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("AWS_ACCESS_KEY_ID", "x", "is a static AWS credential name"),
    ("DATABASE_PASSWORD", "x", "has a credential-like name"),
    ("REDIS_AUTH_TOKEN", "x", "has a credential-like name"),
    ("UPSTREAM", "AKIAABCDEFGHIJKLMNOP", "holds an AWS access key id"),  # pragma: allowlist secret
    ("REDIS_URL", "rediss://:hunter2@cache:6379/0", "holds a URL with a password"),
])
def test_environment_credentials_detected(name, value, reason):
    messages = validate("ecs-no-secrets-in-environment", TASK,
                        task_with(environment=[{"name": name, "value": value}]))
    assert len(messages) == 1
    assert f"plain environment variable {name!r} that {reason}." in messages[0]


@pytest.mark.parametrize("name", ["OPENAI_MODEL", "DATABASE_SSLMODE", "ACTIVITY_LOG_DIR",
                                  "FILES_PREFIX", "OLLAMA_BASE_URL", "TMPDIR"])
def test_plain_settings_are_not_credentials(name):
    assert validate("ecs-no-secrets-in-environment", TASK,
                    task_with(environment=[{"name": name, "value": "value"}])) == []


@pytest.mark.parametrize("ingress", [
    {"protocol": "-1", "fromPort": 0.0, "toPort": 0.0, "ipv6CidrBlocks": ["::/0"]},
    {"protocol": "tcp", "fromPort": 80.0, "toPort": 443.0, "cidrBlocks": ["0.0.0.0/0"]},
    {"protocol": "udp", "fromPort": 443.0, "toPort": 443.0, "cidrBlocks": ["0.0.0.0/0"]},
])
def test_world_open_group_variants_rejected(ingress):
    assert len(validate("sg-world-open-web-only", SG, good(SG, ingress=[ingress]))) == 1


def test_world_open_standalone_rules_rejected():
    assert validate("sg-world-open-web-only", INGRESS,
                    good(INGRESS, fromPort=5432.0, toPort=5432.0)) == [
        "[EC2.18] aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule 'res': the rule "
        "admits TCP ports 5432.0-5432.0 from the internet. Fix: open only TCP 80 or 443 to "
        "0.0.0.0/0 or ::/0 (the ALB's group), and admit every other port only from a "
        "security group."]
    assert len(validate("sg-world-open-web-only", SG_RULE,
                        good(SG_RULE, cidrBlocks=["0.0.0.0/0"]))) == 1


def test_http_listener_redirect_passes():
    props = good(LISTENER, protocol="HTTP", port=80.0, defaultActions=[
        {"type": "redirect",
         "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}])
    assert validate("alb-http-redirects-to-https", LISTENER, props) == []


def test_https_listener_without_policy_named():
    messages = validate("alb-tls-policy", LISTENER, without(LISTENER, "sslPolicy"))
    assert messages == [
        "[ELB.17] aws:lb/listener:Listener 'res': the TLS policy is not set (AWS then uses "
        'ELBSecurityPolicy-2016-08). Fix: set sslPolicy to '
        '"ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09" or another policy on the ELB.17 list.']


def test_iam_full_admin_and_not_action_rejected():
    props = good(POLICY, policy=policy_document(
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    assert validate("iam-no-wildcard-actions", POLICY, props) == [
        "[IAM.1] aws:iam/policy:Policy 'res': the policy allows every action (*). "
        "Fix: list the exact actions the role needs.",
        "[IAM.21] aws:iam/policy:Policy 'res': the policy allows NotAction 'iam:*', which "
        "grants every other action. Fix: list the allowed actions under Action instead."]


def test_iam_inline_role_policies_checked():
    props = good(ROLE, inlinePolicies=[{"name": "app", "policy": policy_document(
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"})}])
    assert validate("iam-no-wildcard-actions", ROLE, props) == [
        "[IAM.21] aws:iam/role:Role 'res': inline policy 'app' allows every action of a "
        "service (dynamodb:*). Fix: list the exact actions of that service the role needs."]


def test_iam_trust_open_to_everyone_rejected():
    props = good(ROLE, assumeRolePolicy=policy_document(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}))
    assert validate("iam-ecs-trust", ROLE, props) == [
        "aws:iam/role:Role 'res': the trust policy lets any principal assume the role. "
        "Fix: trust only the service or account that needs the role."]


def test_iam_trust_of_other_services_ignored():
    props = good(ROLE, assumeRolePolicy=policy_document(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
         "Action": "sts:AssumeRole"}))
    assert validate("iam-ecs-trust", ROLE, props) == []


def test_unknown_value_skips_the_rule_in_preview():
    # In a preview the SDK raises on an unknown value and treats the policy as not applicable.
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

    props = good(TASK, containerDefinitions=UNKNOWN_STRING_VALUE)
    with pytest.raises(UnknownValueError):
        validate("ecs-read-only-root", TASK, props)


def test_secret_wrapped_auth_token_counts():
    from tools.mock_runtime import SECRET_SIG_KEY, SECRET_SIG_VALUE

    props = good(CACHE, authToken={SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": "t"})
    assert validate("cache-auth", CACHE, props) == []


def test_container_definitions_unreadable_reported():
    assert validate("ecs-log-driver", TASK, good(TASK, containerDefinitions="not json")) == [
        "aws:ecs/taskDefinition:TaskDefinition 'res': containerDefinitions is missing or not a "
        "JSON list, so its containers cannot be checked. "
        "Fix: pass a JSON array of container definitions."]


def test_policy_descriptions_name_controls():
    policies = {p.name: p for p in build_policies(lambda: (RuleContext(stack="prod"), None))}
    assert policies["ecr-scan-on-push"].description == (
        "ECR.1: ECR repositories scan every pushed image.")
    assert json.dumps(sorted(policies)) == json.dumps(sorted(
        [r.id for r in RESOURCE_RULES] + [p for p in policies if p not in
                                          {r.id for r in RESOURCE_RULES}]))
