"""EfsVolume: an encrypted EFS file system that the web service mounts through one access point.

Creates the file system with backups on and one mount target per private subnet. Its file
system policy rejects unencrypted clients and any mount that bypasses the access point. Its
security group has no rules: FargateService adds the one NFS ingress rule from the service's
group. Exposes a `ServiceAttachment` with the mount, the directory's environment variable and
the task role statement that authorizes the mount.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.attachment import EfsMount, IngressGrant, ServiceAttachment
from components.errors import ComponentInputError
from components.tokens import type_token

COMPONENT = "EfsVolume"
NFS_PORT = 2049
CONTAINER_PATH = "/mnt/activity"
"""Mount path of the access point's directory in the container, passed as ACTIVITY_LOG_DIR."""
VOLUME_NAME = "activity-log"

SUBNET_KEY_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,14}[a-z0-9])?$")
# Access point root directory: at most 100 characters and four levels, no level starting
# with a dot (Amazon EFS API reference, RootDirectory). The characters allowed here are a
# subset of the API's, so a path needs no quoting anywhere.
ROOT_DIRECTORY_PATTERN = re.compile(r"^(?:/(?!\.)[A-Za-z0-9_.-]+){1,4}$")
PERMISSIONS_PATTERN = re.compile(r"^0?[0-7]{3}$")
MAX_POSIX_ID = 4294967295


@dataclass(frozen=True, kw_only=True)
class EfsVolumeArgs:
    """Settings of the file system and its one access point."""

    vpc_id: pulumi.Input[str]
    """VPC of the mount targets and their security group."""
    subnet_ids: Mapping[str, pulumi.Input[str]]
    """Private subnets, one per availability zone, keyed by a stable label such as `az1`.

    The key names the mount target (`<name>-mount-<key>`), so a subnet keeps its mount target
    when others are added or removed. Subnet ids of a new VPC are unknown until deploy and
    cannot be keys themselves; `subnets_by_position` builds this mapping from such a list.
    Pass every subnet the service's tasks run in: a task mounts through its own zone's target.
    """
    root_directory: str = "/activity"
    """Directory of the file system that the access point exposes as its root; created on
    first use. Default: `/activity`."""
    posix_uid: int = 10001
    """User id of every file operation through the access point, 1 to 4294967295.
    Default: 10001, the container's user."""
    posix_gid: int = 10001
    """Group id of every file operation through the access point. Default: 10001."""
    directory_permissions: str = "0750"
    """Octal mode of the root directory when EFS creates it. Default: 0750, so only the
    owner writes and the group reads."""


def subnets_by_position(
    subnet_ids: pulumi.Input[Sequence[str]], count: int
) -> dict[str, pulumi.Output[str]]:
    """Return `{"az1": first id, ..., "az<count>": last id}` for a list known only at deploy.

    The keys are stable while the list keeps its order, as a VPC's subnets do when listed
    by availability zone. The deploy fails if the list does not have exactly `count` items.
    """
    if count < 1:
        raise _invalid("subnet_ids", count, "pass at least one private subnet")

    def pick(ids: Sequence[str], index: int) -> str:
        if len(ids) != count:
            raise _invalid("subnet_ids", list(ids), f"expected exactly {count} subnet ids")
        return ids[index]

    ids = pulumi.Output.from_input(subnet_ids)
    return {
        f"az{index + 1}": ids.apply(lambda values, i=index: pick(values, i))
        for index in range(count)
    }


def _invalid(argument: str, value: object, allowed: str) -> ComponentInputError:
    return ComponentInputError(COMPONENT, argument, value, allowed)


def validate_args(args: EfsVolumeArgs) -> None:
    """Raise `ComponentInputError` for the first invalid plain argument."""
    if not args.subnet_ids:
        raise _invalid(
            "subnet_ids", dict(args.subnet_ids), "pass at least one private subnet, keyed"
        )

    for key in args.subnet_ids:
        if not SUBNET_KEY_PATTERN.match(key):
            raise _invalid(
                "subnet_ids",
                key,
                "use keys of 1 to 16 lowercase letters, digits and inner hyphens, such as 'az1'",
            )
    plain_ids = [value for value in args.subnet_ids.values() if isinstance(value, str)]

    if len(plain_ids) != len(set(plain_ids)):
        raise _invalid(
            "subnet_ids", dict(args.subnet_ids), "list each subnet once: one mount target each"
        )

    if args.root_directory == "/" or not ROOT_DIRECTORY_PATTERN.match(args.root_directory):
        raise _invalid(
            "root_directory",
            args.root_directory,
            "use an absolute path below '/' of 1 to 4 levels, such as '/activity', made of "
            "letters, digits, '_', '.' and '-', with no level starting with '.'",
        )

    if len(args.root_directory) > 100:
        raise _invalid("root_directory", args.root_directory, "use at most 100 characters")

    for argument, value in (("posix_uid", args.posix_uid), ("posix_gid", args.posix_gid)):
        if not 1 <= value <= MAX_POSIX_ID:
            raise _invalid(
                argument, value, f"use 1 to {MAX_POSIX_ID}; 0 would act as root on the share"
            )

    if not PERMISSIONS_PATTERN.match(args.directory_permissions):
        raise _invalid(
            "directory_permissions",
            args.directory_permissions,
            "use an octal mode such as '0750' or '750'",
        )


def file_system_policy(file_system_arn: str, access_point_arn: str) -> str:
    """Return the file system policy: TLS only, and client access only through the access point.

    Denies alone grant nothing; the task role's statement allows the mount. Without a policy,
    EFS lets any client that reaches a mount target mount the whole file system.
    """
    client_actions = [
        "elasticfilesystem:ClientMount",
        "elasticfilesystem:ClientWrite",
        "elasticfilesystem:ClientRootAccess",
    ]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyUnencryptedTransport",
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": "*",
                    "Resource": file_system_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    # The condition key is absent on a mount without an access point, and a
                    # missing key makes StringNotEquals true, so such mounts are denied too.
                    "Sid": "DenyClientsOutsideAccessPoint",
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": client_actions,
                    "Resource": file_system_arn,
                    "Condition": {
                        "StringNotEquals": {"elasticfilesystem:AccessPointArn": access_point_arn}
                    },
                },
            ],
        }
    )


def client_statement(file_system_arn: str, access_point_arn: str) -> dict[str, Any]:
    """Return the task role statement that mounts and writes through the access point only."""
    return {
        "Effect": "Allow",
        "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        "Resource": file_system_arn,
        "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": access_point_arn}},
    }


class EfsVolume(pulumi.ComponentResource):
    """An encrypted, backed-up EFS file system shared through one access point.

    Children: `<name>-fs` (file system), `<name>-backup` (backup policy), `<name>-sg`
    (security group without rules), `<name>-mount-<key>` (a mount target per subnet key),
    `<name>-ap` (access point) and `<name>-policy` (file system policy).
    """

    file_system_id: pulumi.Output[str]
    file_system_arn: pulumi.Output[str]
    access_point_id: pulumi.Output[str]
    access_point_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    attachment: ServiceAttachment

    def __init__(
        self, name: str, args: EfsVolumeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        validate_args(args)
        super().__init__(type_token("efs", COMPONENT), name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        file_system = aws.efs.FileSystem(
            f"{name}-fs",
            encrypted=True,
            performance_mode="generalPurpose",
            # Elastic throughput scales with use and bills per GiB moved, which suits an
            # append-only log that is idle most of the time.
            throughput_mode="elastic",
            lifecycle_policies=[
                aws.efs.FileSystemLifecyclePolicyArgs(transition_to_ia="AFTER_30_DAYS"),
            ],
            opts=child,
        )
        aws.efs.BackupPolicy(
            f"{name}-backup",
            file_system_id=file_system.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="ENABLED"),
            opts=child,
        )

        # No inline rules: FargateService adds the only ingress rule, from the service's group.
        # The provider also removes the allow-all egress rule AWS adds to a new group.
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"EFS {name}: NFS ingress only from the web service",
            opts=child,
        )
        for key, subnet_id in args.subnet_ids.items():
            aws.efs.MountTarget(
                f"{name}-mount-{key}",
                file_system_id=file_system.id,
                subnet_id=subnet_id,
                security_groups=[security_group.id],
                opts=child,
            )

        access_point = aws.efs.AccessPoint(
            f"{name}-ap",
            file_system_id=file_system.id,
            posix_user=aws.efs.AccessPointPosixUserArgs(uid=args.posix_uid, gid=args.posix_gid),
            root_directory=aws.efs.AccessPointRootDirectoryArgs(
                path=args.root_directory,
                creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(
                    owner_uid=args.posix_uid,
                    owner_gid=args.posix_gid,
                    permissions=args.directory_permissions,
                ),
            ),
            opts=child,
        )
        aws.efs.FileSystemPolicy(
            f"{name}-policy",
            file_system_id=file_system.id,
            policy=pulumi.Output.all(file_system.arn, access_point.arn).apply(
                lambda arns: file_system_policy(arns[0], arns[1])
            ),
            opts=child,
        )

        self.file_system_id = file_system.id
        self.file_system_arn = file_system.arn
        self.access_point_id = access_point.id
        self.access_point_arn = access_point.arn
        self.security_group_id = security_group.id
        self.attachment = ServiceAttachment(
            name="activity-log",
            ingress=[
                IngressGrant(
                    security_group_id=security_group.id,
                    port=NFS_PORT,
                    description=f"EFS {name} (NFS) from the web service",
                )
            ],
            environment={"ACTIVITY_LOG_DIR": CONTAINER_PATH},
            task_role_statements=[
                pulumi.Output.all(file_system.arn, access_point.arn).apply(
                    lambda arns: client_statement(arns[0], arns[1])
                )
            ],
            efs_mounts=[
                EfsMount(
                    volume_name=VOLUME_NAME,
                    file_system_id=file_system.id,
                    access_point_id=access_point.id,
                    container_path=CONTAINER_PATH,
                )
            ],
        )
        self.register_outputs(
            {
                "file_system_id": self.file_system_id,
                "file_system_arn": self.file_system_arn,
                "access_point_id": self.access_point_id,
                "access_point_arn": self.access_point_arn,
                "security_group_id": self.security_group_id,
            }
        )
