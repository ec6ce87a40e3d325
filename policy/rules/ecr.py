"""ECR repository rules (Security Hub ECR.1, ECR.2; ECR.3 is a stack rule in `stack.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.context import RuleContext, violation
from policy.rules.base import ResourceRule
from policy.values import get_mapping, is_true

REPOSITORY = "aws:ecr/repository:Repository"


def check_scan_on_push(resource_type: str, props: Mapping[str, Any],
                       context: RuleContext) -> list[str]:
    """Require image scanning on push, so a vulnerable base image shows up at build time."""
    if is_true(get_mapping(props, "imageScanningConfiguration").get("scanOnPush")):
        return []
    return [violation("ECR.1", resource_type, context, "images are not scanned on push",
                      "set imageScanningConfiguration.scanOnPush to true")]


def check_immutable_tags(resource_type: str, props: Mapping[str, Any],
                         context: RuleContext) -> list[str]:
    """Require immutable tags, so a deployed tag can never point at another image."""
    mutability = props.get("imageTagMutability")
    if mutability == "IMMUTABLE":
        return []
    shown = mutability if mutability is not None else "MUTABLE (the AWS default)"
    return [violation("ECR.2", resource_type, context, f"image tags are {shown}",
                      'set imageTagMutability to "IMMUTABLE"')]


RULES = (
    ResourceRule(id="ecr-scan-on-push", control="ECR.1",
                 description="ECR repositories scan every pushed image.",
                 resource_types=frozenset({REPOSITORY}), check=check_scan_on_push),
    ResourceRule(id="ecr-immutable-tags", control="ECR.2",
                 description="ECR repositories have immutable tags.",
                 resource_types=frozenset({REPOSITORY}), check=check_immutable_tags),
)
