"""What a data service hands the web service: one contract for RDS, Redis and EFS.

Every data service follows the same four steps: create the resource, secure the connection,
inject the connection, use it in the app. The component that creates the resource does the
first step and describes the rest in a `ServiceAttachment`; `FargateService` opens the
security groups, adds the environment, secrets, IAM statements and volumes, without knowing
which kind of service it is attaching.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi


@dataclass(frozen=True, kw_only=True)
class IngressGrant:
    """A request to open a data service's security group to the web service."""

    security_group_id: pulumi.Input[str]
    """Security group of the data service; the web service's group becomes its only source."""
    port: int
    """TCP port the data service listens on (for example 5432, 6379, 2049)."""
    description: str
    """Shown on both security group rules, so a reviewer in the console sees the purpose."""


@dataclass(frozen=True, kw_only=True)
class EfsMount:
    """An EFS access point to mount into the container, with TLS and IAM authorization."""

    volume_name: str
    """Task-definition volume name; unique within the task."""
    file_system_id: pulumi.Input[str]
    access_point_id: pulumi.Input[str]
    container_path: str
    """Absolute path inside the container, for example `/mnt/activity`."""
    read_only: bool = False
    """Default: writable, because the app appends its activity log there."""


@dataclass(frozen=True, kw_only=True)
class ServiceAttachment:
    """Everything the web service needs to use one data service."""

    name: str
    """Short label of the data service (`database`, `cache`, `activity-log`) for child names."""
    ingress: Sequence[IngressGrant] = ()
    """Security groups to open to the web service. Default: none."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain environment variables (host names, ports, paths). Never a credential."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment variable name to Secrets Manager ARN, optionally `ARN:json-key::`."""
    secret_arns: Sequence[pulumi.Input[str]] = ()
    """Exact secret ARNs (without a JSON key suffix) the execution role may read."""
    task_role_statements: Sequence[pulumi.Input[Mapping[str, Any]]] = ()
    """IAM policy statements the app's task role needs to use the service."""
    efs_mounts: Sequence[EfsMount] = ()
    """EFS access points to mount into the container."""
