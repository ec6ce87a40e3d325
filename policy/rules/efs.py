"""EFS rules (Security Hub EFS.1, EFS.3, EFS.4; EFS.6 and EFS.7 are stack rules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.context import RuleContext, violation
from policy.rules.base import ResourceRule
from policy.values import as_number, get_mapping, is_true

FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
ACCESS_POINT = "aws:efs/accessPoint:AccessPoint"


def check_encrypted(resource_type: str, props: Mapping[str, Any],
                    context: RuleContext) -> list[str]:
    """Require encryption at rest (EFS.1)."""
    if is_true(props.get("encrypted")):
        return []
    return [violation("EFS.1", resource_type, context, "the file system is not encrypted",
                      "set encrypted to true (this replaces the file system)")]


def check_access_point_root(resource_type: str, props: Mapping[str, Any],
                            context: RuleContext) -> list[str]:
    """Require the access point to confine clients to a directory other than `/` (EFS.3)."""
    path = get_mapping(props, "rootDirectory").get("path")
    if isinstance(path, str) and path.rstrip("/"):
        return []
    return [violation("EFS.3", resource_type, context,
                      "the access point exposes the file system's root directory",
                      'set rootDirectory.path to a subdirectory such as "/activity" with '
                      "creationInfo")]


def check_access_point_user(resource_type: str, props: Mapping[str, Any],
                            context: RuleContext) -> list[str]:
    """Require the access point to enforce a non-root POSIX user (EFS.4)."""
    user = get_mapping(props, "posixUser")
    uid, gid = as_number(user.get("uid")), as_number(user.get("gid"))
    if uid is None or gid is None:
        return [violation("EFS.4", resource_type, context,
                          "the access point enforces no POSIX user",
                          "set posixUser to the container's uid and gid (10001)")]
    if uid == 0:
        return [violation("EFS.4", resource_type, context,
                          "the access point enforces uid 0 (root)",
                          "set posixUser.uid to the container's non-root uid")]
    return []


RULES = (
    ResourceRule(id="efs-encrypted", control="EFS.1",
                 description="EFS file systems are encrypted at rest.",
                 resource_types=frozenset({FILE_SYSTEM}), check=check_encrypted),
    ResourceRule(id="efs-access-point-root", control="EFS.3",
                 description="EFS access points confine clients to a subdirectory.",
                 resource_types=frozenset({ACCESS_POINT}), check=check_access_point_root),
    ResourceRule(id="efs-access-point-user", control="EFS.4",
                 description="EFS access points enforce a non-root POSIX user.",
                 resource_types=frozenset({ACCESS_POINT}), check=check_access_point_user),
)
