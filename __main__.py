"""Compose one stack: network, registry and image, HTTPS load balancer, DNS, data services
and the Fargate service, from the stack file's validated settings.

Every setting is validated by `settings.load` before the first resource is declared, so a
bad value stops `pulumi up` with one message naming the file and the key.
"""

from __future__ import annotations

import os

import pulumi
import pulumi_aws as aws

from components import (
    DnsAlias,
    DnsAliasArgs,
    EcrRepo,
    EcrRepoArgs,
    EfsVolume,
    EfsVolumeArgs,
    ExistingNetwork,
    FargateService,
    FargateServiceArgs,
    HttpsAlb,
    HttpsAlbArgs,
    ImageBuild,
    LoadBalancerTarget,
    Network,
    NetworkArgs,
    RdsDatabase,
    RdsDatabaseArgs,
    RedisCache,
    RedisCacheArgs,
    S3ReadGrant,
    ServiceAttachment,
    TaskRole,
    TaskRoleArgs,
    subnets_by_position,
)
from settings import StackSettings, load
from settings.runtime import read_pulumi_config


def build_network(s: StackSettings) -> Network:
    """Declare a new VPC, or describe the existing one the stack file names."""
    existing = None
    if s.network.mode == "existing":
        existing = ExistingNetwork(
            vpc_id=s.network.vpc_id or "",
            public_subnet_ids=list(s.network.public_subnet_ids),
            private_subnet_ids=list(s.network.private_subnet_ids),
        )
    return Network(
        "net",
        NetworkArgs(
            cidr_block=s.network.cidr_block,
            availability_zone_count=s.network.availability_zones,
            nat_gateways=s.network.nat_gateways,
            existing=existing,
        ),
    )


def build_registry(s: StackSettings) -> EcrRepo:
    """Declare the ECR repository, and the image built from `app/` unless one is prebuilt."""
    build = None
    if s.image.uri is None:
        # Relative to the project directory, which is the program's working directory
        # under `pulumi up` and under the offline plan.
        build = ImageBuild(context=s.image.context, tag=s.image.tag, platform=s.image.platform)
    return EcrRepo(
        "web",
        EcrRepoArgs(
            build=build,
            prebuilt_image_uri=s.image.uri,
            keep_tagged_images=s.image.keep_tagged_images,
            untagged_expiry_days=s.image.untagged_expiry_days,
        ),
    )


def build_attachments(s: StackSettings, network: Network) -> tuple[list[ServiceAttachment], dict]:
    """Declare the data services this stack enables; return their attachments and exports."""
    attachments: list[ServiceAttachment] = []
    exports: dict[str, pulumi.Output] = {}
    if s.database.enabled:
        database = RdsDatabase(
            "db",
            RdsDatabaseArgs(
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                db_name=s.database.database_name,
                username=s.database.master_username,
                engine_version=s.database.engine_version,
                instance_class=s.database.instance_class,
                allocated_storage_gib=s.database.allocated_storage_gib,
                max_allocated_storage_gib=s.database.max_allocated_storage_gib,
                multi_az=s.database.multi_az,
                deletion_protection=s.database.deletion_protection,
                backup_retention_days=s.database.backup_retention_days,
            ),
        )
        attachments.append(database.attachment)
        exports["databaseEndpoint"] = database.endpoint_address
    if s.cache.enabled:
        cache = RedisCache(
            "cache",
            RedisCacheArgs(
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                engine_version=s.cache.engine_version,
                node_type=s.cache.node_type,
                num_cache_clusters=s.cache.node_count,
                automatic_failover=s.cache.automatic_failover,
                multi_az=s.cache.automatic_failover,
                snapshot_retention_days=s.cache.snapshot_retention_days,
            ),
        )
        attachments.append(cache.attachment)
        exports["redisEndpoint"] = cache.endpoint_address
    if s.activity_log.enabled:
        subnet_count = (
            s.network.availability_zones
            if s.network.mode == "create"
            else len(s.network.private_subnet_ids)
        )
        volume = EfsVolume(
            "activity",
            EfsVolumeArgs(
                vpc_id=network.vpc_id,
                subnet_ids=subnets_by_position(network.private_subnet_ids, subnet_count),
            ),
        )
        attachments.append(volume.attachment)
        exports["efsFileSystemId"] = volume.file_system_id
    return attachments, exports


def app_environment(s: StackSettings) -> dict[str, str]:
    """Return the plain settings the app reads. Credentials go to `secrets`, never here."""
    environment = {
        "APP_ENV": s.stack,
        "AWS_REGION": s.region,
        "COMMIT_SHA": s.image.tag or s.image.uri or "",
        "LOG_LEVEL": s.app.log_level,
        "USE_LOCAL_LLM": "true" if s.app.use_local_llm else "false",
        "OPENAI_MODEL": s.app.openai_model,
        "OPENAI_BASE_URL": s.app.openai_base_url,
        "OLLAMA_MODEL": s.app.ollama_model,
        "OLLAMA_BASE_URL": s.app.ollama_base_url,
        "FILES_PREFIX": s.app.files_prefix,
        "TMPDIR": "/tmp",
    }
    if s.app.files_bucket:
        environment["FILES_BUCKET"] = s.app.files_bucket
    return environment


def build_app_secrets(s: StackSettings) -> dict[str, pulumi.Output[str]]:
    """Store the app's own credentials in Secrets Manager; return their ARNs by env name."""
    secrets: dict[str, pulumi.Output[str]] = {}
    api_key = pulumi.Config("webstack").get_secret("openaiApiKey")
    if api_key is not None and not s.app.use_local_llm:
        secret = aws.secretsmanager.Secret(
            "openai-api-key",
            description=f"OpenAI API key of the {s.stack} web service",
            recovery_window_in_days=7,
        )
        aws.secretsmanager.SecretVersion(
            "openai-api-key",
            secret_id=secret.id,
            secret_string=api_key,
            opts=pulumi.ResourceOptions(parent=secret),
        )
        secrets["OPENAI_API_KEY"] = secret.arn
    return secrets


def main() -> None:
    """Declare every resource of the current stack and export its endpoints."""
    stack = pulumi.get_stack()
    source = os.environ.get("WEBSTACK_CONFIG_SOURCE")
    s = load(stack, read_pulumi_config(), source=source)

    network = build_network(s)
    registry = build_registry(s)
    account_id = aws.get_caller_identity_output().account_id
    zone = aws.route53.get_zone_output(name=s.hosted_zone_name, private_zone=False)

    alb = HttpsAlb(
        "web",
        HttpsAlbArgs(
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            domain_name=s.domain_name,
            hosted_zone_id=zone.zone_id,
            target_port=s.service.container_port,
            deletion_protection=s.load_balancer.deletion_protection,
            idle_timeout_seconds=s.load_balancer.idle_timeout_seconds,
            deregistration_delay_seconds=s.load_balancer.deregistration_delay_seconds,
            ip_address_type=s.load_balancer.ip_address_type,
        ),
    )
    DnsAlias(
        "web",
        DnsAliasArgs(
            hosted_zone_id=zone.zone_id,
            record_name=s.domain_name,
            target_dns_name=alb.dns_name,
            target_zone_id=alb.zone_id,
            ipv6=s.load_balancer.ip_address_type == "dualstack",
        ),
    )

    attachments, data_exports = build_attachments(s, network)
    task_role = TaskRole(
        "web",
        TaskRoleArgs(
            account_id=account_id,
            s3_read=S3ReadGrant(bucket_name=s.app.files_bucket, prefix=s.app.files_prefix)
            if s.app.files_bucket
            else None,
            statements=[st for a in attachments for st in a.task_role_statements],
        ),
    )
    app_secrets = build_app_secrets(s)
    service = FargateService(
        "web",
        FargateServiceArgs(
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            image_uri=registry.image_uri,
            repository_arn=registry.repository_arn,
            task_role_arn=task_role.role_arn,
            account_id=account_id,
            load_balancer=LoadBalancerTarget(
                target_group_arn=alb.target_group_arn,
                security_group_id=alb.security_group_id,
                load_balancer_arn_suffix=alb.load_balancer_arn_suffix,
                target_group_arn_suffix=alb.target_group_arn_suffix,
            ),
            container_port=s.service.container_port,
            cpu=s.service.cpu,
            memory_mib=s.service.memory_mib,
            min_tasks=s.service.min_tasks,
            max_tasks=s.service.max_tasks,
            cpu_target_percent=s.service.cpu_target_percent,
            memory_target_percent=s.service.memory_target_percent,
            requests_per_target=s.service.requests_per_target,
            environment=app_environment(s),
            secrets=app_secrets,
            secret_arns=list(app_secrets.values()),
            attachments=attachments,
            log_retention_days=s.service.log_retention_days,
            health_check_grace_seconds=s.service.health_check_grace_seconds,
            stop_timeout_seconds=s.service.stop_timeout_seconds,
            hold_task_definition=s.hold_service_task_definition,
        ),
        # ECS rejects a service whose target group is not yet attached to a listener.
        opts=pulumi.ResourceOptions(depends_on=[alb]),
    )

    pulumi.export("url", f"https://{s.domain_name}")
    pulumi.export("albDnsName", alb.dns_name)
    pulumi.export("imageUri", registry.image_uri)
    pulumi.export("repositoryUrl", registry.repository_url)
    pulumi.export("clusterName", service.cluster_name)
    pulumi.export("serviceName", service.service_name)
    pulumi.export("taskDefinitionArn", service.task_definition_arn)
    pulumi.export("containerName", service.container_name)
    pulumi.export("privateSubnetIds", network.private_subnet_ids)
    pulumi.export("serviceSecurityGroupId", service.security_group_id)
    pulumi.export("logGroupName", service.log_group_name)
    for name, value in data_exports.items():
        pulumi.export(name, value)


main()
