"""Turn validated stack settings into component arguments, and check them all up front.

`__main__.py` builds each component's Args here, passing the values other components
produce (VPC id, subnet ids, ARNs). `check_components` builds the same Args with placeholder
values in their place and runs each component's own validator, so an argument a component
would reject stops the program before the first resource is declared, instead of halfway
through a `pulumi up`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi

from components import (
    ComponentInputError,
    EcrRepoArgs,
    EfsVolumeArgs,
    ExistingNetwork,
    FargateServiceArgs,
    HttpsAlbArgs,
    ImageBuild,
    LoadBalancerTarget,
    NetworkArgs,
    RdsDatabaseArgs,
    RedisCacheArgs,
    S3ReadGrant,
    ServiceAttachment,
    TaskRoleArgs,
    ecr_repo,
    efs_volume,
    fargate_service,
    https_alb,
    network,
    rds_database,
    redis_cache,
    task_role,
)
from settings import SettingsError, StackSettings

# Logical names of the components; they are part of every child's URN, so renaming one
# replaces its resources.
NETWORK = "net"
WEB = "web"
DATABASE = "db"
CACHE = "cache"
ACTIVITY_LOG = "activity"


def network_args(s: StackSettings) -> NetworkArgs:
    """Arguments of the Network: a new VPC, or the existing one the stack file names."""
    existing = None
    if s.network.mode == "existing":
        existing = ExistingNetwork(
            vpc_id=s.network.vpc_id or "",
            public_subnet_ids=list(s.network.public_subnet_ids),
            private_subnet_ids=list(s.network.private_subnet_ids),
        )
    return NetworkArgs(
        cidr_block=s.network.cidr_block,
        availability_zone_count=s.network.availability_zones,
        nat_gateways=s.network.nat_gateways,
        existing=existing,
    )


def private_subnet_count(s: StackSettings) -> int:
    """Number of private subnets the service and the data services use."""
    if s.network.mode == "create":
        return s.network.availability_zones
    return len(s.network.private_subnet_ids)


def registry_args(s: StackSettings) -> EcrRepoArgs:
    """Arguments of the EcrRepo: build `app/` unless the stack names a prebuilt image."""
    build = None
    if s.image.uri is None:
        # Relative to the project directory, which is the program's working directory
        # under `pulumi up` and under the offline plan.
        build = ImageBuild(context=s.image.context, tag=s.image.tag, platform=s.image.platform)
    return EcrRepoArgs(
        build=build,
        prebuilt_image_uri=s.image.uri,
        keep_tagged_images=s.image.keep_tagged_images,
        untagged_expiry_days=s.image.untagged_expiry_days,
        repository_name=s.image.repository_name,
    )


def alb_args(
    s: StackSettings,
    *,
    vpc_id: pulumi.Input[str],
    public_subnet_ids: pulumi.Input[Sequence[str]],
    hosted_zone_id: pulumi.Input[str],
) -> HttpsAlbArgs:
    """Arguments of the HttpsAlb."""
    return HttpsAlbArgs(
        vpc_id=vpc_id,
        public_subnet_ids=public_subnet_ids,
        domain_name=s.domain_name,
        hosted_zone_id=hosted_zone_id,
        target_port=s.service.container_port,
        deletion_protection=s.load_balancer.deletion_protection,
        idle_timeout_seconds=s.load_balancer.idle_timeout_seconds,
        deregistration_delay_seconds=s.load_balancer.deregistration_delay_seconds,
        ip_address_type=s.load_balancer.ip_address_type,
    )


def database_args(
    s: StackSettings, *, vpc_id: pulumi.Input[str], subnet_ids: pulumi.Input[Sequence[str]]
) -> RdsDatabaseArgs:
    """Arguments of the RdsDatabase."""
    return RdsDatabaseArgs(
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        db_name=s.database.database_name,
        username=s.database.master_username,
        engine_version=s.database.engine_version,
        instance_class=s.database.instance_class,
        allocated_storage_gib=s.database.allocated_storage_gib,
        max_allocated_storage_gib=s.database.max_allocated_storage_gib,
        multi_az=s.database.multi_az,
        deletion_protection=s.database.deletion_protection,
        backup_retention_days=s.database.backup_retention_days,
    )


def cache_args(
    s: StackSettings, *, vpc_id: pulumi.Input[str], subnet_ids: pulumi.Input[Sequence[str]]
) -> RedisCacheArgs:
    """Arguments of the RedisCache; failover and multi-AZ go together."""
    return RedisCacheArgs(
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        engine_version=s.cache.engine_version,
        node_type=s.cache.node_type,
        num_cache_clusters=s.cache.node_count,
        automatic_failover=s.cache.automatic_failover,
        multi_az=s.cache.automatic_failover,
        snapshot_retention_days=s.cache.snapshot_retention_days,
    )


def volume_args(
    *, vpc_id: pulumi.Input[str], subnet_ids: Mapping[str, pulumi.Input[str]]
) -> EfsVolumeArgs:
    """Arguments of the EfsVolume (its defaults match the container's user and path)."""
    return EfsVolumeArgs(vpc_id=vpc_id, subnet_ids=subnet_ids)


def task_role_args(
    s: StackSettings,
    *,
    account_id: pulumi.Input[str],
    attachments: Sequence[ServiceAttachment],
) -> TaskRoleArgs:
    """Arguments of the TaskRole: S3 read on the files prefix and the data services' grants."""
    s3_read = None
    if s.app.files_bucket:
        s3_read = S3ReadGrant(bucket_name=s.app.files_bucket, prefix=s.app.files_prefix)
    return TaskRoleArgs(
        account_id=account_id,
        s3_read=s3_read,
        statements=[st for a in attachments for st in a.task_role_statements],
    )


def app_environment(s: StackSettings) -> dict[str, str]:
    """Return the plain settings the app reads. Credentials go to `secrets`, never here.

    A value left empty (no Ollama server, no files bucket) is left out, so the app uses its
    own default instead of an empty string.
    """
    environment = {
        "APP_ENV": s.stack,
        "AWS_REGION": s.region,
        "COMMIT_SHA": s.image.tag,
        "LOG_LEVEL": s.app.log_level,
        "USE_LOCAL_LLM": "true" if s.app.use_local_llm else "false",
        "OPENAI_MODEL": s.app.openai_model,
        "OPENAI_BASE_URL": s.app.openai_base_url,
        "OLLAMA_MODEL": s.app.ollama_model,
        "OLLAMA_BASE_URL": s.app.ollama_base_url,
        "FILES_BUCKET": s.app.files_bucket or "",
        "FILES_PREFIX": s.app.files_prefix,
        "TMPDIR": "/tmp",
    }
    return {name: value for name, value in environment.items() if value}


def service_args(
    s: StackSettings,
    *,
    vpc_id: pulumi.Input[str],
    subnet_ids: pulumi.Input[Sequence[str]],
    image_uri: pulumi.Input[str],
    repository_arn: pulumi.Input[str],
    task_role_arn: pulumi.Input[str],
    account_id: pulumi.Input[str],
    load_balancer: LoadBalancerTarget,
    secrets: Mapping[str, pulumi.Input[str]],
    attachments: Sequence[ServiceAttachment],
) -> FargateServiceArgs:
    """Arguments of the FargateService."""
    return FargateServiceArgs(
        vpc_id=vpc_id,
        subnet_ids=subnet_ids,
        image_uri=image_uri,
        repository_arn=repository_arn,
        task_role_arn=task_role_arn,
        account_id=account_id,
        load_balancer=load_balancer,
        container_port=s.service.container_port,
        cpu=s.service.cpu,
        memory_mib=s.service.memory_mib,
        min_tasks=s.service.min_tasks,
        max_tasks=s.service.max_tasks,
        cpu_target_percent=s.service.cpu_target_percent,
        memory_target_percent=s.service.memory_target_percent,
        requests_per_target=s.service.requests_per_target,
        environment=app_environment(s),
        secrets=dict(secrets),
        secret_arns=list(secrets.values()),
        attachments=list(attachments),
        log_retention_days=s.service.log_retention_days,
        health_check_grace_seconds=s.service.health_check_grace_seconds,
        stop_timeout_seconds=s.service.stop_timeout_seconds,
        cpu_architecture="ARM64" if s.image.platform == "linux/arm64" else "X86_64",
        hold_task_definition=s.hold_service_task_definition,
    )


# -- validation before any resource ------------------------------------------------------

# Stand-ins for values other components produce. They only need the shape the validators
# accept; no resource is ever declared with them.
_PLACEHOLDER_ACCOUNT = "000000000000"
_PLACEHOLDER_VPC = "vpc-00000000000000000"
_PLACEHOLDER_ARN = f"arn:aws:iam::{_PLACEHOLDER_ACCOUNT}:role/placeholder"


def _placeholder_subnets(count: int) -> list[str]:
    return [f"subnet-{index:017x}" for index in range(count)]


def check_components(s: StackSettings) -> None:
    """Run every component's own validator on the arguments this stack gives it.

    Raises SettingsError naming the stack file and the stack key the component's argument
    comes from, before any resource is declared.
    """
    subnets = _placeholder_subnets(private_subnet_count(s))
    secret_arn = f"arn:aws:secretsmanager:{s.region}:{_PLACEHOLDER_ACCOUNT}:secret:key-AbCdEf"
    secrets = {"OPENAI_API_KEY": secret_arn} if s.openai_api_key_set else {}
    load_balancer = LoadBalancerTarget(
        target_group_arn=_PLACEHOLDER_ARN,
        security_group_id="sg-00000000000000000",
        load_balancer_arn_suffix="app/placeholder/0",
        target_group_arn_suffix="targetgroup/placeholder/0",
    )

    checks: list[tuple[str, Callable[[], Any]]] = [
        ("webstack:network", lambda: network.validate_args(network_args(s))),
        ("webstack:image", lambda: ecr_repo.validate_args(WEB, registry_args(s))),
        (
            "webstack:domainName / webstack:loadBalancer",
            lambda: https_alb.validate_args(
                WEB,
                alb_args(
                    s,
                    vpc_id=_PLACEHOLDER_VPC,
                    public_subnet_ids=subnets,
                    hosted_zone_id="Z0000000000000",
                ),
            ),
        ),
        (
            "webstack:app.filesBucket / webstack:app.filesPrefix",
            lambda: task_role.validate_args(
                task_role_args(s, account_id=_PLACEHOLDER_ACCOUNT, attachments=())
            ),
        ),
        (
            "webstack:service / webstack:app",
            lambda: fargate_service.validate_args(
                service_args(
                    s,
                    vpc_id=_PLACEHOLDER_VPC,
                    subnet_ids=subnets,
                    image_uri=f"{_PLACEHOLDER_ACCOUNT}.dkr.ecr.{s.region}.amazonaws.com/"
                    f"placeholder@sha256:{'0' * 64}",
                    repository_arn=_PLACEHOLDER_ARN,
                    task_role_arn=_PLACEHOLDER_ARN,
                    account_id=_PLACEHOLDER_ACCOUNT,
                    load_balancer=load_balancer,
                    secrets=secrets,
                    attachments=(),
                )
            ),
        ),
    ]
    if s.database.enabled:
        checks.append(
            (
                "webstack:database",
                lambda: rds_database.validate_args(
                    DATABASE, database_args(s, vpc_id=_PLACEHOLDER_VPC, subnet_ids=subnets)
                ),
            )
        )
    if s.cache.enabled:
        checks.append(
            (
                "webstack:cache",
                lambda: redis_cache.validate_args(
                    CACHE, cache_args(s, vpc_id=_PLACEHOLDER_VPC, subnet_ids=subnets)
                ),
            )
        )
    if s.activity_log.enabled:
        keyed = {f"az{index + 1}": subnet for index, subnet in enumerate(subnets)}
        checks.append(
            (
                "webstack:activityLog",
                lambda: efs_volume.validate_args(
                    volume_args(vpc_id=_PLACEHOLDER_VPC, subnet_ids=keyed)
                ),
            )
        )

    for key, check in checks:
        try:
            check()
        except ComponentInputError as error:
            raise SettingsError(f"{s.source}: invalid value in {key}: {error}") from None
