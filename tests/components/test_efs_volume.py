"""Unit tests of EfsVolume under the recording mocks."""

import dataclasses
import json

import pulumi
import pytest

from components.efs_volume import (
    EfsVolume,
    EfsVolumeArgs,
    subnets_by_position,
    validate_args,
)
from components.errors import ComponentInputError
from tests.components.resolve import resolve
from tools.mock_runtime import run

ARGS = EfsVolumeArgs(vpc_id="vpc-123", subnet_ids={"az1": "subnet-a", "az2": "subnet-b"})
FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
MOUNT_TARGET = "aws:efs/mountTarget:MountTarget"


def create(args: EfsVolumeArgs = ARGS, name: str = "logs") -> EfsVolume:
    created: list[EfsVolume] = []
    run(lambda: created.append(EfsVolume(name, args)))
    return created[0]


def test_file_system_encrypted_elastic(pulumi_mocks):
    create()
    inputs = pulumi_mocks.find(FILE_SYSTEM, "logs-fs").inputs
    assert inputs["encrypted"] is True
    assert inputs["performanceMode"] == "generalPurpose"
    assert inputs["throughputMode"] == "elastic"
    assert inputs["lifecyclePolicies"] == [{"transitionToIa": "AFTER_30_DAYS"}]


def test_backup_policy_enabled(pulumi_mocks):
    volume = create()
    backup = pulumi_mocks.find("aws:efs/backupPolicy:BackupPolicy", "logs-backup")
    assert backup.inputs["backupPolicy"] == {"status": "ENABLED"}
    assert backup.inputs["fileSystemId"] == resolve(volume.file_system_id)


def test_mount_target_per_subnet_key(pulumi_mocks):
    volume = create()
    targets = {r.name: r.inputs for r in pulumi_mocks.of_type(MOUNT_TARGET)}
    security_group_id = resolve(volume.security_group_id)
    assert set(targets) == {"logs-mount-az1", "logs-mount-az2"}
    assert targets["logs-mount-az1"]["subnetId"] == "subnet-a"
    assert targets["logs-mount-az2"]["subnetId"] == "subnet-b"
    assert targets["logs-mount-az1"]["securityGroups"] == [security_group_id]
    assert targets["logs-mount-az1"]["fileSystemId"] == resolve(volume.file_system_id)


def test_mount_targets_from_subnet_output(pulumi_mocks):
    ids = pulumi.Output.from_input(["subnet-a", "subnet-b", "subnet-c"])
    create(dataclasses.replace(ARGS, subnet_ids=subnets_by_position(ids, 3)))
    targets = {r.name: r.inputs["subnetId"] for r in pulumi_mocks.of_type(MOUNT_TARGET)}
    assert targets == {
        "logs-mount-az1": "subnet-a",
        "logs-mount-az2": "subnet-b",
        "logs-mount-az3": "subnet-c",
    }


def test_subnets_by_position_rejects_wrong_count(pulumi_mocks):
    ids = pulumi.Output.from_input(["subnet-a"])
    args = dataclasses.replace(ARGS, subnet_ids=subnets_by_position(ids, 2))
    with pytest.raises(ValueError, match="EfsVolume: invalid subnet_ids=\\['subnet-a'\\]"):
        create(args)


def test_subnets_by_position_rejects_zero():
    with pytest.raises(ComponentInputError, match="at least one private subnet"):
        subnets_by_position(["subnet-a"], 0)


def test_access_point_posix_user_and_root(pulumi_mocks):
    create()
    inputs = pulumi_mocks.find("aws:efs/accessPoint:AccessPoint", "logs-ap").inputs
    assert inputs["posixUser"] == {"uid": 10001, "gid": 10001}
    assert inputs["rootDirectory"] == {
        "path": "/activity",
        "creationInfo": {"ownerUid": 10001, "ownerGid": 10001, "permissions": "0750"},
    }


def test_security_group_has_no_rules(pulumi_mocks):
    create()
    group = pulumi_mocks.find("aws:ec2/securityGroup:SecurityGroup", "logs-sg")
    assert group.inputs["vpcId"] == "vpc-123"
    assert not group.inputs.get("ingress")
    assert not group.inputs.get("egress")


def test_policy_denies_unencrypted_transport(pulumi_mocks):
    volume = create()
    policy = pulumi_mocks.find("aws:efs/fileSystemPolicy:FileSystemPolicy", "logs-policy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    deny_plain = statements["DenyUnencryptedTransport"]
    assert policy.inputs["fileSystemId"] == resolve(volume.file_system_id)
    assert deny_plain["Effect"] == "Deny"
    assert deny_plain["Action"] == "*"
    assert deny_plain["Resource"] == resolve(volume.file_system_arn)
    assert deny_plain["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_policy_denies_mounts_outside_access_point(pulumi_mocks):
    volume = create()
    policy = pulumi_mocks.find("aws:efs/fileSystemPolicy:FileSystemPolicy", "logs-policy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    deny_other = next(s for s in statements if s["Sid"] == "DenyClientsOutsideAccessPoint")
    assert deny_other["Effect"] == "Deny"
    assert "elasticfilesystem:ClientMount" in deny_other["Action"]
    assert deny_other["Condition"] == {
        "StringNotEquals": {"elasticfilesystem:AccessPointArn": resolve(volume.access_point_arn)}
    }
    assert all(s["Effect"] == "Deny" for s in statements)


def test_children_have_component_parent(pulumi_mocks):
    create()
    children = {r.name for r in pulumi_mocks.children_of("webstack:efs:EfsVolume", "logs")}
    assert children == {
        "logs-fs",
        "logs-backup",
        "logs-sg",
        "logs-mount-az1",
        "logs-mount-az2",
        "logs-ap",
        "logs-policy",
    }


def test_attachment_mount_and_environment(pulumi_mocks):
    volume = create()
    (mount,) = volume.attachment.efs_mounts
    assert mount.volume_name == "activity-log"
    assert mount.container_path == "/mnt/activity"
    assert mount.read_only is False
    assert resolve(mount.file_system_id) == resolve(volume.file_system_id)
    assert resolve(mount.access_point_id) == resolve(volume.access_point_id)
    assert resolve(volume.attachment.environment) == {"ACTIVITY_LOG_DIR": "/mnt/activity"}
    assert not volume.attachment.secrets
    assert not volume.attachment.secret_arns


def test_attachment_task_role_statement(pulumi_mocks):
    volume = create()
    (statement,) = resolve(volume.attachment.task_role_statements)
    assert statement == {
        "Effect": "Allow",
        "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        "Resource": resolve(volume.file_system_arn),
        "Condition": {
            "StringEquals": {"elasticfilesystem:AccessPointArn": resolve(volume.access_point_arn)}
        },
    }


def test_attachment_grants_nfs_port(pulumi_mocks):
    volume = create()
    (grant,) = volume.attachment.ingress
    assert grant.port == 2049
    assert resolve(grant.security_group_id) == resolve(volume.security_group_id)
    assert volume.attachment.name == "activity-log"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"subnet_ids": {}}, "at least one private subnet"),
        ({"subnet_ids": {"AZ1": "subnet-a"}}, "invalid subnet_ids='AZ1'"),
        ({"subnet_ids": {"az-": "subnet-a"}}, "invalid subnet_ids='az-'"),
        ({"subnet_ids": {"a": "subnet-a", "b": "subnet-a"}}, "list each subnet once"),
        ({"root_directory": "/"}, "invalid root_directory='/'"),
        ({"root_directory": "activity"}, "use an absolute path"),
        ({"root_directory": "/activity/"}, "invalid root_directory='/activity/'"),
        ({"root_directory": "/a/../b"}, "no level starting with '.'"),
        ({"root_directory": "/a//b"}, "invalid root_directory='/a//b'"),
        ({"root_directory": "/a/b/c/d/e"}, "1 to 4 levels"),
        ({"root_directory": "/" + "a" * 100}, "at most 100 characters"),
        ({"posix_uid": 0}, "invalid posix_uid=0; use 1 to 4294967295"),
        ({"posix_gid": 4294967296}, "invalid posix_gid=4294967296"),
        ({"directory_permissions": "0780"}, "octal mode"),
        ({"directory_permissions": "rwx"}, "octal mode"),
    ],
)
def test_invalid_argument_rejected(changes, message):
    with pytest.raises(ComponentInputError, match=message):
        validate_args(dataclasses.replace(ARGS, **changes))


def test_boundary_arguments_accepted():
    validate_args(
        dataclasses.replace(
            ARGS,
            root_directory="/a/b/c/" + "d" * 93,
            posix_uid=1,
            posix_gid=4294967295,
            directory_permissions="750",
        )
    )


def test_invalid_args_create_no_resource(pulumi_mocks):
    with pytest.raises(ComponentInputError):
        EfsVolume("logs", dataclasses.replace(ARGS, root_directory="/"))
    assert pulumi_mocks.records == []
