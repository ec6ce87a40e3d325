"""FargateService: children, their exact inputs, and every input check."""

import json

import pulumi
import pytest

from components.attachment import EfsMount, IngressGrant, ServiceAttachment
from components.errors import ComponentInputError
from components.fargate_service import (
    SERVICE_IGNORE_CHANGES,
    FargateService,
    FargateServiceArgs,
    LoadBalancerTarget,
)
from tools.mock_runtime import ACCOUNT_ID, RecordingMonitor, run

CLUSTER = "aws:ecs/cluster:Cluster"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SERVICE = "aws:ecs/service:Service"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
COMPONENT_KEY = "webstack:ecs:FargateService::web"

REPO_ARN = f"arn:aws:ecr:us-east-1:{ACCOUNT_ID}:repository/app"
TASK_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/app-role-1234"
IMAGE = f"{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/app@sha256:{'a' * 64}"
ALB_SG = "sg-alb0001"
DB_SG = "sg-db0001"
CACHE_SG = "sg-cache01"
EFS_SG = "sg-efs0001"
OPENAI_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:secret:openai-AbCdEf"
DB_SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:secret:rds!db-1-AbCdEf"
REDIS_SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:secret:redis-AbCdEf"

LOAD_BALANCER = LoadBalancerTarget(
    target_group_arn=f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT_ID}:targetgroup/tg/1",
    security_group_id=ALB_SG,
    load_balancer_arn_suffix="app/alb/50dc6c495c0c9188",
    target_group_arn_suffix="targetgroup/tg/73e2d6bc24d8a067",
)


def database() -> ServiceAttachment:
    return ServiceAttachment(
        name="database",
        ingress=[IngressGrant(security_group_id=DB_SG, port=5432, description="PostgreSQL")],
        environment={"DATABASE_HOST": "db.example.internal", "DATABASE_PORT": "5432"},
        secrets={
            "DATABASE_USER": f"{DB_SECRET_ARN}:username::",
            "DATABASE_PASSWORD": f"{DB_SECRET_ARN}:password::",
        },
        secret_arns=[DB_SECRET_ARN],
    )


def cache() -> ServiceAttachment:
    return ServiceAttachment(
        name="cache",
        ingress=[IngressGrant(security_group_id=CACHE_SG, port=6379, description="Redis")],
        environment={"REDIS_URL": "rediss://cache.example.internal:6379/0"},
        secrets={"REDIS_AUTH_TOKEN": REDIS_SECRET_ARN},
        secret_arns=[REDIS_SECRET_ARN],
    )


def activity_log() -> ServiceAttachment:
    return ServiceAttachment(
        name="activity-log",
        ingress=[IngressGrant(security_group_id=EFS_SG, port=2049, description="NFS")],
        environment={"ACTIVITY_LOG_DIR": "/mnt/activity"},
        efs_mounts=[
            EfsMount(
                volume_name="activity",
                file_system_id="fs-1234",
                access_point_id="fsap-5678",
                container_path="/mnt/activity",
            )
        ],
    )


def service_args(**overrides) -> FargateServiceArgs:
    fields = {
        "account_id": ACCOUNT_ID,
        "vpc_id": "vpc-0001",
        "subnet_ids": ["subnet-a", "subnet-b"],
        "image_uri": IMAGE,
        "repository_arn": REPO_ARN,
        "task_role_arn": TASK_ROLE_ARN,
        "load_balancer": LOAD_BALANCER,
    }
    fields.update(overrides)
    return FargateServiceArgs(**fields)


def full_args(**overrides) -> FargateServiceArgs:
    """Args with every kind of attachment, secrets and a request-count target."""
    fields = {
        "environment": {"APP_ENV": "prod", "LOG_LEVEL": "info"},
        "secrets": {"OPENAI_API_KEY": OPENAI_ARN},
        "secret_arns": [OPENAI_ARN],
        "attachments": [database(), cache(), activity_log()],
        "requests_per_target": 500,
    }
    fields.update(overrides)
    return service_args(**fields)


class OptionsMonitor(RecordingMonitor):
    """Also records what the mocks do not pass on: ignoreChanges and dependencies."""

    def __init__(self, mocks) -> None:
        super().__init__(mocks)
        self.ignore_changes: dict[str, list[str]] = {}
        self.dependencies: dict[str, list[str]] = {}

    def RegisterResource(self, request):
        self.ignore_changes[request.name] = list(request.ignoreChanges)
        self.dependencies[request.name] = list(request.dependencies)
        return super().RegisterResource(request)


@pytest.fixture
def monitor(pulumi_mocks) -> OptionsMonitor:
    monitor = OptionsMonitor(pulumi_mocks)
    pulumi.runtime.set_mocks(
        pulumi_mocks, project="webstack", stack="test", preview=False, monitor=monitor
    )
    return monitor


def declare(args: FargateServiceArgs) -> dict:
    """Declare FargateService `web` and return its outputs as plain values."""
    outputs: dict = {}

    def program() -> None:
        service = FargateService("web", args)
        names = [
            "cluster_name",
            "cluster_arn",
            "service_name",
            "service_arn",
            "task_definition_arn",
            "container_name",
            "log_group_name",
            "security_group_id",
            "execution_role_arn",
        ]
        pulumi.Output.all(*[getattr(service, n) for n in names]).apply(
            lambda values: outputs.update(zip(names, values, strict=True))
        )

    run(program)
    return outputs


def container(mocks) -> dict:
    definitions = json.loads(mocks.find(TASK, "web-task").inputs["containerDefinitions"])
    assert len(definitions) == 1
    return definitions[0]


def exec_policy(mocks) -> dict:
    return json.loads(mocks.find(ROLE_POLICY, "web-exec-policy").inputs["policy"])


# -- container definition ------------------------------------------------------------------


def test_container_definition_is_exact(pulumi_mocks):
    declare(full_args())
    log_group_name = pulumi_mocks.find(LOG_GROUP, "web-logs").outputs["name"]

    assert container(pulumi_mocks) == {
        "name": "web",
        "image": IMAGE,
        "essential": True,
        "portMappings": [{"containerPort": 8000, "protocol": "tcp"}],
        "user": "10001:10001",
        "readonlyRootFilesystem": True,
        "privileged": False,
        "mountPoints": [
            {"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False},
            {"sourceVolume": "activity", "containerPath": "/mnt/activity", "readOnly": False},
        ],
        "environment": [
            {"name": "ACTIVITY_LOG_DIR", "value": "/mnt/activity"},
            {"name": "APP_ENV", "value": "prod"},
            {"name": "DATABASE_HOST", "value": "db.example.internal"},
            {"name": "DATABASE_PORT", "value": "5432"},
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "PORT", "value": "8000"},
            {"name": "REDIS_URL", "value": "rediss://cache.example.internal:6379/0"},
        ],
        "secrets": [
            {"name": "DATABASE_PASSWORD", "valueFrom": f"{DB_SECRET_ARN}:password::"},
            {"name": "DATABASE_USER", "valueFrom": f"{DB_SECRET_ARN}:username::"},
            {"name": "OPENAI_API_KEY", "valueFrom": OPENAI_ARN},
            {"name": "REDIS_AUTH_TOKEN", "valueFrom": REDIS_SECRET_ARN},
        ],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group_name,
                "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "web",
            },
        },
        "healthCheck": {
            "command": [
                "CMD",
                "python",
                "-c",
                "import urllib.request; "
                "urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=2)",
            ],
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 30,
        },
        "stopTimeout": 30,
        "linuxParameters": {"initProcessEnabled": True},
    }


def test_secret_values_appear_only_in_secrets(pulumi_mocks):
    declare(full_args())

    definition = container(pulumi_mocks)
    plain = json.dumps(definition["environment"])
    for secret in definition["secrets"]:
        assert secret["name"] not in plain
        assert secret["valueFrom"] not in plain
    assert "secretsmanager" not in plain


def test_environment_values_from_outputs_are_resolved(pulumi_mocks):
    host = pulumi.Output.from_input("db.internal")

    declare(service_args(environment={"DATABASE_HOST": host}))

    assert {"name": "DATABASE_HOST", "value": "db.internal"} in container(pulumi_mocks)[
        "environment"
    ]


def test_port_variable_follows_container_port(pulumi_mocks):
    declare(service_args(container_port=9000))

    definition = container(pulumi_mocks)
    assert {"name": "PORT", "value": "9000"} in definition["environment"]
    assert definition["portMappings"] == [{"containerPort": 9000, "protocol": "tcp"}]
    assert "http://127.0.0.1:9000/api/health" in definition["healthCheck"]["command"][3]


def test_minimal_service_has_no_secrets(pulumi_mocks):
    declare(service_args())

    assert container(pulumi_mocks)["secrets"] == []


# -- task definition -----------------------------------------------------------------------


def test_task_definition_inputs(pulumi_mocks):
    declare(full_args(cpu=1024, memory_mib=3072))

    task = pulumi_mocks.find(TASK, "web-task").inputs
    assert task["family"] == "webstack-test-web"
    assert task["networkMode"] == "awsvpc"
    assert task["requiresCompatibilities"] == ["FARGATE"]
    assert task["cpu"] == "1024"
    assert task["memory"] == "3072"
    assert task["runtimePlatform"] == {
        "operatingSystemFamily": "LINUX",
        "cpuArchitecture": "X86_64",
    }


def test_task_volumes_are_scratch_and_efs(pulumi_mocks):
    declare(full_args())

    assert pulumi_mocks.find(TASK, "web-task").inputs["volumes"] == [
        {"name": "scratch"},
        {
            "name": "activity",
            "efsVolumeConfiguration": {
                "fileSystemId": "fs-1234",
                "transitEncryption": "ENABLED",
                "authorizationConfig": {"accessPointId": "fsap-5678", "iam": "ENABLED"},
            },
        },
    ]


def test_execution_role_differs_from_task_role(pulumi_mocks):
    outputs = declare(service_args())

    task = pulumi_mocks.find(TASK, "web-task").inputs
    exec_role_arn = pulumi_mocks.find(ROLE, "web-exec-role").outputs["arn"]
    assert task["executionRoleArn"] == exec_role_arn
    assert task["taskRoleArn"] == TASK_ROLE_ARN
    assert exec_role_arn != TASK_ROLE_ARN
    assert outputs["execution_role_arn"] == exec_role_arn


# -- execution role ------------------------------------------------------------------------


def test_execution_role_trusts_ecs_tasks_of_account(pulumi_mocks):
    declare(service_args())

    trust = json.loads(pulumi_mocks.find(ROLE, "web-exec-role").inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
                "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:*:{ACCOUNT_ID}:*"},
            },
        }
    ]


def test_execution_policy_is_exact(pulumi_mocks):
    declare(full_args())
    log_group_arn = pulumi_mocks.find(LOG_GROUP, "web-logs").outputs["arn"]

    assert exec_policy(pulumi_mocks) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EcrAuthorization",
                "Effect": "Allow",
                "Action": ["ecr:GetAuthorizationToken"],
                "Resource": "*",
            },
            {
                "Sid": "PullImage",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": [REPO_ARN],
            },
            {
                "Sid": "WriteLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group_arn, f"{log_group_arn}:*"],
            },
            {
                "Sid": "ReadSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": sorted([OPENAI_ARN, DB_SECRET_ARN, REDIS_SECRET_ARN]),
            },
        ],
    }


def test_execution_policy_without_secrets_has_no_secret_statement(pulumi_mocks):
    declare(service_args(attachments=[activity_log()]))

    sids = [s["Sid"] for s in exec_policy(pulumi_mocks)["Statement"]]
    assert sids == ["EcrAuthorization", "PullImage", "WriteLogs"]


def test_only_auth_token_has_wildcard_resource(pulumi_mocks):
    declare(full_args())

    for statement in exec_policy(pulumi_mocks)["Statement"]:
        assert all("*" not in action for action in statement["Action"])
        if statement["Resource"] == "*":
            assert statement["Action"] == ["ecr:GetAuthorizationToken"]


def test_execution_policy_is_attached_to_execution_role(pulumi_mocks):
    declare(service_args())

    role_name = pulumi_mocks.find(ROLE, "web-exec-role").outputs["name"]
    assert pulumi_mocks.find(ROLE_POLICY, "web-exec-policy").inputs["role"] == role_name


# -- cluster and logs ----------------------------------------------------------------------


def test_cluster_has_container_insights(pulumi_mocks):
    declare(service_args())

    settings = pulumi_mocks.find(CLUSTER, "web-cluster").inputs["settings"]
    assert settings == [{"name": "containerInsights", "value": "enabled"}]


def test_log_group_keeps_logs_for_retention(pulumi_mocks):
    declare(service_args(log_retention_days=90))

    assert pulumi_mocks.find(LOG_GROUP, "web-logs").inputs["retentionInDays"] == 90


# -- security groups -----------------------------------------------------------------------


def rule(mocks, typ: str, name: str) -> dict:
    inputs = mocks.find(typ, name).inputs
    keys = (
        "securityGroupId",
        "referencedSecurityGroupId",
        "cidrIpv4",
        "ipProtocol",
        "fromPort",
        "toPort",
    )
    return {k: inputs[k] for k in keys if k in inputs}


def test_service_group_has_no_inline_rules(pulumi_mocks):
    declare(full_args())

    group = pulumi_mocks.find(SG, "web-sg").inputs
    assert group["vpcId"] == "vpc-0001"
    assert "ingress" not in group
    assert "egress" not in group


def test_service_accepts_only_load_balancer(pulumi_mocks):
    declare(service_args())
    service_sg = pulumi_mocks.find(SG, "web-sg").outputs["id"]

    assert rule(pulumi_mocks, INGRESS, "web-alb-in") == {
        "securityGroupId": service_sg,
        "referencedSecurityGroupId": ALB_SG,
        "ipProtocol": "tcp",
        "fromPort": 8000,
        "toPort": 8000,
    }
    ingress_on_service = [
        r.name for r in pulumi_mocks.of_type(INGRESS) if r.inputs["securityGroupId"] == service_sg
    ]
    assert ingress_on_service == ["web-alb-in"]


def test_load_balancer_may_reach_service_port(pulumi_mocks):
    declare(service_args())
    service_sg = pulumi_mocks.find(SG, "web-sg").outputs["id"]

    assert rule(pulumi_mocks, EGRESS, "web-alb-out") == {
        "securityGroupId": ALB_SG,
        "referencedSecurityGroupId": service_sg,
        "ipProtocol": "tcp",
        "fromPort": 8000,
        "toPort": 8000,
    }


def test_service_egress_to_internet_is_https_only(pulumi_mocks):
    declare(service_args())
    service_sg = pulumi_mocks.find(SG, "web-sg").outputs["id"]

    assert rule(pulumi_mocks, EGRESS, "web-https-out") == {
        "securityGroupId": service_sg,
        "cidrIpv4": "0.0.0.0/0",
        "ipProtocol": "tcp",
        "fromPort": 443,
        "toPort": 443,
    }
    internet_rules = [r.name for r in pulumi_mocks.of_type(EGRESS) if "cidrIpv4" in r.inputs]
    assert internet_rules == ["web-https-out"]


@pytest.mark.parametrize(
    ("attachment", "data_sg", "port"),
    [("database", DB_SG, 5432), ("cache", CACHE_SG, 6379), ("activity-log", EFS_SG, 2049)],
)
def test_attachment_rules_join_service_and_data_group(pulumi_mocks, attachment, data_sg, port):
    declare(full_args())
    service_sg = pulumi_mocks.find(SG, "web-sg").outputs["id"]

    assert rule(pulumi_mocks, INGRESS, f"web-{attachment}-{port}-in") == {
        "securityGroupId": data_sg,
        "referencedSecurityGroupId": service_sg,
        "ipProtocol": "tcp",
        "fromPort": port,
        "toPort": port,
    }
    assert rule(pulumi_mocks, EGRESS, f"web-{attachment}-{port}-out") == {
        "securityGroupId": service_sg,
        "referencedSecurityGroupId": data_sg,
        "ipProtocol": "tcp",
        "fromPort": port,
        "toPort": port,
    }


def test_attachment_rules_describe_purpose(pulumi_mocks):
    declare(full_args())

    assert pulumi_mocks.find(INGRESS, "web-database-5432-in").inputs["description"] == "PostgreSQL"
    egress = pulumi_mocks.find(EGRESS, "web-database-5432-out").inputs["description"]
    assert egress == "To the database service on port 5432"


def test_rule_names_do_not_depend_on_attachment_order(pulumi_mocks):
    declare(full_args(attachments=[activity_log(), cache(), database()]))

    names = sorted(r.name for r in pulumi_mocks.of_type(INGRESS) + pulumi_mocks.of_type(EGRESS))
    assert names == sorted(
        [
            "web-alb-in",
            "web-alb-out",
            "web-https-out",
            "web-database-5432-in",
            "web-database-5432-out",
            "web-cache-6379-in",
            "web-cache-6379-out",
            "web-activity-log-2049-in",
            "web-activity-log-2049-out",
        ]
    )


# -- service -------------------------------------------------------------------------------


def test_service_inputs(pulumi_mocks):
    declare(service_args(health_check_grace_seconds=90))
    service = pulumi_mocks.find(SERVICE, "web-service").inputs
    service_sg = pulumi_mocks.find(SG, "web-sg").outputs["id"]

    assert service["cluster"] == pulumi_mocks.find(CLUSTER, "web-cluster").outputs["arn"]
    assert service["taskDefinition"] == pulumi_mocks.find(TASK, "web-task").outputs["arn"]
    assert service["launchType"] == "FARGATE"
    assert service["platformVersion"] == "LATEST"
    assert service["desiredCount"] == 2
    assert service["networkConfiguration"] == {
        "subnets": ["subnet-a", "subnet-b"],
        "securityGroups": [service_sg],
        "assignPublicIp": False,
    }
    assert service["loadBalancers"] == [
        {
            "targetGroupArn": LOAD_BALANCER.target_group_arn,
            "containerName": "web",
            "containerPort": 8000,
        }
    ]
    assert service["healthCheckGracePeriodSeconds"] == 90
    assert service["enableEcsManagedTags"] is True
    assert service["propagateTags"] == "SERVICE"
    assert service["enableExecuteCommand"] is False
    assert "forceNewDeployment" not in service


def test_failed_rollout_rolls_back_and_fails_up(pulumi_mocks):
    declare(service_args())
    service = pulumi_mocks.find(SERVICE, "web-service").inputs

    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service["waitForSteadyState"] is True
    assert service["deploymentMinimumHealthyPercent"] == 100
    assert service["deploymentMaximumPercent"] == 200


def test_service_ignores_desired_count_changes(monitor):
    declare(service_args())

    assert SERVICE_IGNORE_CHANGES == ["desiredCount"]
    assert monitor.ignore_changes["web-service"] == ["desiredCount"]


def test_held_release_keeps_service_task_definition(monitor):
    declare(service_args(hold_task_definition=True))

    assert monitor.ignore_changes["web-service"] == ["desiredCount", "taskDefinition"]


def test_held_release_still_registers_task_definition(monitor, pulumi_mocks):
    declare(service_args(hold_task_definition=True))

    task = pulumi_mocks.find("aws:ecs/taskDefinition:TaskDefinition", "web-task")
    service = pulumi_mocks.find(SERVICE, "web-service").inputs
    assert service["taskDefinition"] == task.outputs["arn"]


def test_only_service_ignores_changes(monitor):
    declare(full_args())

    ignoring = sorted(name for name, keys in monitor.ignore_changes.items() if keys)
    assert ignoring == ["web-service"]


def test_service_waits_for_rules_and_execution_policy(monitor, pulumi_mocks):
    declare(full_args())

    dependencies = set(monitor.dependencies["web-service"])
    rules = pulumi_mocks.of_type(INGRESS) + pulumi_mocks.of_type(EGRESS)
    assert len(rules) == 9
    for record in rules:
        assert record.urn in dependencies, record.name
    assert pulumi_mocks.find(ROLE_POLICY, "web-exec-policy").urn in dependencies


# -- autoscaling ---------------------------------------------------------------------------


def test_scaling_target_is_service_desired_count(pulumi_mocks):
    declare(service_args(min_tasks=3, max_tasks=10))
    cluster_name = pulumi_mocks.find(CLUSTER, "web-cluster").outputs["name"]
    service_name = pulumi_mocks.find(SERVICE, "web-service").outputs["name"]

    assert pulumi_mocks.find(SCALING_TARGET, "web-scaling").inputs == {
        "serviceNamespace": "ecs",
        "scalableDimension": "ecs:service:DesiredCount",
        "resourceId": f"service/{cluster_name}/{service_name}",
        "minCapacity": 3,
        "maxCapacity": 10,
    }
    assert pulumi_mocks.find(SERVICE, "web-service").inputs["desiredCount"] == 3


def policy_config(mocks, suffix: str) -> dict:
    policy = mocks.find(SCALING_POLICY, f"web-scaling-{suffix}").inputs
    assert policy["policyType"] == "TargetTrackingScaling"
    return policy["targetTrackingScalingPolicyConfiguration"]


def test_scaling_tracks_cpu_and_memory(pulumi_mocks):
    declare(service_args(cpu_target_percent=55, memory_target_percent=80))

    assert policy_config(pulumi_mocks, "cpu") == {
        "targetValue": 55,
        "predefinedMetricSpecification": {
            "predefinedMetricType": "ECSServiceAverageCPUUtilization",
        },
        "scaleInCooldown": 300,
        "scaleOutCooldown": 60,
    }
    assert policy_config(pulumi_mocks, "memory") == {
        "targetValue": 80,
        "predefinedMetricSpecification": {
            "predefinedMetricType": "ECSServiceAverageMemoryUtilization",
        },
        "scaleInCooldown": 300,
        "scaleOutCooldown": 60,
    }


def test_scaling_policies_use_target_resource(pulumi_mocks):
    declare(full_args())
    target = pulumi_mocks.find(SCALING_TARGET, "web-scaling").inputs

    for record in pulumi_mocks.of_type(SCALING_POLICY):
        assert record.inputs["resourceId"] == target["resourceId"]
        assert record.inputs["scalableDimension"] == "ecs:service:DesiredCount"
        assert record.inputs["serviceNamespace"] == "ecs"


def test_request_policy_labels_balancer_and_group(pulumi_mocks):
    declare(service_args(requests_per_target=500))

    assert policy_config(pulumi_mocks, "requests") == {
        "targetValue": 500,
        "predefinedMetricSpecification": {
            "predefinedMetricType": "ALBRequestCountPerTarget",
            "resourceLabel": "app/alb/50dc6c495c0c9188/targetgroup/tg/73e2d6bc24d8a067",
        },
        "scaleInCooldown": 300,
        "scaleOutCooldown": 60,
    }


def test_no_request_policy_without_target(pulumi_mocks):
    declare(service_args())

    names = sorted(r.name for r in pulumi_mocks.of_type(SCALING_POLICY))
    assert names == ["web-scaling-cpu", "web-scaling-memory"]


# -- outputs and tree ----------------------------------------------------------------------


def test_outputs_name_the_children(pulumi_mocks):
    outputs = declare(service_args())

    cluster = pulumi_mocks.find(CLUSTER, "web-cluster").outputs
    assert outputs["cluster_name"] == cluster["name"]
    assert outputs["cluster_arn"] == cluster["arn"]
    assert outputs["service_name"] == pulumi_mocks.find(SERVICE, "web-service").outputs["name"]
    assert outputs["task_definition_arn"] == pulumi_mocks.find(TASK, "web-task").outputs["arn"]
    assert outputs["container_name"] == "web"
    assert outputs["log_group_name"] == pulumi_mocks.find(LOG_GROUP, "web-logs").outputs["name"]
    assert outputs["security_group_id"] == pulumi_mocks.find(SG, "web-sg").outputs["id"]


def test_every_child_has_component_parent(pulumi_mocks):
    declare(full_args())

    children = [r for r in pulumi_mocks.records if r.type != "webstack:ecs:FargateService"]
    assert len(children) == 20
    orphans = [r.name for r in children if r.parent != COMPONENT_KEY]
    assert orphans == []


# -- input checks --------------------------------------------------------------------------


def rejected(pulumi_mocks, args_factory, **overrides) -> str:
    """Declare with `overrides`, expect ComponentInputError, check nothing was created."""
    with pytest.raises(ComponentInputError) as caught:
        declare(args_factory(**overrides))
    assert [r.type for r in pulumi_mocks.records if r.custom] == []
    return str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"account_id": "12345"}, "invalid account_id='12345'; an AWS account id is exactly 12"),
        ({"cpu": 300}, "invalid cpu=300; Fargate accepts CPU units 256, 512"),
        ({"cpu": 256, "memory_mib": 4096}, "invalid memory_mib=4096; with cpu=256"),
        ({"container_port": 0}, "invalid container_port=0; a TCP port is 1 to 65535."),
        ({"container_port": 65536}, "invalid container_port=65536; a TCP port"),
        ({"container_name": "web app"}, "invalid container_name='web app'; container names"),
        ({"min_tasks": 0}, "invalid min_tasks=0; at least 1 task"),
        (
            {"min_tasks": 3, "max_tasks": 2},
            "invalid max_tasks=2; max_tasks is an integer of at least min_tasks=3",
        ),
        ({"max_tasks": 101}, "invalid max_tasks=101; at most 100 tasks"),
        ({"cpu_target_percent": 0}, "invalid cpu_target_percent=0; a utilization target is 1"),
        ({"cpu_target_percent": 101}, "invalid cpu_target_percent=101; a utilization target"),
        ({"memory_target_percent": 0}, "invalid memory_target_percent=0; a utilization"),
        ({"memory_target_percent": 101}, "invalid memory_target_percent=101; a utilization"),
        ({"requests_per_target": 0}, "invalid requests_per_target=0; requests per target"),
        ({"log_retention_days": 10}, "invalid log_retention_days=10; CloudWatch Logs accepts"),
        ({"health_check_grace_seconds": -1}, "invalid health_check_grace_seconds=-1; a grace"),
        ({"stop_timeout_seconds": 121}, "invalid stop_timeout_seconds=121; Fargate accepts 2"),
        ({"stop_timeout_seconds": 1}, "invalid stop_timeout_seconds=1; Fargate accepts 2"),
    ],
)
def test_invalid_setting_is_rejected(pulumi_mocks, overrides, expected):
    message = rejected(pulumi_mocks, service_args, **overrides)

    assert message.startswith(f"FargateService: {expected}")


@pytest.mark.parametrize(
    "name",
    [
        "OPENAI_API_KEY",
        "DB_PASSWORD",
        "SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ],
)
def test_credential_in_environment_is_rejected(pulumi_mocks, name):
    message = rejected(pulumi_mocks, service_args, environment={name: "x"})

    assert message.startswith(f"FargateService: invalid environment={name!r};")


def test_credential_in_attachment_environment_is_rejected(pulumi_mocks):
    bad = ServiceAttachment(name="cache", environment={"REDIS_AUTH_TOKEN": "x"})

    message = rejected(pulumi_mocks, service_args, attachments=[bad])

    assert message.startswith(
        "FargateService: invalid attachments['cache'].environment='REDIS_AUTH_TOKEN'; "
        "the name contains TOKEN"
    )
    assert message.endswith("move it to `secrets` as a Secrets Manager ARN.")


@pytest.mark.parametrize("field", ["environment", "secrets"])
def test_port_variable_is_reserved(pulumi_mocks, field):
    overrides = {field: {"PORT": OPENAI_ARN}, "secret_arns": [OPENAI_ARN]}

    message = rejected(pulumi_mocks, service_args, **overrides)

    assert message == (
        f"FargateService: invalid {field}='PORT'; PORT is set by FargateService "
        "from container_port; remove it."
    )


@pytest.mark.parametrize("field", ["environment", "secrets"])
def test_malformed_variable_name_is_rejected(pulumi_mocks, field):
    overrides = {field: {"APP-ENV": OPENAI_ARN}, "secret_arns": [OPENAI_ARN]}

    message = rejected(pulumi_mocks, service_args, **overrides)

    assert message.startswith(f"FargateService: invalid {field}='APP-ENV'; variable names")


def test_variable_in_args_and_attachment_is_rejected(pulumi_mocks):
    message = rejected(pulumi_mocks, full_args, environment={"DATABASE_HOST": "other"})

    assert message == (
        "FargateService: invalid attachments['database'].environment='DATABASE_HOST'; "
        "DATABASE_HOST is also set by environment; set each variable in one place."
    )


def test_variable_in_two_attachments_is_rejected(pulumi_mocks):
    second = ServiceAttachment(name="replica", environment={"DATABASE_HOST": "replica"})

    message = rejected(pulumi_mocks, service_args, attachments=[database(), second])

    assert "DATABASE_HOST is also set by attachments['database'].environment" in message


def test_secret_in_args_and_attachment_is_rejected(pulumi_mocks):
    message = rejected(pulumi_mocks, full_args, secrets={"REDIS_AUTH_TOKEN": OPENAI_ARN})

    assert message.startswith(
        "FargateService: invalid attachments['cache'].secrets='REDIS_AUTH_TOKEN'; "
        "REDIS_AUTH_TOKEN is also set by secrets"
    )


def test_name_in_environment_and_secrets_is_rejected(pulumi_mocks):
    message = rejected(pulumi_mocks, full_args, environment={"DATABASE_USER": "app"})

    assert message.startswith(
        "FargateService: invalid environment=['DATABASE_USER']; these names are also in secrets"
    )


def test_secrets_without_secret_arns_are_rejected(pulumi_mocks):
    message = rejected(pulumi_mocks, service_args, secrets={"OPENAI_API_KEY": OPENAI_ARN})

    assert message.startswith(
        "FargateService: invalid secret_arns=[]; secrets "
        "['OPENAI_API_KEY'] need their ARNs in secret_arns"
    )


def test_secret_not_in_secret_arns_fails_at_deploy(pulumi_mocks):
    args = service_args(secrets={"OPENAI_API_KEY": OPENAI_ARN}, secret_arns=[DB_SECRET_ARN])

    with pytest.raises(
        ValueError,
        match=r"invalid secrets\['OPENAI_API_KEY'\]=.*add this "
        r"secret's ARN there",
    ):
        declare(args)


@pytest.mark.parametrize("name", ["Database", "db_1", "", "-db", "a" * 41])
def test_bad_attachment_name_is_rejected(pulumi_mocks, name):
    message = rejected(pulumi_mocks, service_args, attachments=[ServiceAttachment(name=name)])

    assert message.startswith(
        f"FargateService: invalid attachments[].name={name!r}; attachment names are 1 to 40"
    )


def test_duplicate_attachment_name_is_rejected(pulumi_mocks):
    twice = [ServiceAttachment(name="database"), ServiceAttachment(name="database")]

    message = rejected(pulumi_mocks, service_args, attachments=twice)

    assert "each attachment has its own name" in message


def test_duplicate_grant_port_is_rejected(pulumi_mocks):
    grants = [
        IngressGrant(security_group_id=DB_SG, port=5432, description="a"),
        IngressGrant(security_group_id=CACHE_SG, port=5432, description="b"),
    ]

    message = rejected(
        pulumi_mocks, service_args, attachments=[ServiceAttachment(name="database", ingress=grants)]
    )

    assert message.startswith(
        "FargateService: invalid attachments['database'].ingress[].port"
        "=5432; each port appears once per attachment"
    )


def test_invalid_grant_port_is_rejected(pulumi_mocks):
    grant = IngressGrant(security_group_id=DB_SG, port=70000, description="a")

    message = rejected(
        pulumi_mocks,
        service_args,
        attachments=[ServiceAttachment(name="database", ingress=[grant])],
    )

    assert "ingress[].port=70000; a TCP port is 1 to 65535." in message


@pytest.mark.parametrize(
    ("volume", "path", "expected"),
    [
        ("scratch", "/mnt/x", "'scratch' is reserved"),
        ("activity", "/tmp", "/tmp is the scratch volume"),
        ("activity", "mnt/x", "the container path is absolute"),
    ],
)
def test_bad_efs_mount_is_rejected(pulumi_mocks, volume, path, expected):
    mount = EfsMount(
        volume_name=volume, file_system_id="fs-1", access_point_id="fsap-1", container_path=path
    )

    message = rejected(
        pulumi_mocks,
        service_args,
        attachments=[ServiceAttachment(name="files", efs_mounts=[mount])],
    )

    assert message.startswith(f"FargateService: invalid efs_mounts[{volume!r}]")
    assert expected in message


def test_same_efs_volume_in_two_attachments_is_rejected(pulumi_mocks):
    second = ServiceAttachment(
        name="uploads",
        efs_mounts=[
            EfsMount(
                volume_name="activity",
                file_system_id="fs-2",
                access_point_id="fsap-2",
                container_path="/mnt/uploads",
            )
        ],
    )

    message = rejected(pulumi_mocks, service_args, attachments=[activity_log(), second])

    assert "volume names are unique within the task" in message
