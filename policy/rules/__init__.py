"""Every rule of the pack, in one registry shared by the policy pack and `tools.policy_check`."""

from policy.rules import alb, ecr, ecs, efs, elasticache, iam, logs, network, rds, stack
from policy.rules.base import Enforcement, ResourceRule, StackResource, StackRule

RESOURCE_RULES: tuple[ResourceRule, ...] = (
    *ecr.RULES, *ecs.RULES, *alb.RULES, *network.RULES, *rds.RULES, *elasticache.RULES,
    *efs.RULES, *iam.RULES, *logs.RULES,
)
STACK_RULES: tuple[StackRule, ...] = stack.RULES

__all__ = ["RESOURCE_RULES", "STACK_RULES", "Enforcement", "ResourceRule", "StackResource",
           "StackRule"]
