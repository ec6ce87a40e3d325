"""Run every rule on a whole stack's resources and collect the violations.

`tools.policy_check` uses it offline on the recorded resources. The policy pack calls the
same check functions one resource at a time through the Pulumi engine instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from policy.context import RuleContext
from policy.rules import RESOURCE_RULES, STACK_RULES, Enforcement, StackResource


@dataclass(frozen=True, kw_only=True)
class Violation:
    """One violation of one rule."""

    rule_id: str
    control: str | None
    enforcement: Enforcement
    message: str


def evaluate(resources: Sequence[StackResource], context: RuleContext) -> list[Violation]:
    """Return the violations of every resource rule and stack rule, in rule order."""
    violations: list[Violation] = []
    for rule in RESOURCE_RULES:
        for resource in resources:
            if resource.type not in rule.resource_types:
                continue
            for message in rule.check(resource.type, resource.props,
                                      context.for_resource(resource.name)):
                violations.append(Violation(rule_id=rule.id, control=rule.control,
                                            enforcement=rule.enforcement, message=message))
    for stack_rule in STACK_RULES:
        for message in stack_rule.check(resources, context):
            violations.append(Violation(rule_id=stack_rule.id, control=stack_rule.control,
                                        enforcement=stack_rule.enforcement, message=message))
    return violations


def rule_ids() -> list[str]:
    """Return every rule id, resource rules first."""
    return [r.id for r in RESOURCE_RULES] + [r.id for r in STACK_RULES]
