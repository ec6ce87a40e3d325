"""Unit tests of RdsDatabase under the recording mocks."""

import dataclasses
import re

import pulumi
import pytest

from components.errors import ComponentInputError
from components.rds_database import RdsDatabase, RdsDatabaseArgs, validate_args
from tests.components.resolve import resolve
from tools.mock_runtime import RecordingMocks, run

INSTANCE = "aws:rds/instance:Instance"
ARGS = RdsDatabaseArgs(vpc_id="vpc-123", subnet_ids=["subnet-a", "subnet-b"])


def create(args: RdsDatabaseArgs = ARGS, name: str = "app") -> RdsDatabase:
    created: list[RdsDatabase] = []
    run(lambda: created.append(RdsDatabase(name, args)))
    return created[0]


def instance_inputs(mocks: RecordingMocks) -> dict:
    return mocks.find(INSTANCE, "app-db").inputs


def test_instance_is_private_encrypted_postgres(pulumi_mocks):
    create()
    inputs = instance_inputs(pulumi_mocks)
    assert inputs["engine"] == "postgres"
    assert inputs["engineVersion"] == "16"
    assert inputs["publiclyAccessible"] is False
    assert inputs["storageEncrypted"] is True
    assert inputs["storageType"] == "gp3"
    assert inputs["port"] == 5432


def test_instance_password_managed_by_rds(pulumi_mocks):
    create()
    inputs = instance_inputs(pulumi_mocks)
    assert inputs["manageMasterUserPassword"] is True
    assert "password" not in inputs
    assert inputs["username"] == "app"
    assert inputs["dbName"] == "app"


def test_instance_secure_defaults(pulumi_mocks):
    create()
    inputs = instance_inputs(pulumi_mocks)
    assert inputs["multiAz"] is True
    assert inputs["deletionProtection"] is True
    assert inputs["backupRetentionPeriod"] == 7
    assert inputs["skipFinalSnapshot"] is False
    assert inputs["copyTagsToSnapshot"] is True
    assert inputs["autoMinorVersionUpgrade"] is True
    assert inputs["applyImmediately"] is False
    assert inputs["performanceInsightsEnabled"] is True
    assert inputs["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]


def test_instance_storage_in_gib(pulumi_mocks):
    create(dataclasses.replace(ARGS, allocated_storage_gib=50, max_allocated_storage_gib=200))
    inputs = instance_inputs(pulumi_mocks)
    assert inputs["allocatedStorage"] == 50
    assert inputs["maxAllocatedStorage"] == 200


def test_staging_relaxes_explicitly(pulumi_mocks):
    relaxed = dataclasses.replace(
        ARGS, multi_az=False, deletion_protection=False, backup_retention_days=1
    )
    create(relaxed)
    inputs = instance_inputs(pulumi_mocks)
    assert inputs["multiAz"] is False
    assert inputs["deletionProtection"] is False
    assert inputs["backupRetentionPeriod"] == 1
    assert inputs["skipFinalSnapshot"] is False


def test_final_snapshot_identifier_is_stable(pulumi_mocks):
    create()
    first = instance_inputs(pulumi_mocks)["finalSnapshotIdentifier"]
    pulumi_mocks.records.clear()
    create()
    second = instance_inputs(pulumi_mocks)["finalSnapshotIdentifier"]
    assert re.fullmatch(r"app-final-[0-9a-f]{8}", first)
    assert first == second


def test_final_snapshot_prefix_is_used(pulumi_mocks):
    create(dataclasses.replace(ARGS, final_snapshot_prefix="webstack-db"))
    assert re.fullmatch(
        r"webstack-db-[0-9a-f]{8}", instance_inputs(pulumi_mocks)["finalSnapshotIdentifier"]
    )


def test_parameter_group_forces_tls(pulumi_mocks):
    create()
    params = pulumi_mocks.find("aws:rds/parameterGroup:ParameterGroup", "app-params").inputs
    values = {p["name"]: p["value"] for p in params["parameters"]}
    assert params["family"] == "postgres16"
    assert values["rds.force_ssl"] == "1"
    assert values["log_min_duration_statement"] == "1000"


def test_parameter_group_family_follows_version(pulumi_mocks):
    create(dataclasses.replace(ARGS, engine_version="17"))
    params = pulumi_mocks.find("aws:rds/parameterGroup:ParameterGroup", "app-params").inputs
    assert params["family"] == "postgres17"
    assert instance_inputs(pulumi_mocks)["engineVersion"] == "17"


def test_instance_uses_its_groups(pulumi_mocks):
    create()
    inputs = instance_inputs(pulumi_mocks)
    assert inputs["dbSubnetGroupName"].startswith("app-subnets-")
    assert inputs["parameterGroupName"].startswith("app-params-")
    assert inputs["vpcSecurityGroupIds"] == [
        pulumi_mocks.find("aws:ec2/securityGroup:SecurityGroup", "app-sg").outputs["id"]
    ]


def test_subnet_group_uses_private_subnets(pulumi_mocks):
    create()
    group = pulumi_mocks.find("aws:rds/subnetGroup:SubnetGroup", "app-subnets")
    assert group.inputs["subnetIds"] == ["subnet-a", "subnet-b"]


def test_subnet_ids_accept_an_output(pulumi_mocks):
    args = dataclasses.replace(ARGS, subnet_ids=pulumi.Output.from_input(["s-1", "s-2"]))
    create(args)
    group = pulumi_mocks.find("aws:rds/subnetGroup:SubnetGroup", "app-subnets")
    assert group.inputs["subnetIds"] == ["s-1", "s-2"]


def test_security_group_has_no_rules(pulumi_mocks):
    create()
    group = pulumi_mocks.find("aws:ec2/securityGroup:SecurityGroup", "app-sg")
    assert group.inputs["vpcId"] == "vpc-123"
    assert not group.inputs.get("ingress")
    assert not group.inputs.get("egress")


def test_children_have_component_parent(pulumi_mocks):
    create()
    children = {r.name for r in pulumi_mocks.children_of("webstack:rds:RdsDatabase", "app")}
    assert children == {"app-subnets", "app-params", "app-sg", "app-db"}


def test_attachment_environment(pulumi_mocks):
    db = create()
    environment = resolve(db.attachment.environment)
    assert environment == {
        "DATABASE_HOST": resolve(db.endpoint_address),
        "DATABASE_PORT": "5432",
        "DATABASE_NAME": "app",
        "DATABASE_SSLMODE": "verify-full",
    }


def test_attachment_secrets_use_json_keys(pulumi_mocks):
    db = create()
    arn = resolve(db.secret_arn)
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-")
    assert resolve(db.attachment.secrets) == {
        "DATABASE_USER": f"{arn}:username::",
        "DATABASE_PASSWORD": f"{arn}:password::",
    }
    assert resolve(db.attachment.secret_arns) == [arn]


def test_attachment_grants_postgres_port(pulumi_mocks):
    db = create()
    (grant,) = db.attachment.ingress
    assert grant.port == 5432
    assert resolve(grant.security_group_id) == resolve(db.security_group_id)
    assert db.attachment.name == "database"
    assert not db.attachment.efs_mounts


def test_outputs(pulumi_mocks):
    db = create()
    assert resolve(db.port) == 5432
    assert resolve(db.database_name) == "app"
    assert resolve(db.endpoint_address).endswith(".rds.amazonaws.com")
    assert resolve(db.instance_arn).startswith("arn:aws:rds:")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("username", "postgres", "invalid username='postgres'"),
        ("username", "admin", "invalid username='admin'"),
        ("username", "root", "invalid username='root'"),
        ("username", "rdsadmin", "invalid username='rdsadmin'"),
        ("username", "pg_app", "not starting with 'pg_'"),
        ("username", "App", "invalid username='App'"),
        ("username", "1app", "invalid username='1app'"),
        ("username", "a" * 64, "1 to 63 lowercase"),
        ("db_name", "app-db", "invalid db_name='app-db'"),
        ("db_name", "template1", "invalid db_name='template1'"),
        ("engine_version", "16.4", r"major version in \['14', '15', '16', '17'\]"),
        ("engine_version", "13", "invalid engine_version='13'"),
        ("instance_class", "t4g.micro", "RDS instance class"),
        ("allocated_storage_gib", 19, "20 to 65536 GiB"),
        ("allocated_storage_gib", 65537, "20 to 65536 GiB"),
        ("max_allocated_storage_gib", 10, r"use 20 \(allocated_storage_gib\) to 65536"),
        ("backup_retention_days", 0, "1 to 35 days"),
        ("backup_retention_days", 36, "1 to 35 days"),
        ("slow_query_log_ms", 50, "100 to 60000 ms"),
        ("final_snapshot_prefix", "Final", "invalid final_snapshot_prefix='Final'"),
        ("final_snapshot_prefix", "final-", "not ending with a hyphen"),
        ("subnet_ids", ["subnet-a"], "at least two private subnets"),
    ],
)
def test_invalid_argument_rejected(field, value, message):
    args = dataclasses.replace(ARGS, **{field: value})
    with pytest.raises(ComponentInputError, match=message):
        validate_args("app", args)


@pytest.mark.parametrize("name", ["App", "app--db", "app-", "1app", "a" * 41])
def test_invalid_name_rejected(name):
    with pytest.raises(ComponentInputError, match="RdsDatabase: invalid name"):
        validate_args(name, ARGS)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("engine_version", "14"),
        ("allocated_storage_gib", 20),
        ("max_allocated_storage_gib", 65536),
        ("backup_retention_days", 35),
        ("slow_query_log_ms", -1),
        ("username", "a" * 63),
    ],
)
def test_boundary_argument_accepted(field, value):
    validate_args("a" * 40, dataclasses.replace(ARGS, **{field: value}))


def test_invalid_args_create_no_resource(pulumi_mocks):
    with pytest.raises(ComponentInputError):
        RdsDatabase("app", dataclasses.replace(ARGS, username="postgres"))
    assert pulumi_mocks.records == []


def test_subnet_output_with_one_subnet_fails(pulumi_mocks):
    args = dataclasses.replace(ARGS, subnet_ids=pulumi.Output.from_input(["subnet-a"]))
    with pytest.raises(ValueError, match=r"RdsDatabase: invalid subnet_ids=\['subnet-a'\]"):
        create(args)
