"""Read and validate the rules a stack file relaxes, with the reason for each.

Format, in a stack file (`Pulumi.<stack>.yaml`), under the project's config namespace:

    config:
      webstack:relaxations:
        rds-multi-az: "staging tolerates an hour of downtime during a failover"
        rds-deletion-protection: "staging is rebuilt from scratch on demand"

Only the rules in `RELAXABLE_RULES` can be relaxed (availability and retention, never
exposure or encryption), every reason must be a non-empty sentence, and the prod stack may
not relax anything. The policy pack reads the same mapping through `pulumi.Config` during a
real preview, so both paths share `parse_relaxations`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.context import is_production

PROJECT = "webstack"
RELAXATIONS_KEY = "relaxations"
"""Config key (in the project's namespace) of the relaxations mapping."""

RELAXABLE_RULES: Mapping[str, str] = {
    "rds-multi-az": "RDS.5: a standby instance in a second AZ",
    "rds-deletion-protection": "RDS.8: deletion protection on the database",
    "rds-final-snapshot": "a final snapshot when the database is deleted",
    "rds-backup-retention": "RDS.11: automated backups kept at least 7 days",
    "alb-deletion-protection": "ELB.6: deletion protection on the load balancer",
    "cache-failover": "ElastiCache.3: automatic failover and multi-AZ for Redis",
    "logs-long-retention": "log groups kept at least the prod minimum",
}
"""Rule id to what relaxing it gives up. Every other rule applies in every stack."""

MIN_REASON_LENGTH = 10
"""Characters a reason needs at least, so `"ok"` or `"n/a"` is rejected."""


class RelaxationError(ValueError):
    """A relaxations mapping that names an unknown rule, lacks a reason, or relaxes prod."""


def parse_relaxations(value: Any, stack: str, source: str) -> dict[str, str]:
    """Validate a relaxations mapping and return it as rule id to reason.

    `value` is the parsed `webstack:relaxations` value (None when absent, which means no
    relaxation). `source` names where it came from (a file path or "stack config") for the
    error message. Raises RelaxationError naming the key, the value and what is allowed.
    """
    key = f"{PROJECT}:{RELAXATIONS_KEY}"
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RelaxationError(
            f"{source}: {key} must be a mapping of rule id to reason, got {value!r}; "
            f"write it as `{key}: {{rds-multi-az: \"<why this stack can go without it>\"}}`"
        )
    if value and is_production(stack):
        raise RelaxationError(
            f"{source}: {key} relaxes {sorted(value)} in the production stack {stack}, "
            "which must keep every rule; remove the key from its stack file"
        )
    allowed = ", ".join(sorted(RELAXABLE_RULES))
    result: dict[str, str] = {}
    for rule_id, reason in value.items():
        if rule_id not in RELAXABLE_RULES:
            raise RelaxationError(
                f"{source}: {key} names {rule_id!r}, which is not a relaxable rule; "
                f"allowed: {allowed}"
            )
        if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_LENGTH:
            raise RelaxationError(
                f"{source}: {key}.{rule_id} has reason {reason!r}; give a sentence of at "
                f"least {MIN_REASON_LENGTH} characters saying why this stack can go without "
                f"{RELAXABLE_RULES[rule_id]}"
            )
        result[str(rule_id)] = reason.strip()
    return result


def read_relaxations(stack_file: Mapping[str, Any], stack: str, source: str) -> dict[str, str]:
    """Return the relaxations of a parsed stack file (`yaml.safe_load` of Pulumi.<stack>.yaml).

    A stack file without `config` or without the key relaxes nothing. Raises
    RelaxationError for an invalid mapping (see `parse_relaxations`).
    """
    config = stack_file.get("config") if isinstance(stack_file, Mapping) else None
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise RelaxationError(f"{source}: `config` must be a mapping, got {config!r}")
    return parse_relaxations(config.get(f"{PROJECT}:{RELAXATIONS_KEY}"), stack, source)
