"""FargateService: the web container on ECS Fargate behind an existing load balancer.

The service runs in private subnets, accepts traffic only from the load balancer's security
group, and reaches the data services through the `ServiceAttachment`s it is given. Its own
outbound traffic is HTTPS only (ECR, Secrets Manager, CloudWatch Logs and S3 through NAT).
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.attachment import ServiceAttachment
from components.container_definition import (
    SCRATCH_VOLUME,
    MountPoint,
    check_environment_name,
    check_mount_points,
    check_no_overlap,
    check_secret_name,
    check_secret_sources,
    check_stop_timeout,
    container_definitions_json,
    merge_variables,
)
from components.errors import ComponentInputError
from components.fargate_sizes import validate_task_size
from components.log_retention import validate_log_retention
from components.service_autoscaling import (
    ScalingSettings,
    create_service_autoscaling,
    validate_scaling,
)
from components.task_role import ecs_tasks_trust_policy, validate_account_id
from components.tokens import type_token

COMPONENT = "FargateService"

SERVICE_IGNORE_CHANGES = ["desiredCount"]
"""Service properties a later `pulumi up` leaves alone: autoscaling owns the task count."""



def service_ignore_changes(hold_task_definition: bool) -> list[str]:
    """Service properties this `pulumi up` leaves alone: the task count always (autoscaling
    owns it), the task definition while a release is held for its migration."""
    if hold_task_definition:
        return [*SERVICE_IGNORE_CHANGES, "taskDefinition"]
    return list(SERVICE_IGNORE_CHANGES)


HTTPS_PORT = 443
MAX_HEALTH_CHECK_GRACE_SECONDS = 2_147_483_647
"""Largest `healthCheckGracePeriodSeconds` the ECS API accepts."""

_CONTAINER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_ATTACHMENT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True, kw_only=True)
class LoadBalancerTarget:
    """The target group the service registers its tasks in, and the balancer's group."""

    target_group_arn: pulumi.Input[str]
    """Target group of type `ip` on the container port; it must already have a listener."""
    security_group_id: pulumi.Input[str]
    """Security group of the load balancer; it gets one egress rule to the service."""
    load_balancer_arn_suffix: pulumi.Input[str]
    """`app/<name>/<id>`, for the request-count scaling metric."""
    target_group_arn_suffix: pulumi.Input[str]
    """`targetgroup/<name>/<id>`, for the request-count scaling metric."""


@dataclass(frozen=True, kw_only=True)
class FargateServiceArgs:
    """Arguments of FargateService."""

    account_id: pulumi.Input[str]
    """AWS account id (12 digits); only ECS tasks of this account may assume the execution
    role."""
    vpc_id: pulumi.Input[str]
    """VPC of the service's security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets of the tasks (one per availability zone); tasks get no public IP."""
    image_uri: pulumi.Input[str]
    """Container image, by digest (`<repo>@sha256:<digest>`) so a deploy is reproducible."""
    repository_arn: pulumi.Input[str]
    """ECR repository of the image; the execution role may pull only from it."""
    task_role_arn: pulumi.Input[str]
    """Role of the app's code (a `TaskRole`). Put each attachment's `task_role_statements`
    into that role: FargateService does not change it."""
    load_balancer: LoadBalancerTarget
    """Target group and security group of the load balancer in front of the service."""
    container_port: int = 8000
    """TCP port the app listens on; also passed to the app as `PORT`. Default: 8000."""
    cpu: int = 256
    """Task CPU units (1024 = 1 vCPU); a Fargate size with `memory_mib`. Default: 256."""
    memory_mib: int = 512
    """Task memory in MiB; must be allowed for `cpu`. Default: 512."""
    min_tasks: int = 2
    """Minimum task count, and the count at creation. Default: 2, one per availability zone."""
    max_tasks: int = 4
    """Maximum task count autoscaling may run (at most 100). Default: 4."""
    cpu_target_percent: int = 60
    """Average CPU utilization that autoscaling keeps, in percent. Default: 60."""
    memory_target_percent: int = 75
    """Average memory utilization that autoscaling keeps, in percent. Default: 75."""
    requests_per_target: int | None = None
    """ALB requests per task per minute that autoscaling keeps. Default: None, no
    request-count policy."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain environment variables; no credentials, and no `PORT` (set from
    `container_port`). Default: none."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Variable name to Secrets Manager ARN, optionally `ARN:json-key::`. Default: none."""
    secret_arns: Sequence[pulumi.Input[str]] = ()
    """Exact secret ARNs that `secrets` reads; the execution role may read only these and
    the attachments' ones. Default: none."""
    attachments: Sequence[ServiceAttachment] = ()
    """Data services to connect: security group rules, variables, secrets and EFS volumes.
    Default: none."""
    log_retention_days: int = 30
    """Days CloudWatch Logs keeps the container's logs; one of the values CloudWatch
    accepts. Default: 30."""
    health_check_grace_seconds: int = 60
    """Seconds ECS ignores failed load balancer health checks of a new task. Default: 60,
    longer than the container health check's 30 s start period."""
    stop_timeout_seconds: int = 30
    """Seconds between SIGTERM and SIGKILL (2 to 120). Default: 30, so in-flight requests
    finish within the target group's deregistration delay."""
    container_name: str = "web"
    """Container name and log stream prefix. Default: `web`, the name the pipeline uses."""
    cpu_architecture: Literal["X86_64", "ARM64"] = "X86_64"
    """CPU architecture the image is built for (Fargate runs both). Default: X86_64, which
    matches an image built for linux/amd64."""
    hold_task_definition: bool = False
    """Register the new task definition but leave the service on the one it runs. Default:
    off, so `pulumi up` rolls the service. The pipeline turns it on for a first `up` that
    releases the image and task definition, runs the database migration with that task
    definition, then rolls the service with a second `up` with this off."""


# -- validation ----------------------------------------------------------------------------


def _check_port(port: object, argument: str) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ComponentInputError(COMPONENT, argument, port, "a TCP port is 1 to 65535.")


def _check_attachments(attachments: Sequence[ServiceAttachment]) -> None:
    seen: set[str] = set()
    for attachment in attachments:
        if not _ATTACHMENT_NAME.match(attachment.name):
            raise ComponentInputError(
                COMPONENT,
                "attachments[].name",
                attachment.name,
                "attachment names are 1 to 40 lowercase letters, digits or '-', starting "
                "with a letter or digit, because they become part of child names.",
            )
        if attachment.name in seen:
            raise ComponentInputError(
                COMPONENT,
                "attachments[].name",
                attachment.name,
                "each attachment has its own name; rename one of them.",
            )
        seen.add(attachment.name)

        ports: set[int] = set()
        for grant in attachment.ingress:
            argument = f"attachments[{attachment.name!r}].ingress[].port"
            _check_port(grant.port, argument)
            if grant.port in ports:
                raise ComponentInputError(
                    COMPONENT,
                    argument,
                    grant.port,
                    "each port appears once per attachment, because it names the rules.",
                )
            ports.add(grant.port)


def merged_environment(args: FargateServiceArgs) -> dict[str, pulumi.Input[str]]:
    """Return `args.environment` plus every attachment's environment, names checked."""
    sources = [("environment", args.environment)] + [
        (f"attachments[{a.name!r}].environment", a.environment) for a in args.attachments
    ]
    for argument, variables in sources:
        for name in variables:
            check_environment_name(name, argument)
    return merge_variables(sources)


def merged_secrets(args: FargateServiceArgs) -> dict[str, pulumi.Input[str]]:
    """Return `args.secrets` plus every attachment's secrets, names checked."""
    sources = [("secrets", args.secrets)] + [
        (f"attachments[{a.name!r}].secrets", a.secrets) for a in args.attachments
    ]
    for argument, variables in sources:
        for name in variables:
            check_secret_name(name, argument)
    return merge_variables(sources)


def all_secret_arns(args: FargateServiceArgs) -> list[pulumi.Input[str]]:
    """Return the secret ARNs the execution role may read: the args' and the attachments'."""
    arns = list(args.secret_arns)
    for attachment in args.attachments:
        arns.extend(attachment.secret_arns)
    return arns


def efs_mount_points(args: FargateServiceArgs) -> list[MountPoint]:
    """Return the container mount points of every attachment's EFS mounts."""
    return [
        MountPoint(
            source_volume=m.volume_name, container_path=m.container_path, read_only=m.read_only
        )
        for attachment in args.attachments
        for m in attachment.efs_mounts
    ]


def scaling_settings(args: FargateServiceArgs) -> ScalingSettings:
    return ScalingSettings(
        min_tasks=args.min_tasks,
        max_tasks=args.max_tasks,
        cpu_target_percent=args.cpu_target_percent,
        memory_target_percent=args.memory_target_percent,
        requests_per_target=args.requests_per_target,
    )


def validate_args(args: FargateServiceArgs) -> None:
    """Raise ComponentInputError on the first invalid plain value of `args`."""
    validate_account_id(args.account_id, COMPONENT)
    validate_task_size(args.cpu, args.memory_mib, COMPONENT)
    _check_port(args.container_port, "container_port")
    if not isinstance(args.container_name, str) or not _CONTAINER_NAME.match(args.container_name):
        raise ComponentInputError(
            COMPONENT,
            "container_name",
            args.container_name,
            "container names are 1 to 255 letters, digits, '_' or '-'.",
        )
    validate_scaling(scaling_settings(args), COMPONENT)
    validate_log_retention(args.log_retention_days, COMPONENT)
    grace = args.health_check_grace_seconds
    if (
        isinstance(grace, bool)
        or not isinstance(grace, int)
        or not (0 <= grace <= MAX_HEALTH_CHECK_GRACE_SECONDS)
    ):
        raise ComponentInputError(
            COMPONENT,
            "health_check_grace_seconds",
            grace,
            "a grace period is 0 or more whole seconds.",
        )
    check_stop_timeout(args.stop_timeout_seconds)
    _check_attachments(args.attachments)

    environment = merged_environment(args)
    secrets = merged_secrets(args)
    check_no_overlap(environment, secrets)
    if secrets and not all_secret_arns(args):
        raise ComponentInputError(
            COMPONENT,
            "secret_arns",
            [],
            f"secrets {sorted(secrets)} need their ARNs in secret_arns (or the attachment's "
            "secret_arns), because the execution role may read only those.",
        )
    check_mount_points(efs_mount_points(args))


# -- IAM documents -------------------------------------------------------------------------


def execution_policy_document(
    repository_arn: str, log_group_arn: str, secret_arns: Sequence[str]
) -> str:
    """Return the execution role's policy JSON: pull one repository, write one log group,
    and read exactly `secret_arns` (no statement when there are none)."""
    statements: list[dict[str, Any]] = [
        {
            # GetAuthorizationToken supports no resource-level permissions (Service
            # Authorization Reference, Amazon ECR), so "*" is the only valid resource.
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
            "Resource": [repository_arn],
        },
        {
            # The group ARN alone covers CreateLogStream; `:*` covers its log streams,
            # which PutLogEvents writes to.
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        },
    ]
    if secret_arns:
        statements.append(
            {
                "Sid": "ReadSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": sorted(set(secret_arns)),
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def task_family(project: str, stack: str, name: str) -> str:
    """Return the task definition family `<project>-<stack>-<name>`.

    ECS allows letters, digits, '_' and '-' (up to 255); other characters become '-'.
    """
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{project}-{stack}-{name}")[:255]


# -- component -----------------------------------------------------------------------------


class FargateService(pulumi.ComponentResource):
    """One web container on ECS Fargate, registered in an existing ALB target group.

    Creates:
    - `<name>-cluster` (`aws.ecs.Cluster`, Container Insights on)
    - `<name>-logs` (`aws.cloudwatch.LogGroup`)
    - `<name>-exec-role` and `<name>-exec-policy` (execution role: pull, logs, secrets)
    - `<name>-task` (`aws.ecs.TaskDefinition`, awsvpc, one container)
    - `<name>-sg` and its rules: `<name>-alb-in`, `<name>-alb-out` (on the ALB's group),
      `<name>-https-out`, and per attachment and port `<name>-<attachment>-<port>-in`
      (on the data service's group) and `<name>-<attachment>-<port>-out`
    - `<name>-service` (`aws.ecs.Service`)
    - `<name>-scaling` and `<name>-scaling-{cpu,memory,requests}` (autoscaling)

    The target group must be attached to a listener before the service is created. When the
    ALB is declared in the same program, pass its listener in `opts.depends_on`.
    """

    cluster: aws.ecs.Cluster
    log_group: aws.cloudwatch.LogGroup
    execution_role: aws.iam.Role
    execution_policy: aws.iam.RolePolicy
    task_definition: aws.ecs.TaskDefinition
    security_group: aws.ec2.SecurityGroup
    service: aws.ecs.Service
    scaling_target: aws.appautoscaling.Target
    scaling_policies: dict[str, aws.appautoscaling.Policy]

    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    service_name: pulumi.Output[str]
    service_arn: pulumi.Output[str]
    task_definition_arn: pulumi.Output[str]
    container_name: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    execution_role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: FargateServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token("ecs", COMPONENT), name, None, opts)
        validate_args(args)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        region = aws.get_region_output(opts=invoke).region

        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            settings=[{"name": "containerInsights", "value": "enabled"}],
            opts=child,
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=args.log_retention_days, opts=child
        )

        self._declare_execution_role(name, args, partition)
        self._declare_task_definition(name, args, region)
        rules = self._declare_security_groups(name, args)
        self._declare_service(name, args, rules)

        self.scaling_target, self.scaling_policies = create_service_autoscaling(
            name,
            settings=scaling_settings(args),
            cluster_name=self.cluster.name,
            service_name=self.service.name,
            load_balancer_arn_suffix=args.load_balancer.load_balancer_arn_suffix,
            target_group_arn_suffix=args.load_balancer.target_group_arn_suffix,
            parent=self,
        )

        self.cluster_name = self.cluster.name
        self.cluster_arn = self.cluster.arn
        self.service_name = self.service.name
        self.service_arn = self.service.arn
        self.task_definition_arn = self.task_definition.arn
        self.container_name = pulumi.Output.from_input(args.container_name)
        self.log_group_name = self.log_group.name
        self.security_group_id = self.security_group.id
        self.execution_role_arn = self.execution_role.arn
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "cluster_arn": self.cluster_arn,
                "service_name": self.service_name,
                "service_arn": self.service_arn,
                "task_definition_arn": self.task_definition_arn,
                "container_name": self.container_name,
                "log_group_name": self.log_group_name,
                "security_group_id": self.security_group_id,
                "execution_role_arn": self.execution_role_arn,
            }
        )

    def _declare_execution_role(
        self, name: str, args: FargateServiceArgs, partition: pulumi.Output[str]
    ) -> None:
        """Declare the role ECS uses to start the task; the app's code never gets it."""
        child = pulumi.ResourceOptions(parent=self)
        self.execution_role = aws.iam.Role(
            f"{name}-exec-role",
            description=f"ECS task execution role of {name}: image pull, logs, secrets",
            assume_role_policy=pulumi.Output.all(args.account_id, partition).apply(
                lambda values: ecs_tasks_trust_policy(values[0], values[1], COMPONENT)
            ),
            opts=child,
        )
        self.execution_policy = aws.iam.RolePolicy(
            f"{name}-exec-policy",
            role=self.execution_role.name,
            policy=pulumi.Output.all(
                args.repository_arn, self.log_group.arn, *all_secret_arns(args)
            ).apply(lambda values: execution_policy_document(values[0], values[1], values[2:])),
            opts=child,
        )

    def _declare_task_definition(
        self, name: str, args: FargateServiceArgs, region: pulumi.Output[str]
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        mount_points = efs_mount_points(args)
        stop_timeout = args.stop_timeout_seconds

        def render(values: dict[str, Any]) -> str:
            # Runs once every Output is known: the secret sources can be compared now.
            check_secret_sources(values["secrets"], values["secret_arns"])
            return container_definitions_json(
                name=args.container_name,
                image=values["image"],
                port=args.container_port,
                environment=values["environment"],
                secrets=values["secrets"],
                log_group_name=values["log_group_name"],
                region=values["region"],
                mount_points=mount_points,
                stop_timeout_seconds=stop_timeout,
            )

        container_definitions = pulumi.Output.all(
            image=args.image_uri,
            environment=merged_environment(args),
            secrets=merged_secrets(args),
            secret_arns=all_secret_arns(args),
            log_group_name=self.log_group.name,
            region=region,
        ).apply(render)

        volumes: list[dict[str, Any]] = [{"name": SCRATCH_VOLUME}]
        for attachment in args.attachments:
            for mount in attachment.efs_mounts:
                volumes.append(
                    {
                        "name": mount.volume_name,
                        # No root_directory: the access point fixes the directory and the
                        # POSIX user, and ECS rejects a root directory other than "/" with one.
                        "efs_volume_configuration": {
                            "file_system_id": mount.file_system_id,
                            "transit_encryption": "ENABLED",
                            "authorization_config": {
                                "access_point_id": mount.access_point_id,
                                "iam": "ENABLED",
                            },
                        },
                    }
                )

        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=task_family(pulumi.get_project(), pulumi.get_stack(), name),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            cpu=str(args.cpu),
            memory=str(args.memory_mib),
            runtime_platform={
                "operating_system_family": "LINUX",
                "cpu_architecture": args.cpu_architecture,
            },
            execution_role_arn=self.execution_role.arn,
            task_role_arn=args.task_role_arn,
            volumes=volumes,
            container_definitions=container_definitions,
            opts=child,
        )

    def _declare_security_groups(
        self, name: str, args: FargateServiceArgs
    ) -> list[pulumi.Resource]:
        """Declare the service's group and every rule that names it; return the rules."""
        child = pulumi.ResourceOptions(parent=self)
        port = args.container_port
        alb_group = args.load_balancer.security_group_id

        # No inline rules: the provider removes the default allow-all egress rule of a new
        # group, so the standalone rules below are the whole rule set.
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"ECS tasks of {name}",
            opts=child,
        )
        service_group = self.security_group.id

        def tcp(port: int) -> dict[str, Any]:
            return {"ip_protocol": "tcp", "from_port": port, "to_port": port}

        rules: list[pulumi.Resource] = [
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-alb-in",
                security_group_id=service_group,
                referenced_security_group_id=alb_group,
                description="HTTP from the load balancer",
                **tcp(port),
                opts=child,
            ),
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-alb-out",
                security_group_id=alb_group,
                referenced_security_group_id=service_group,
                description=f"HTTP to the ECS tasks of {name}",
                **tcp(port),
                opts=child,
            ),
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-https-out",
                security_group_id=service_group,
                cidr_ipv4="0.0.0.0/0",
                description="HTTPS to ECR, Secrets Manager, CloudWatch Logs and S3 via NAT",
                **tcp(HTTPS_PORT),
                opts=child,
            ),
        ]
        for attachment in args.attachments:
            for grant in attachment.ingress:
                key = f"{name}-{attachment.name}-{grant.port}"
                rules.append(
                    aws.vpc.SecurityGroupIngressRule(
                        f"{key}-in",
                        security_group_id=grant.security_group_id,
                        referenced_security_group_id=service_group,
                        description=grant.description,
                        **tcp(grant.port),
                        opts=child,
                    )
                )
                rules.append(
                    aws.vpc.SecurityGroupEgressRule(
                        f"{key}-out",
                        security_group_id=service_group,
                        referenced_security_group_id=grant.security_group_id,
                        description=f"To the {attachment.name} service on port {grant.port}",
                        **tcp(grant.port),
                        opts=child,
                    )
                )
        return rules

    def _declare_service(
        self, name: str, args: FargateServiceArgs, rules: Sequence[pulumi.Resource]
    ) -> None:
        self.service = aws.ecs.Service(
            f"{name}-service",
            cluster=self.cluster.arn,
            task_definition=self.task_definition.arn,
            launch_type="FARGATE",
            platform_version="LATEST",
            desired_count=args.min_tasks,
            network_configuration={
                "subnets": args.subnet_ids,
                "security_groups": [self.security_group.id],
                "assign_public_ip": False,
            },
            load_balancers=[
                {
                    "target_group_arn": args.load_balancer.target_group_arn,
                    "container_name": args.container_name,
                    "container_port": args.container_port,
                }
            ],
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            health_check_grace_period_seconds=args.health_check_grace_seconds,
            # A rollout that the circuit breaker rolls back then fails `pulumi up`.
            wait_for_steady_state=True,
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            enable_execute_command=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                ignore_changes=service_ignore_changes(args.hold_task_definition),
                # Tasks that start before their rules and execution policy exist fail to
                # pull, to log or to pass health checks, and trip the circuit breaker.
                depends_on=[*rules, self.execution_policy],
            ),
        )
