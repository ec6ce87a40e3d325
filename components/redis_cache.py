"""RedisCache: one private ElastiCache replication group with TLS and an AUTH token.

Creates a cache subnet group, a security group with no rules (FargateService adds the one
ingress rule from the service's group), a random AUTH token kept in Secrets Manager and the
replication group. Exposes a `ServiceAttachment` with `REDIS_URL` and the token's secret.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.attachment import IngressGrant, ServiceAttachment
from components.errors import ComponentInputError
from components.tokens import type_token

COMPONENT = "RedisCache"
REDIS_PORT = 6379

# Engine versions of node-based ElastiCache clusters (Amazon ElastiCache User Guide,
# "Supported engines and versions"). Redis OSS 7.1 is the last Redis OSS line there; Valkey
# continues it. From 7 on, ElastiCache takes major.minor and chooses the patch.
SUPPORTED_VERSIONS: dict[str, tuple[str, ...]] = {
    "redis": ("7.0", "7.1"),
    "valkey": ("7.2", "8.0", "8.1", "8.2"),
}

# AUTH tokens: 16 to 128 printable characters; the only punctuation allowed is ! & # $ ^ < > -
# (Amazon ElastiCache User Guide, "Authenticating with the Valkey and Redis OSS AUTH command").
AUTH_TOKEN_LENGTH = 64
AUTH_TOKEN_SPECIAL_CHARACTERS = "!&#$^<>-"

NODE_TYPE_PATTERN = re.compile(r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
# Pulumi names the replication group `<name>-cache-<7 random characters>`, and an id may
# have 40 characters: lowercase letters, digits and single hyphens, starting with a letter.
COMPONENT_NAME_PATTERN = re.compile(r"^(?!.*--)[a-z][a-z0-9-]{0,25}(?<!-)$")
MAX_CACHE_CLUSTERS = 6
"""A primary and up to five replicas in a replication group without cluster mode."""


@dataclass(frozen=True, kw_only=True)
class RedisCacheArgs:
    """Settings of one replication group; the defaults are the production ones.

    Encryption in transit and at rest are not arguments: they are always on, so `REDIS_URL`
    always starts with `rediss://` and the AUTH token never crosses the network in clear.
    """

    vpc_id: pulumi.Input[str]
    """VPC of the cache and its security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets for the cache subnet group, one per availability zone."""
    engine: Literal["redis", "valkey"] = "redis"
    """Cache engine. Default: Redis OSS, because the app is tested against it and
    ElastiCache upgrades Redis OSS to Valkey in place, while it cannot go back."""
    engine_version: str = "7.1"
    """Major.minor engine version, from `SUPPORTED_VERSIONS`. Default: 7.1."""
    node_type: str = "cache.t4g.small"
    """Node type. Default: cache.t4g.small (2 vCPU, 1.37 GiB), enough for sessions and a
    small cache."""
    num_cache_clusters: int = 2
    """Nodes: one primary plus replicas, 1 to 6. Default: 2, so a replica can take over."""
    automatic_failover: bool = True
    """Promote a replica when the primary fails; needs 2 or more nodes. Default: on."""
    multi_az: bool = True
    """Place replicas in other zones; needs automatic failover. Default: on."""
    snapshot_retention_days: int = 7
    """Days of daily snapshots, 1 to 35. Default: 7."""


def _invalid(argument: str, value: object, allowed: str) -> ComponentInputError:
    return ComponentInputError(COMPONENT, argument, value, allowed)


def validate_args(name: str, args: RedisCacheArgs) -> None:
    """Raise `ComponentInputError` for the first invalid plain argument."""
    if not COMPONENT_NAME_PATTERN.match(name):
        raise _invalid(
            "name",
            name,
            "use 1 to 26 lowercase letters, digits and single hyphens, starting with a letter "
            "and not ending with a hyphen, because it becomes the replication group id",
        )

    if args.engine not in SUPPORTED_VERSIONS:
        raise _invalid("engine", args.engine, f"use one of {sorted(SUPPORTED_VERSIONS)}")

    versions = SUPPORTED_VERSIONS[args.engine]
    if args.engine_version not in versions:
        raise _invalid(
            "engine_version",
            args.engine_version,
            f"use one of {list(versions)} for engine {args.engine!r}",
        )

    if not NODE_TYPE_PATTERN.match(args.node_type):
        raise _invalid(
            "node_type",
            args.node_type,
            "use an ElastiCache node type such as 'cache.t4g.small' or 'cache.r7g.large'",
        )

    if not 1 <= args.num_cache_clusters <= MAX_CACHE_CLUSTERS:
        raise _invalid(
            "num_cache_clusters",
            args.num_cache_clusters,
            f"use 1 to {MAX_CACHE_CLUSTERS} nodes (one primary and up to five replicas)",
        )

    if args.automatic_failover and args.num_cache_clusters < 2:
        raise _invalid(
            "num_cache_clusters",
            args.num_cache_clusters,
            "use 2 or more nodes with automatic_failover, or turn automatic_failover and "
            "multi_az off",
        )

    if args.multi_az and not args.automatic_failover:
        raise _invalid(
            "multi_az",
            args.multi_az,
            "turn automatic_failover on as well, or turn multi_az off",
        )

    if not 1 <= args.snapshot_retention_days <= 35:
        raise _invalid(
            "snapshot_retention_days",
            args.snapshot_retention_days,
            "use 1 to 35 days; 0 would turn snapshots off",
        )


class RedisCache(pulumi.ComponentResource):
    """A private Redis OSS or Valkey replication group, encrypted in transit and at rest.

    Children: `<name>-subnets` (cache subnet group), `<name>-sg` (security group without
    rules), `<name>-auth` (random AUTH token), `<name>-secret` and `<name>-secret-value`
    (the token in Secrets Manager) and `<name>-cache` (the replication group). The engine's
    default parameter group is used: nothing here needs other parameters.
    """

    endpoint_address: pulumi.Output[str]
    """Primary endpoint host name, without the port."""
    reader_endpoint_address: pulumi.Output[str]
    port: pulumi.Output[int]
    security_group_id: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    """ARN of the secret whose whole value is the AUTH token."""
    attachment: ServiceAttachment

    def __init__(
        self, name: str, args: RedisCacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        validate_args(name, args)
        super().__init__(type_token("elasticache", COMPONENT), name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        subnet_group = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            description=f"Private subnets of the {name} cache",
            subnet_ids=args.subnet_ids,
            opts=child,
        )

        # No inline rules: FargateService adds the only ingress rule, from the service's group.
        # The provider also removes the allow-all egress rule AWS adds to a new group.
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"Cache {name}: ingress only from the web service",
            opts=child,
        )

        auth_token = random.RandomPassword(
            f"{name}-auth",
            length=AUTH_TOKEN_LENGTH,
            special=True,
            override_special=AUTH_TOKEN_SPECIAL_CHARACTERS,
            min_lower=1,
            min_upper=1,
            min_numeric=1,
            min_special=1,
            opts=child,
        )
        secret = aws.secretsmanager.Secret(
            f"{name}-secret",
            description=f"AUTH token of the {name} cache",
            recovery_window_in_days=7,
            opts=child,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-secret-value",
            secret_id=secret.id,
            secret_string=auth_token.result,
            opts=child,
        )

        replication_group = aws.elasticache.ReplicationGroup(
            f"{name}-cache",
            description=f"Cache of {name}",
            engine=args.engine,
            engine_version=args.engine_version,
            node_type=args.node_type,
            num_cache_clusters=args.num_cache_clusters,
            automatic_failover_enabled=args.automatic_failover,
            multi_az_enabled=args.multi_az,
            port=REDIS_PORT,
            # The id of a cache subnet group is its name.
            subnet_group_name=subnet_group.id,
            security_group_ids=[security_group.id],
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            # "preferred" would also accept plain connections, which exists only to migrate.
            transit_encryption_mode="required",
            auth_token=auth_token.result,
            snapshot_retention_limit=args.snapshot_retention_days,
            auto_minor_version_upgrade=True,
            opts=child,
        )

        self.endpoint_address = replication_group.primary_endpoint_address
        self.reader_endpoint_address = replication_group.reader_endpoint_address
        self.port = pulumi.Output.from_input(REDIS_PORT)
        self.security_group_id = security_group.id
        self.secret_arn = secret.arn
        self.attachment = ServiceAttachment(
            name="cache",
            ingress=[
                IngressGrant(
                    security_group_id=security_group.id,
                    port=REDIS_PORT,
                    description=f"Cache {name} from the web service",
                )
            ],
            environment={
                # `rediss` is Redis over TLS; the token comes separately as REDIS_AUTH_TOKEN.
                "REDIS_URL": pulumi.Output.concat(
                    "rediss://", replication_group.primary_endpoint_address, f":{REDIS_PORT}/0"
                ),
            },
            secrets={"REDIS_AUTH_TOKEN": secret.arn},
            secret_arns=[secret.arn],
        )
        self.register_outputs(
            {
                "endpoint_address": self.endpoint_address,
                "reader_endpoint_address": self.reader_endpoint_address,
                "port": self.port,
                "security_group_id": self.security_group_id,
                "secret_arn": self.secret_arn,
            }
        )
