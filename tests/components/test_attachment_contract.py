"""The data-service contract: every attachment can be consumed without knowing its source.

FargateService merges attachments without inspecting them, so each one must keep the rules of
`components/attachment.py` and the environment names fixed in docs/design.md.
"""

import re
from collections.abc import Callable
from typing import Any

import pytest

from components.attachment import ServiceAttachment
from components.efs_volume import EfsVolume, EfsVolumeArgs
from components.rds_database import RdsDatabase, RdsDatabaseArgs
from components.redis_cache import RedisCache, RedisCacheArgs
from tests.components.resolve import resolve
from tools.mock_runtime import RecordingMocks, run

SUBNETS = ["subnet-a", "subnet-b"]
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
CREDENTIAL_WORDS = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|API_KEY|PRIVATE|USER")
SECRET_ARN = re.compile(r"^arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:[^:]+$")
JSON_KEY_SUFFIX = re.compile(r":[A-Za-z0-9_]+::$")


def rds() -> RdsDatabase:
    return RdsDatabase("db", RdsDatabaseArgs(vpc_id="vpc-1", subnet_ids=SUBNETS))


def redis() -> RedisCache:
    return RedisCache("cache", RedisCacheArgs(vpc_id="vpc-1", subnet_ids=SUBNETS))


def efs() -> EfsVolume:
    subnets = dict(zip(("az1", "az2"), SUBNETS, strict=True))
    return EfsVolume("logs", EfsVolumeArgs(vpc_id="vpc-1", subnet_ids=subnets))


# Each factory, the environment and secret names docs/design.md fixes for it, and its port.
SERVICES: dict[str, tuple[Callable[[], Any], set[str], set[str], int]] = {
    "rds": (
        rds,
        {"DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "DATABASE_SSLMODE"},
        {"DATABASE_USER", "DATABASE_PASSWORD"},
        5432,
    ),
    "redis": (redis, {"REDIS_URL"}, {"REDIS_AUTH_TOKEN"}, 6379),
    "efs": (efs, {"ACTIVITY_LOG_DIR"}, set(), 2049),
}


def create(kind: str) -> Any:
    created: list[Any] = []
    run(lambda: created.append(SERVICES[kind][0]()))
    return created[0]


@pytest.fixture(params=sorted(SERVICES))
def service(request, pulumi_mocks: RecordingMocks) -> tuple[str, Any]:
    return request.param, create(request.param)


def test_exposes_service_attachment(service):
    _, component = service
    assert isinstance(component.attachment, ServiceAttachment)


def test_environment_names_match_design(service):
    kind, component = service
    assert set(component.attachment.environment) == SERVICES[kind][1]
    assert set(component.attachment.secrets) == SERVICES[kind][2]


def test_environment_names_are_valid(service):
    _, component = service
    names = [*component.attachment.environment, *component.attachment.secrets]
    invalid = [name for name in names if not ENV_NAME.match(name)]
    assert invalid == []


def test_environment_has_no_credential(service):
    _, component = service
    suspicious = [n for n in component.attachment.environment if CREDENTIAL_WORDS.search(n)]
    assert suspicious == []


def test_environment_values_are_plain_strings(service):
    _, component = service
    environment = resolve(component.attachment.environment)
    assert all(isinstance(value, str) and value for value in environment.values())


def test_urls_carry_no_password(service):
    _, component = service
    environment = resolve(component.attachment.environment)
    urls = [value for value in environment.values() if "://" in value]
    assert [url for url in urls if "@" in url.split("://", 1)[1].split("/", 1)[0]] == []


def test_every_secret_arn_is_readable(service):
    _, component = service
    allowed = set(resolve(component.attachment.secret_arns))
    for reference in resolve(component.attachment.secrets).values():
        arn = JSON_KEY_SUFFIX.sub("", reference)
        assert arn in allowed, f"{reference} is not covered by secret_arns {sorted(allowed)}"


def test_secret_arns_are_exact(service):
    _, component = service
    arns = resolve(component.attachment.secret_arns)
    assert [arn for arn in arns if not SECRET_ARN.match(arn)] == []
    assert len(arns) == len(set(arns))


def test_ingress_port_matches_service(service):
    kind, component = service
    (grant,) = component.attachment.ingress
    assert grant.port == SERVICES[kind][3]
    assert grant.description


def test_ingress_targets_own_rule_free_group(service, pulumi_mocks):
    _, component = service
    (grant,) = component.attachment.ingress
    group_id = resolve(grant.security_group_id)
    (group,) = [
        r
        for r in pulumi_mocks.of_type("aws:ec2/securityGroup:SecurityGroup")
        if r.outputs.get("id") == group_id
    ]
    assert group_id == resolve(component.security_group_id)
    assert not group.inputs.get("ingress")


def test_task_role_statements_are_scoped(service):
    _, component = service
    for statement in resolve(component.attachment.task_role_statements):
        assert statement["Effect"] == "Allow"
        assert statement["Resource"] != "*"
        assert all(not action.endswith("*") for action in statement["Action"])


def test_efs_mount_paths_are_absolute(service):
    _, component = service
    for mount in component.attachment.efs_mounts:
        assert mount.container_path.startswith("/")
        assert mount.container_path != "/"


def test_attachments_combine_without_clashes(pulumi_mocks):
    components: list[Any] = []
    run(lambda: components.extend(factory() for factory, *_ in SERVICES.values()))
    attachments = [c.attachment for c in components]
    names = [n for a in attachments for n in (*a.environment, *a.secrets)]
    labels = [a.name for a in attachments]
    volumes = [m.volume_name for a in attachments for m in a.efs_mounts]
    assert len(names) == len(set(names))
    assert len(labels) == len(set(labels))
    assert len(volumes) == len(set(volumes))
