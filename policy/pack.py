"""Wrap the rules as pulumi-policy policies; the pack itself is constructed in `__main__.py`.

Nothing here constructs a `PolicyPack`, so tests can import this module and call each
policy's `validate` directly. During a real `pulumi preview --policy-pack policy` the policy
SDK configures the Pulumi runtime from the engine's environment before each validation. So
`pulumi.get_stack()` and `pulumi.Config("webstack")` read the stack being previewed and its
stack file, which is how the relaxations reach the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.context import RuleContext
from policy.relaxations import PROJECT, RELAXATIONS_KEY, RelaxationError, parse_relaxations
from policy.rules import RESOURCE_RULES, STACK_RULES, Enforcement, StackResource
from policy.values import to_plain

PACK_NAME = "webstack-guardrails"
RELAXATIONS_POLICY = "relaxations-valid"

ContextProvider = Callable[[], tuple[RuleContext, str | None]]
"""Return the stack's context and, when its relaxations are invalid, the error message."""


def context_from_pulumi_config() -> tuple[RuleContext, str | None]:
    """Read the stack name and `webstack:relaxations` from the running Pulumi engine.

    Invalid relaxations are ignored (every rule then applies in full) and their error is
    returned, so the `relaxations-valid` policy can report it.
    """
    stack = pulumi.get_stack()
    raw = pulumi.Config(PROJECT).get_object(RELAXATIONS_KEY)
    try:
        relaxations = parse_relaxations(raw, stack, f"stack config of {stack}")
    except RelaxationError as error:
        return RuleContext(stack=stack), str(error)
    return RuleContext(stack=stack, relaxations=relaxations), None


def _level(enforcement: Enforcement) -> EnforcementLevel:
    if enforcement is Enforcement.ADVISORY:
        return EnforcementLevel.ADVISORY
    return EnforcementLevel.MANDATORY


def stack_resource(resource: PolicyResource) -> StackResource:
    """Convert the policy SDK's view of one stack resource into the rules' `StackResource`."""
    props = to_plain(resource.props)
    if not isinstance(props, Mapping):
        props = {}
    dependencies: Mapping[str, Sequence[Any]] = resource.property_dependencies or {}
    resource_id = props.get("id")
    return StackResource(
        type=resource.resource_type,
        name=resource.name,
        urn=resource.urn,
        props=props,
        id=resource_id if isinstance(resource_id, str) else None,
        property_dependencies={
            key: [d.urn for d in deps] for key, deps in dependencies.items()
        },
    )


def build_policies(context_provider: ContextProvider = context_from_pulumi_config
                   ) -> list[Policy]:
    """Return one pulumi-policy policy per rule, plus the check of the relaxations themselves."""
    policies: list[Policy] = []
    for rule in RESOURCE_RULES:
        policies.append(ResourceValidationPolicy(
            name=rule.id,
            description=f"{rule.control + ': ' if rule.control else ''}{rule.description}",
            enforcement_level=_level(rule.enforcement),
            validate=_resource_validator(rule.id, context_provider),
        ))
    for stack_rule in STACK_RULES:
        policies.append(StackValidationPolicy(
            name=stack_rule.id,
            description=(f"{stack_rule.control + ': ' if stack_rule.control else ''}"
                         f"{stack_rule.description}"),
            enforcement_level=_level(stack_rule.enforcement),
            validate=_stack_validator(stack_rule.id, context_provider),
        ))
    policies.append(StackValidationPolicy(
        name=RELAXATIONS_POLICY,
        description="webstack:relaxations names only relaxable rules, each with a reason, "
                    "and never in prod.",
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=_relaxations_validator(context_provider),
    ))
    return policies


def _resource_validator(rule_id: str, context_provider: ContextProvider
                        ) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    rule = next(r for r in RESOURCE_RULES if r.id == rule_id)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.resource_types:
            return
        context, _ = context_provider()
        for message in rule.check(args.resource_type, args.props,
                                  context.for_resource(args.name)):
            report_violation(message, None)

    return validate


def _stack_validator(rule_id: str, context_provider: ContextProvider
                     ) -> Callable[[StackValidationArgs, ReportViolation], None]:
    rule = next(r for r in STACK_RULES if r.id == rule_id)

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        context, _ = context_provider()
        resources = [stack_resource(r) for r in args.resources]
        for message in rule.check(resources, context):
            # The message names the resource, so the report needs no URN.
            report_violation(message, None)

    return validate


def _relaxations_validator(context_provider: ContextProvider
                           ) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        _, error = context_provider()
        if error:
            report_violation(error, None)

    return validate
