"""Rule context besides the resource: the stack, its relaxations, the resource's name."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

PROD_STACK = "prod"
"""The production stack; it and every `prod-<suffix>` stack (a second region) may not
relax any rule."""


def is_production(stack: str) -> bool:
    """Tell whether `stack` is a production stack: `prod` or `prod-<suffix>`."""
    return stack == PROD_STACK or stack.startswith(f"{PROD_STACK}-")


@dataclass(frozen=True, kw_only=True)
class RuleContext:
    """The stack a rule runs for, with the relaxations its stack file declares."""

    stack: str
    """Stack name, for example `staging` or `prod`."""
    relaxations: Mapping[str, str] = field(default_factory=dict)
    """Rule id to the reason the stack file gives for relaxing it. Default: none, so every
    rule applies in full."""
    resource_name: str = "<unnamed>"
    """Logical name of the resource being checked, for the violation message."""

    def for_resource(self, name: str) -> RuleContext:
        """Return a copy of this context for one resource."""
        return dataclasses.replace(self, resource_name=name)

    def is_relaxed(self, rule_id: str) -> bool:
        """Tell whether the stack file relaxes `rule_id` (with a reason)."""
        return rule_id in self.relaxations


def violation(
    control: str | None, resource_type: str, context: RuleContext, problem: str, fix: str
) -> str:
    """Format one violation as a single line: control, resource, what is wrong, the fix.

    Example: `[ECR.1] aws:ecr/repository:Repository 'app-repo': scan on push is off.
    Fix: set imageScanningConfiguration.scanOnPush to true.`
    """
    prefix = f"[{control}] " if control else ""
    return f"{prefix}{resource_type} '{context.resource_name}': {problem}. Fix: {fix}."
