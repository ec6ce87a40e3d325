"""CloudWatch Logs rules: every log group has a retention, prod keeps logs long enough."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.context import RuleContext, violation
from policy.rules.base import ResourceRule
from policy.values import as_number

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

PROD_MIN_RETENTION_DAYS = 90
"""Minimum retention in days outside a relaxed stack: three months, so an incident found a
quarter late can still be traced in the container logs. Checkov's CKV_AWS_338 requires a
year; security/checkov-skips.yaml records why this program keeps 90 days."""


def check_retention_set(resource_type: str, props: Mapping[str, Any],
                        context: RuleContext) -> list[str]:
    """Require a retention on every log group (unset keeps logs forever, at a cost)."""
    days = as_number(props.get("retentionInDays"))
    if days is not None and days > 0:
        return []
    return [violation(None, resource_type, context,
                      "the log group has no retention, so it keeps logs forever",
                      f"set retentionInDays, at least {PROD_MIN_RETENTION_DAYS} in prod")]


def check_long_retention(resource_type: str, props: Mapping[str, Any],
                         context: RuleContext) -> list[str]:
    """Require at least the prod minimum retention unless the stack file relaxes it."""
    days = as_number(props.get("retentionInDays"))
    if context.is_relaxed("logs-long-retention") or days is None or days <= 0:
        # An unset retention keeps logs forever, which check_retention_set reports.
        return []
    if days >= PROD_MIN_RETENTION_DAYS:
        return []
    return [violation(None, resource_type, context, f"logs are kept {days:g} days",
                      f"set retentionInDays to {PROD_MIN_RETENTION_DAYS} or more, or relax "
                      "logs-long-retention with a reason in a non-prod stack file")]


RULES = (
    ResourceRule(id="logs-retention-set", control=None,
                 description="Every log group has a retention.",
                 resource_types=frozenset({LOG_GROUP}), check=check_retention_set),
    ResourceRule(id="logs-long-retention", control=None,
                 description="Log groups keep logs at least 90 days (relaxable outside prod).",
                 resource_types=frozenset({LOG_GROUP}), check=check_long_retention),
)
