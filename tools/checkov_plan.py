"""Convert a stack's offline plan into Terraform plan JSON, for Checkov's `terraform_plan` scan.

    python -m tools.checkov_plan STACK [--config-file FILE] [-o FILE]

Pulumi's AWS resources are the Terraform AWS provider's resources under other names, so the
conversion is mechanical. It maps the type token to the Terraform type
(`aws:lb/loadBalancer:LoadBalancer` to `aws_lb`) and camelCase keys to snake_case. It turns
Pulumi's plural block names back into Terraform's singular ones (`defaultActions` to
`default_action`), objects into one-element block lists, and integral floats into integers.
An input that holds another resource's computed id or ARN becomes a reference
(`aws_lb.web-alb.arn`) in `configuration.root_module.resources[].expressions` and is left out
of `values`, as Terraform plans a not-yet-created attribute. Checkov's graph checks (for
example "the ALB redirects HTTP to HTTPS") follow those references.

Only resources of the `aws` provider are converted; components, awsx's VPC component,
Docker images and random passwords have no Terraform AWS counterpart and are listed as
skipped. Secret values are written as `[secret]`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.policy_check import recorded_id

TERRAFORM_VERSION = "1.9.8"
"""Stated in the plan because Checkov skips a plan without `terraform_version`; Checkov
does not interpret the number."""

SECRET_VALUE = "[secret]"

# Type tokens whose Terraform name does not follow `aws_<module>_<snake name>`.
TYPE_OVERRIDES = {
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:rds/cluster:Cluster": "aws_rds_cluster",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "aws_cloudwatch_metric_alarm",
}
# Modules whose Terraform resources carry no module prefix (`aws_security_group`, `aws_vpc`).
UNPREFIXED_MODULES = frozenset({"ec2"})

# Pulumi pluralises repeated Terraform blocks; these are the block names this program uses.
SINGULAR_BLOCKS = {
    "actions": "action",
    "aliases": "alias",
    "capacityProviderStrategies": "capacity_provider_strategy",
    "conditions": "condition",
    "defaultActions": "default_action",
    "defaultCapacityProviderStrategies": "default_capacity_provider_strategy",
    "encryptionConfigurations": "encryption_configuration",
    "inlinePolicies": "inline_policy",
    "lifecyclePolicies": "lifecycle_policy",
    "loadBalancers": "load_balancer",
    "logDeliveryConfigurations": "log_delivery_configuration",
    "masterUserSecrets": "master_user_secret",
    "orderedPlacementStrategies": "ordered_placement_strategy",
    "parameters": "parameter",
    "placementConstraints": "placement_constraints",
    "settings": "setting",
    "subnetMappings": "subnet_mapping",
    "targetGroups": "target_group",
    "volumes": "volume",
}
MAP_ATTRIBUTES = frozenset({"tags", "tagsAll"})
"""Attributes that are maps in Terraform: their keys are user data and stay as written."""

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake_case(name: str) -> str:
    """Convert a camelCase Pulumi property name to Terraform's snake_case."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def terraform_type(token: str) -> str | None:
    """Return the Terraform type of a Pulumi AWS type token, or None for non-AWS types."""
    if token in TYPE_OVERRIDES:
        return TYPE_OVERRIDES[token]
    match = re.fullmatch(r"aws:([a-z0-9]+)/([A-Za-z0-9]+):[A-Za-z0-9]+", token)
    if not match:
        return None
    module, name = match.groups()
    if module == "lb":
        return f"aws_lb_{snake_case(name)}"
    if module in UNPREFIXED_MODULES:
        return f"aws_{snake_case(name)}"
    return f"aws_{module}_{snake_case(name)}"


def terraform_name(name: str) -> str:
    """Return a Terraform resource name for a Pulumi logical name (letters, digits, _ and -)."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return cleaned if re.match(r"[A-Za-z_]", cleaned) else f"r_{cleaned}"


@dataclass(frozen=True)
class Target:
    """The resource address and attribute that a computed value belongs to."""

    address: str
    attribute: str


@dataclass
class Converted:
    """The Terraform plan JSON and what went into it."""

    document: dict[str, Any]
    addresses: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """`type::name` of recorded resources with no Terraform counterpart."""


def _is_secret(value: Any) -> bool:
    from tools.mock_runtime import is_secret

    return is_secret(value)


def _reference_index(records: Sequence[Any], addresses: Mapping[str, str],
                     computed: set[str]) -> dict[str, Target]:
    """Map each computed value (id, ARN, name, DNS name) to the resource that owns it."""
    index: dict[str, Target] = {}
    for record in records:
        address = addresses.get(record.urn)
        if address is None:
            continue
        index.setdefault(recorded_id(record), Target(address, "id"))
        for key, value in record.outputs.items():
            if (isinstance(value, str) and value in computed
                    and record.inputs.get(key) != value and key != "id"):
                index.setdefault(value, Target(address, snake_case(key)))
    return index


def _convert_value(key: str | None, value: Any, index: Mapping[str, Target],
                   ) -> tuple[Any, Any, bool]:
    """Convert one input value.

    Returns (value for `values`, expression for `expressions` or None, whether the value is
    a reference and must be left out of `values`).
    """
    if _is_secret(value):
        return SECRET_VALUE, None, False
    if isinstance(value, str):
        target = index.get(value)
        if target is not None:
            reference = f"{target.address}.{target.attribute}"
            return None, {"references": [reference, target.address]}, True
        return value, None, False
    if isinstance(value, bool) or value is None:
        return value, None, False
    if isinstance(value, float):
        return (int(value) if value.is_integer() else value), None, False
    if isinstance(value, int):
        return value, None, False
    if isinstance(value, Mapping):
        if key in MAP_ATTRIBUTES:
            return {str(k): v for k, v in value.items()}, None, False
        block, expressions = _convert_object(value, index)
        return [block], ([expressions] if expressions else None), False
    if isinstance(value, list):
        return _convert_list(value, index)
    return value, None, False


def _convert_list(items: list[Any], index: Mapping[str, Target]) -> tuple[Any, Any, bool]:
    if items and all(isinstance(item, Mapping) and not _is_secret(item) for item in items):
        blocks, expressions = [], []
        for item in items:
            block, expression = _convert_object(item, index)
            blocks.append(block)
            expressions.append(expression)
        return blocks, (expressions if any(expressions) else None), False
    references: list[str] = []
    values = []
    for item in items:
        converted, expression, is_reference = _convert_value(None, item, index)
        if is_reference:
            references.extend(expression["references"])
        else:
            values.append(converted)
    if references:
        # Terraform plans a list holding not-yet-known ids as unknown as a whole.
        return None, {"references": references}, True
    return values, None, False


def _convert_object(props: Mapping[str, Any], index: Mapping[str, Target]
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Convert a properties object into Terraform `values` and `expressions`."""
    values: dict[str, Any] = {}
    expressions: dict[str, Any] = {}
    for key, value in props.items():
        if key.startswith("__"):
            continue
        name = SINGULAR_BLOCKS.get(key, snake_case(key))
        converted, expression, is_reference = _convert_value(key, value, index)
        if not is_reference:
            values[name] = converted
        if expression:
            expressions[name] = expression
    return values, expressions


def convert(records: Sequence[Any], computed: Iterable[str]) -> Converted:
    """Build the Terraform plan JSON for recorded resources.

    `computed` is the set of values the mock runtime invented (`Plan.computed`); only those
    can be references. Raises nothing: a resource with an unknown type is listed as skipped.
    """
    computed_values = set(computed)
    addresses: dict[str, str] = {}
    used: set[str] = set()
    skipped: list[str] = []
    for record in records:
        tf_type = terraform_type(record.type) if record.custom else None
        if tf_type is None:
            skipped.append(f"{record.type}::{record.name}")
            continue
        name = terraform_name(record.name)
        while f"{tf_type}.{name}" in used:
            name = f"{name}_"
        address = f"{tf_type}.{name}"
        used.add(address)
        addresses[record.urn] = address

    index = _reference_index(records, addresses, computed_values)
    planned: list[dict[str, Any]] = []
    configured: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for record in records:
        address = addresses.get(record.urn)
        if address is None:
            continue
        tf_type, name = address.split(".", 1)
        values, expressions = _convert_object(record.inputs, index)
        planned.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                        "provider_name": "registry.terraform.io/hashicorp/aws",
                        "schema_version": 0, "values": values})
        configured.append({"address": address, "mode": "managed", "type": tf_type,
                           "name": name, "provider_config_key": "aws",
                           "expressions": expressions})
        changes.append({"address": address, "mode": "managed", "type": tf_type, "name": name,
                        "change": {"actions": ["create"], "before": None, "after": values}})

    document = {
        "format_version": "1.2",
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws",
                                        "full_name": "registry.terraform.io/hashicorp/aws"}},
            "root_module": {"resources": configured},
        },
    }
    return Converted(document=document, addresses=list(addresses.values()), skipped=skipped)


def convert_stack(stack: str, config_file: Path | None = None) -> Converted:
    """Render one stack offline and convert it."""
    from tools.plan import render

    plan = render(stack, config_file)
    return convert(plan.resources, plan.computed)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the Terraform plan JSON of one stack to a file or standard output."""
    parser = argparse.ArgumentParser(prog="python -m tools.checkov_plan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", help="stack name, for example staging or prod")
    parser.add_argument("--config-file", type=Path, default=None,
                        help="stack file to use instead of Pulumi.<stack>.yaml")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="file to write (default: standard output)")
    args = parser.parse_args(argv)

    from tools.plan import PlanConfigError

    try:
        converted = convert_stack(args.stack, args.config_file)
    except PlanConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = json.dumps(converted.document, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
        print(f"wrote {len(converted.addresses)} resources to {args.output}; skipped "
              f"{len(converted.skipped)} without a Terraform type", file=sys.stderr)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
