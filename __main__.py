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
    EfsVolume,
    FargateService,
    HttpsAlb,
    LoadBalancerTarget,
    Network,
    RdsDatabase,
    RedisCache,
    ServiceAttachment,
    TaskRole,
    subnets_by_position,
)
from settings import StackSettings, load
from settings.runtime import read_pulumi_config
from stack_args import (
    ACTIVITY_LOG,
    CACHE,
    DATABASE,
    NETWORK,
    WEB,
    alb_args,
    cache_args,
    check_components,
    database_args,
    network_args,
    private_subnet_count,
    registry_args,
    service_args,
    task_role_args,
    volume_args,
)


def build_attachments(s: StackSettings, network: Network) -> tuple[list[ServiceAttachment], dict]:
    """Declare the data services this stack enables; return their attachments and exports."""
    attachments: list[ServiceAttachment] = []
    exports: dict[str, pulumi.Output] = {}
    vpc_id, subnet_ids = network.vpc_id, network.private_subnet_ids
    if s.database.enabled:
        database = RdsDatabase(DATABASE, database_args(s, vpc_id=vpc_id, subnet_ids=subnet_ids))
        attachments.append(database.attachment)
        exports["databaseEndpoint"] = database.endpoint_address
    if s.cache.enabled:
        cache = RedisCache(CACHE, cache_args(s, vpc_id=vpc_id, subnet_ids=subnet_ids))
        attachments.append(cache.attachment)
        exports["redisEndpoint"] = cache.endpoint_address
    if s.activity_log.enabled:
        keyed = subnets_by_position(subnet_ids, private_subnet_count(s))
        volume = EfsVolume(ACTIVITY_LOG, volume_args(vpc_id=vpc_id, subnet_ids=keyed))
        attachments.append(volume.attachment)
        exports["efsFileSystemId"] = volume.file_system_id
    return attachments, exports


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
    # Every component's own checks, before the first resource exists.
    check_components(s)

    network = Network(NETWORK, network_args(s))
    registry = EcrRepo(WEB, registry_args(s))
    account_id = aws.get_caller_identity_output().account_id
    zone = aws.route53.get_zone_output(name=s.hosted_zone_name, private_zone=False)

    alb = HttpsAlb(
        WEB,
        alb_args(
            s,
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            hosted_zone_id=zone.zone_id,
        ),
    )
    DnsAlias(
        WEB,
        DnsAliasArgs(
            hosted_zone_id=zone.zone_id,
            record_name=s.domain_name,
            target_dns_name=alb.dns_name,
            target_zone_id=alb.zone_id,
            ipv6=s.load_balancer.ip_address_type == "dualstack",
        ),
    )

    attachments, data_exports = build_attachments(s, network)
    task_role = TaskRole(WEB, task_role_args(s, account_id=account_id, attachments=attachments))
    service = FargateService(
        WEB,
        service_args(
            s,
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
            secrets=build_app_secrets(s),
            attachments=attachments,
        ),
        # ECS rejects a service whose target group is not yet attached to a listener.
        opts=pulumi.ResourceOptions(depends_on=[alb]),
    )

    pulumi.export("url", f"https://{s.domain_name}")
    pulumi.export("region", s.region)
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
