"""ElastiCache replication group rules (Security Hub ElastiCache.1, .3, .4, .5, .6, .7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.context import RuleContext, violation
from policy.rules.base import ResourceRule
from policy.values import as_number, get_list, is_true

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def check_backups(resource_type: str, props: Mapping[str, Any],
                  context: RuleContext) -> list[str]:
    """Require automatic snapshots (ElastiCache.1)."""
    days = as_number(props.get("snapshotRetentionLimit"))
    if days is not None and days >= 1:
        return []
    return [violation("ElastiCache.1", resource_type, context, "automatic backups are off",
                      "set snapshotRetentionLimit to 1 day or more")]


def check_failover(resource_type: str, props: Mapping[str, Any],
                   context: RuleContext) -> list[str]:
    """Require automatic failover and multi-AZ unless the stack file relaxes it (ElastiCache.3)."""
    if context.is_relaxed("cache-failover"):
        return []
    missing = [key for key in ("automaticFailoverEnabled", "multiAzEnabled")
               if not is_true(props.get(key))]
    if not missing:
        return []
    return [violation("ElastiCache.3", resource_type, context, f"{' and '.join(missing)} off",
                      "set automaticFailoverEnabled and multiAzEnabled to true with 2 or more "
                      "nodes, or relax cache-failover with a reason in a non-prod stack file")]


def check_encryption_at_rest(resource_type: str, props: Mapping[str, Any],
                             context: RuleContext) -> list[str]:
    """Require encryption at rest (ElastiCache.4)."""
    if is_true(props.get("atRestEncryptionEnabled")):
        return []
    return [violation("ElastiCache.4", resource_type, context, "data at rest is not encrypted",
                      "set atRestEncryptionEnabled to true")]


def check_encryption_in_transit(resource_type: str, props: Mapping[str, Any],
                                context: RuleContext) -> list[str]:
    """Require TLS between clients and the cache (ElastiCache.5)."""
    if is_true(props.get("transitEncryptionEnabled")) and \
            props.get("transitEncryptionMode", "required") == "required":
        return []
    return [violation("ElastiCache.5", resource_type, context,
                      "clients may connect without TLS",
                      'set transitEncryptionEnabled to true (transitEncryptionMode "required")')]


def check_auth(resource_type: str, props: Mapping[str, Any],
               context: RuleContext) -> list[str]:
    """Require Redis AUTH or RBAC user groups (ElastiCache.6)."""
    if props.get("authToken") or get_list(props, "userGroupIds"):
        return []
    return [violation("ElastiCache.6", resource_type, context,
                      "clients need no credentials",
                      "set authToken from a Secrets Manager secret, or userGroupIds")]


def check_subnet_group(resource_type: str, props: Mapping[str, Any],
                       context: RuleContext) -> list[str]:
    """Reject the default subnet group (ElastiCache.7)."""
    group = props.get("subnetGroupName")
    if group and group != "default":
        return []
    return [violation("ElastiCache.7", resource_type, context,
                      f"the subnet group is {group or 'the default one'!r}",
                      "create an aws.elasticache.SubnetGroup of the private subnets and set "
                      "subnetGroupName to it")]


def _rule(rule_id: str, control: str, description: str, check: Any) -> ResourceRule:
    return ResourceRule(id=rule_id, control=control, description=description,
                        resource_types=frozenset({REPLICATION_GROUP}), check=check)


RULES = (
    _rule("cache-backups", "ElastiCache.1", "ElastiCache takes automatic backups.",
          check_backups),
    _rule("cache-failover", "ElastiCache.3",
          "ElastiCache fails over automatically (relaxable outside prod).", check_failover),
    _rule("cache-encryption-at-rest", "ElastiCache.4", "ElastiCache encrypts data at rest.",
          check_encryption_at_rest),
    _rule("cache-encryption-in-transit", "ElastiCache.5", "ElastiCache requires TLS.",
          check_encryption_in_transit),
    _rule("cache-auth", "ElastiCache.6", "ElastiCache requires authentication.", check_auth),
    _rule("cache-subnet-group", "ElastiCache.7",
          "ElastiCache uses its own subnet group, not the default.", check_subnet_group),
)
