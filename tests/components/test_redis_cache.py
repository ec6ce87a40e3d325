"""Unit tests of RedisCache under the recording mocks."""

import dataclasses

import pytest

from components.errors import ComponentInputError
from components.redis_cache import (
    AUTH_TOKEN_SPECIAL_CHARACTERS,
    RedisCache,
    RedisCacheArgs,
    validate_args,
)
from tests.components.resolve import resolve
from tools.mock_runtime import RecordingMocks, is_secret, run

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
ARGS = RedisCacheArgs(vpc_id="vpc-123", subnet_ids=["subnet-a", "subnet-b"])


def create(args: RedisCacheArgs = ARGS, name: str = "app") -> RedisCache:
    created: list[RedisCache] = []
    run(lambda: created.append(RedisCache(name, args)))
    return created[0]


def group_inputs(mocks: RecordingMocks) -> dict:
    return mocks.find(GROUP, "app-cache").inputs


def test_group_encrypts_in_transit_and_at_rest(pulumi_mocks):
    create()
    inputs = group_inputs(pulumi_mocks)
    assert inputs["atRestEncryptionEnabled"] is True
    assert inputs["transitEncryptionEnabled"] is True
    assert inputs["transitEncryptionMode"] == "required"
    assert is_secret(inputs["authToken"])


def test_group_engine_and_port(pulumi_mocks):
    create()
    inputs = group_inputs(pulumi_mocks)
    assert inputs["engine"] == "redis"
    assert inputs["engineVersion"] == "7.1"
    assert inputs["port"] == 6379
    assert inputs["nodeType"] == "cache.t4g.small"
    assert inputs["autoMinorVersionUpgrade"] is True
    assert "parameterGroupName" not in inputs


def test_group_secure_defaults(pulumi_mocks):
    create()
    inputs = group_inputs(pulumi_mocks)
    assert inputs["numCacheClusters"] == 2
    assert inputs["automaticFailoverEnabled"] is True
    assert inputs["multiAzEnabled"] is True
    assert inputs["snapshotRetentionLimit"] == 7


def test_staging_relaxes_explicitly(pulumi_mocks):
    create(
        dataclasses.replace(
            ARGS,
            num_cache_clusters=1,
            automatic_failover=False,
            multi_az=False,
            snapshot_retention_days=1,
        )
    )
    inputs = group_inputs(pulumi_mocks)
    assert inputs["numCacheClusters"] == 1
    assert inputs["automaticFailoverEnabled"] is False
    assert inputs["multiAzEnabled"] is False
    assert inputs["snapshotRetentionLimit"] == 1
    assert inputs["transitEncryptionEnabled"] is True


def test_valkey_engine(pulumi_mocks):
    create(dataclasses.replace(ARGS, engine="valkey", engine_version="8.0"))
    inputs = group_inputs(pulumi_mocks)
    assert inputs["engine"] == "valkey"
    assert inputs["engineVersion"] == "8.0"


def test_group_uses_own_subnets_and_group(pulumi_mocks):
    create()
    inputs = group_inputs(pulumi_mocks)
    subnets = pulumi_mocks.find("aws:elasticache/subnetGroup:SubnetGroup", "app-subnets")
    security_group = pulumi_mocks.find("aws:ec2/securityGroup:SecurityGroup", "app-sg")
    assert subnets.inputs["subnetIds"] == ["subnet-a", "subnet-b"]
    assert inputs["subnetGroupName"].startswith("app-subnets-")
    assert inputs["securityGroupIds"] == [security_group.outputs["id"]]


def test_security_group_has_no_rules(pulumi_mocks):
    create()
    group = pulumi_mocks.find("aws:ec2/securityGroup:SecurityGroup", "app-sg")
    assert group.inputs["vpcId"] == "vpc-123"
    assert not group.inputs.get("ingress")
    assert not group.inputs.get("egress")


def test_auth_token_uses_allowed_characters(pulumi_mocks):
    create()
    password = pulumi_mocks.find("random:index/randomPassword:RandomPassword", "app-auth")
    assert password.inputs["length"] == 64
    assert password.inputs["special"] is True
    assert password.inputs["overrideSpecial"] == "!&#$^<>-"
    assert password.inputs["minSpecial"] == 1


def test_auth_token_special_characters_exclude_forbidden():
    assert not set(AUTH_TOKEN_SPECIAL_CHARACTERS) & set('/"@ ')


def test_token_stored_in_secret(pulumi_mocks):
    create()
    secret = pulumi_mocks.find("aws:secretsmanager/secret:Secret", "app-secret")
    value = pulumi_mocks.find("aws:secretsmanager/secretVersion:SecretVersion", "app-secret-value")
    assert secret.inputs["recoveryWindowInDays"] == 7
    assert "name" not in secret.inputs
    assert value.inputs["secretId"] == secret.outputs["id"]
    assert is_secret(value.inputs["secretString"])


def test_children_have_component_parent(pulumi_mocks):
    create()
    children = {r.name for r in pulumi_mocks.children_of("webstack:elasticache:RedisCache", "app")}
    assert children == {
        "app-subnets",
        "app-sg",
        "app-auth",
        "app-secret",
        "app-secret-value",
        "app-cache",
    }


def test_attachment_redis_url_uses_tls(pulumi_mocks):
    cache = create()
    host = resolve(cache.endpoint_address)
    assert resolve(cache.attachment.environment) == {"REDIS_URL": f"rediss://{host}:6379/0"}


def test_attachment_secret_is_token_arn(pulumi_mocks):
    cache = create()
    arn = resolve(cache.secret_arn)
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:")
    assert resolve(cache.attachment.secrets) == {"REDIS_AUTH_TOKEN": arn}
    assert resolve(cache.attachment.secret_arns) == [arn]


def test_attachment_grants_redis_port(pulumi_mocks):
    cache = create()
    (grant,) = cache.attachment.ingress
    assert grant.port == 6379
    assert resolve(grant.security_group_id) == resolve(cache.security_group_id)
    assert cache.attachment.name == "cache"


def test_outputs(pulumi_mocks):
    cache = create()
    assert resolve(cache.port) == 6379
    assert resolve(cache.endpoint_address).startswith("master.")
    assert resolve(cache.reader_endpoint_address).startswith("replica.")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"engine": "memcached"}, r"invalid engine='memcached'; use one of \['redis', 'valkey'\]"),
        ({"engine_version": "6.2"}, r"use one of \['7.0', '7.1'\] for engine 'redis'"),
        ({"engine_version": "7"}, "invalid engine_version='7'"),
        ({"engine": "valkey", "engine_version": "7.1"}, "for engine 'valkey'"),
        ({"node_type": "t4g.small"}, "ElastiCache node type"),
        ({"num_cache_clusters": 0}, "use 1 to 6 nodes"),
        ({"num_cache_clusters": 7}, "use 1 to 6 nodes"),
        ({"num_cache_clusters": 1}, "use 2 or more nodes with automatic_failover"),
        ({"automatic_failover": False}, "invalid multi_az=True"),
        ({"snapshot_retention_days": 0}, "1 to 35 days"),
        ({"snapshot_retention_days": 36}, "1 to 35 days"),
    ],
)
def test_invalid_argument_rejected(changes, message):
    with pytest.raises(ComponentInputError, match=message):
        validate_args("app", dataclasses.replace(ARGS, **changes))


@pytest.mark.parametrize("name", ["App", "app--cache", "app-", "1app", "a" * 27])
def test_invalid_name_rejected(name):
    with pytest.raises(ComponentInputError, match="RedisCache: invalid name"):
        validate_args(name, ARGS)


def test_boundary_arguments_accepted():
    validate_args("a" * 26, dataclasses.replace(ARGS, num_cache_clusters=6))
    validate_args("a", dataclasses.replace(ARGS, snapshot_retention_days=35))


def test_invalid_args_create_no_resource(pulumi_mocks):
    with pytest.raises(ComponentInputError):
        RedisCache("app", dataclasses.replace(ARGS, node_type="m5.large"))
    assert pulumi_mocks.records == []
