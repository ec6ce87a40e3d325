"""RDS instance rules (Security Hub RDS.2, .3, .5, .8, .9, .11, .13, .17, .25).

`rds.force_ssl` lives on the parameter group, so that rule is a stack rule in `stack.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.context import RuleContext, violation
from policy.rules.base import ResourceRule
from policy.values import as_number, get_list, is_false, is_true

INSTANCE = "aws:rds/instance:Instance"

MIN_PROD_BACKUP_DAYS = 7
"""RDS.11's default `minimumBackupRetentionPeriod`, in days."""

# RDS.25 flags the engine's well-known admin names; `rdsadmin` is reserved by RDS itself.
DEFAULT_ADMIN_NAMES = frozenset({"admin", "postgres", "root", "rdsadmin", "master", "sa"})

# Log types a PostgreSQL instance must export at least; other engines need any one export.
POSTGRES_LOG_EXPORTS = frozenset({"postgresql"})


def check_not_public(resource_type: str, props: Mapping[str, Any],
                     context: RuleContext) -> list[str]:
    """Reject a publicly accessible instance (RDS.2)."""
    if is_true(props.get("publiclyAccessible")):
        return [violation("RDS.2", resource_type, context,
                          "the database is publicly accessible",
                          "set publiclyAccessible to false and keep it in private subnets")]
    return []


def check_encrypted(resource_type: str, props: Mapping[str, Any],
                    context: RuleContext) -> list[str]:
    """Require encrypted storage (RDS.3)."""
    if is_true(props.get("storageEncrypted")):
        return []
    return [violation("RDS.3", resource_type, context, "storage is not encrypted",
                      "set storageEncrypted to true (this replaces an existing instance)")]


def check_multi_az(resource_type: str, props: Mapping[str, Any],
                   context: RuleContext) -> list[str]:
    """Require a multi-AZ standby unless the stack file relaxes it (RDS.5)."""
    if context.is_relaxed("rds-multi-az") or is_true(props.get("multiAz")):
        return []
    return [violation("RDS.5", resource_type, context, "the database has no multi-AZ standby",
                      "set multiAz to true, or relax rds-multi-az with a reason in a non-prod "
                      "stack file")]


def check_deletion_protection(resource_type: str, props: Mapping[str, Any],
                              context: RuleContext) -> list[str]:
    """Require deletion protection unless the stack file relaxes it (RDS.8)."""
    if context.is_relaxed("rds-deletion-protection") or is_true(props.get("deletionProtection")):
        return []
    return [violation("RDS.8", resource_type, context, "deletion protection is off",
                      "set deletionProtection to true, or relax rds-deletion-protection with a "
                      "reason in a non-prod stack file")]


def check_final_snapshot(resource_type: str, props: Mapping[str, Any],
                         context: RuleContext) -> list[str]:
    """Require a final snapshot on deletion unless the stack file relaxes it."""
    if context.is_relaxed("rds-final-snapshot"):
        return []
    if is_false(props.get("skipFinalSnapshot")) and props.get("finalSnapshotIdentifier"):
        return []
    return [violation(None, resource_type, context,
                      "deleting the database would take no final snapshot",
                      "set skipFinalSnapshot to false with a finalSnapshotIdentifier, or relax "
                      "rds-final-snapshot with a reason in a non-prod stack file")]


def check_logs_exported(resource_type: str, props: Mapping[str, Any],
                        context: RuleContext) -> list[str]:
    """Require database logs exported to CloudWatch Logs (RDS.9)."""
    exports = {str(e) for e in get_list(props, "enabledCloudwatchLogsExports")}
    engine = str(props.get("engine", ""))
    required = POSTGRES_LOG_EXPORTS if engine.startswith(("postgres", "aurora-postgresql")) \
        else frozenset()
    missing = sorted(required - exports)
    if exports and not missing:
        return []
    wanted = sorted(required) or ["the engine's error log"]
    return [violation("RDS.9", resource_type, context,
                      f"database logs exported to CloudWatch Logs are {sorted(exports)}",
                      f"add {wanted} to enabledCloudwatchLogsExports")]


def check_backup_retention(resource_type: str, props: Mapping[str, Any],
                           context: RuleContext) -> list[str]:
    """Require backups; require at least 7 days unless the stack file relaxes it (RDS.11)."""
    days = as_number(props.get("backupRetentionPeriod"))
    if days is None or days < 1:
        return [violation("RDS.11", resource_type, context,
                          "automated backups are off (backupRetentionPeriod is 0 or unset)",
                          f"set backupRetentionPeriod to {MIN_PROD_BACKUP_DAYS} days or more")]
    if days < MIN_PROD_BACKUP_DAYS and not context.is_relaxed("rds-backup-retention"):
        return [violation("RDS.11", resource_type, context,
                          f"backups are kept {days:g} days",
                          f"set backupRetentionPeriod to {MIN_PROD_BACKUP_DAYS} days or more, "
                          "or relax rds-backup-retention with a reason in a non-prod stack "
                          "file")]
    return []


def check_minor_upgrades(resource_type: str, props: Mapping[str, Any],
                         context: RuleContext) -> list[str]:
    """Require automatic minor version upgrades (RDS.13; unset means on)."""
    if is_false(props.get("autoMinorVersionUpgrade")):
        return [violation("RDS.13", resource_type, context,
                          "automatic minor version upgrades are off",
                          "set autoMinorVersionUpgrade to true")]
    return []


def check_copy_tags(resource_type: str, props: Mapping[str, Any],
                    context: RuleContext) -> list[str]:
    """Require tags copied to snapshots (RDS.17)."""
    if is_true(props.get("copyTagsToSnapshot")):
        return []
    return [violation("RDS.17", resource_type, context, "tags are not copied to snapshots",
                      "set copyTagsToSnapshot to true")]


def check_admin_name(resource_type: str, props: Mapping[str, Any],
                     context: RuleContext) -> list[str]:
    """Reject a default admin user name (RDS.25)."""
    username = props.get("username")
    if isinstance(username, str) and username.lower() in DEFAULT_ADMIN_NAMES:
        return [violation("RDS.25", resource_type, context,
                          f"the master user name is the default {username!r}",
                          'set username to an application-specific name such as "app"')]
    return []


def _rule(rule_id: str, control: str | None, description: str,
          check: Any) -> ResourceRule:
    return ResourceRule(id=rule_id, control=control, description=description,
                        resource_types=frozenset({INSTANCE}), check=check)


RULES = (
    _rule("rds-not-public", "RDS.2", "RDS instances are not publicly accessible.",
          check_not_public),
    _rule("rds-encrypted", "RDS.3", "RDS storage is encrypted.", check_encrypted),
    _rule("rds-multi-az", "RDS.5", "RDS has a multi-AZ standby (relaxable outside prod).",
          check_multi_az),
    _rule("rds-deletion-protection", "RDS.8",
          "RDS has deletion protection (relaxable outside prod).", check_deletion_protection),
    _rule("rds-final-snapshot", None,
          "Deleting RDS takes a final snapshot (relaxable outside prod).", check_final_snapshot),
    _rule("rds-logs-exported", "RDS.9", "RDS exports its logs to CloudWatch Logs.",
          check_logs_exported),
    _rule("rds-backup-retention", "RDS.11",
          "RDS keeps backups at least 7 days (relaxable outside prod to 1 day).",
          check_backup_retention),
    _rule("rds-minor-upgrades", "RDS.13", "RDS applies minor version upgrades.",
          check_minor_upgrades),
    _rule("rds-copy-tags-to-snapshots", "RDS.17", "RDS copies tags to snapshots.",
          check_copy_tags),
    _rule("rds-admin-name", "RDS.25", "RDS does not use a default admin user name.",
          check_admin_name),
)
