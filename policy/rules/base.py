"""The shape of a rule: an id, the Security Hub control it enforces, and a pure check."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from policy.context import RuleContext

ResourceCheck = Callable[[str, Mapping[str, Any], RuleContext], list[str]]
"""`(resource_type, props, context) -> violation messages`; an empty list means compliant."""


class Enforcement(Enum):
    """Effect of a violation: `MANDATORY` stops the preview, `ADVISORY` only reports."""

    MANDATORY = "mandatory"
    ADVISORY = "advisory"


@dataclass(frozen=True, kw_only=True)
class ResourceRule:
    """A rule checked on each resource of the listed types."""

    id: str
    """Kebab-case id, unique across the pack; the policy name in `pulumi preview`."""
    control: str | None
    """AWS Security Hub control the rule enforces (for example `ECR.1`), if one exists."""
    description: str
    """One sentence shown by `pulumi preview` next to the policy name."""
    resource_types: frozenset[str]
    """Pulumi type tokens the rule applies to."""
    check: ResourceCheck
    enforcement: Enforcement = Enforcement.MANDATORY
    """Default: mandatory, so a violation stops the preview and the offline check."""


@dataclass(frozen=True, kw_only=True)
class StackResource:
    """One resource of the whole stack, in the form stack rules read.

    Built from a `pulumi_policy.PolicyResource` during a real preview or from a recorded
    mock resource offline. Properties are plain values (see `policy.values.to_plain`).
    """

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    """Inputs, merged with the outputs the engine or the mock reports."""
    id: str | None = None
    """Physical id when known (offline, the mock's id; during a preview, usually unknown)."""
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Top-level property name to the URNs of the resources its value came from."""


StackCheck = Callable[[Sequence[StackResource], RuleContext], list[str]]
"""`(resources, context) -> violation messages`, for rules that relate several resources."""


@dataclass(frozen=True, kw_only=True)
class StackRule:
    """A rule checked once on the whole stack, because it relates several resources."""

    id: str
    control: str | None
    description: str
    check: StackCheck
    enforcement: Enforcement = Enforcement.MANDATORY
