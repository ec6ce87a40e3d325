"""Render a stack's full plan offline: every resource the program declares, and its exports.

    python -m tools.plan STACK [--json] [--config-file FILE] [--full]

Runs the real `__main__.py` under Pulumi's mock runtime with the stack file's values, so it
needs no AWS credentials, no Pulumi CLI and no secrets. Values that AWS computes during a
deployment (ARNs, DNS names, image digests) are shown as `<known after deploy>`; answers of
lookups (account id, hosted zone id) as `<looked up: ...>`; secrets as `[secret]`.
After the plan it prints the policy pack's findings on the same resources (`policy/`).
Exit status: 0 on success, 1 when a mandatory policy rule is violated, 2 on a configuration
error (message on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "webstack"
SECRET_MARK = "[secret]"
COMPUTED_MARK = "<known after deploy>"
SECRET_PLACEHOLDER = "plan-placeholder-secret"
"""Value given to a secret the stack file does not hold; it is never shown (secrets print
as `[secret]`) and never leaves the mock runtime."""


class PlanConfigError(Exception):
    """The stack file cannot be read, or the program rejected one of its values."""


@dataclass
class Plan:
    """What the program declared for one stack, with the mock runtime's raw values."""

    stack: str
    source: str
    resources: list[Any]
    """`tools.mock_runtime.Recorded` entries in declaration order."""
    outputs: dict[str, Any]
    computed: set[str] = field(default_factory=set)
    looked_up: set[str] = field(default_factory=set)
    placeholders: list[str] = field(default_factory=list)
    """Secret keys the stack file does not hold, rendered with a placeholder."""


def read_stack_file(path: Path) -> dict[str, Any]:
    """Read a `Pulumi.<stack>.yaml` file and return its `config` mapping."""
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PlanConfigError(f"{path.name}: stack file not found at {path}") from None
    except yaml.YAMLError as error:
        raise PlanConfigError(f"{path.name}: not valid YAML: {error}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise PlanConfigError(f"{path.name}: expected a mapping with a `config` mapping inside")
    return document.get("config") or {}


def to_cli_config(
    config: dict[str, Any], secret_keys: Sequence[str]
) -> tuple[dict[str, str], list[str], list[str]]:
    """Encode stack file values as the Pulumi CLI passes them to a program.

    Objects and lists become JSON strings; `secure:` values and the program's secret keys
    that the file does not hold become a placeholder marked secret. Returns the config map,
    the secret keys, and the keys given a placeholder.
    """
    encoded: dict[str, str] = {}
    secrets: list[str] = []
    placeholders: list[str] = []
    for key, value in config.items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            encoded[full_key] = SECRET_PLACEHOLDER
            secrets.append(full_key)
        elif isinstance(value, dict | list):
            encoded[full_key] = json.dumps(value)
        elif isinstance(value, bool):
            encoded[full_key] = "true" if value else "false"
        else:
            encoded[full_key] = str(value)
    for key in secret_keys:
        full_key = f"{PROJECT}:{key}"
        if full_key not in encoded:
            encoded[full_key] = SECRET_PLACEHOLDER
            secrets.append(full_key)
            placeholders.append(full_key)
    return encoded, secrets, placeholders


def render(stack: str, config_file: Path | None = None, commit_sha: str | None = None) -> Plan:
    """Run `__main__.py` under the mock runtime for one stack and return what it declared.

    `config_file` replaces `Pulumi.<stack>.yaml`, as `pulumi --config-file` does.
    `commit_sha` (default: a fixed placeholder) is the image tag, so a plan does not depend
    on the checkout it runs in. Raises PlanConfigError on an invalid configuration.
    """
    import pulumi
    from pulumi.runtime.sync_await import _sync_await

    from settings import SECRET_KEYS, SettingsError
    from tools import mock_runtime

    path = config_file or ROOT / f"Pulumi.{stack}.yaml"
    config = read_stack_file(path)
    encoded, secret_keys, placeholders = to_cli_config(config, SECRET_KEYS)
    region = encoded.get("aws:region", "us-east-1")

    mocks = mock_runtime.RecordingMocks(region=region)
    pulumi.runtime.set_all_config(encoded, secret_keys)
    mock_runtime.install(mocks, project=PROJECT, stack=stack)

    import os

    previous = {name: os.environ.get(name) for name in ("COMMIT_SHA", "WEBSTACK_CONFIG_SOURCE")}
    os.environ["COMMIT_SHA"] = commit_sha or "0" * 40
    os.environ["WEBSTACK_CONFIG_SOURCE"] = path.name
    try:
        mock_runtime.run(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"))
    except SettingsError as error:
        raise PlanConfigError(str(error)) from None
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    root = pulumi.runtime.settings.get_root_resource()
    outputs: dict[str, Any] = {}
    for name, value in sorted(getattr(root, "outputs", {}).items()):
        output = pulumi.Output.from_input(value)
        resolved = _sync_await(output.future())
        is_secret = _sync_await(output.is_secret())
        outputs[name] = SECRET_MARK if is_secret else resolved

    return Plan(
        stack=stack,
        source=path.name,
        resources=list(mocks.records),
        outputs=outputs,
        computed=set(mocks.computed),
        looked_up=set(mocks.looked_up),
        placeholders=placeholders,
    )


# -- presentation ------------------------------------------------------------------------


class Marker:
    """Replaces invented values with marks so the plan never shows them as real data."""

    def __init__(self, computed: Iterable[str], looked_up: Iterable[str]) -> None:
        # Longest first, so an ARN is replaced whole before its account id is.
        self.computed = sorted((c for c in computed if len(c) >= 4), key=len, reverse=True)
        self.looked_up = sorted((c for c in looked_up if len(c) >= 4), key=len, reverse=True)

    def text(self, value: str) -> str:
        for item in self.computed:
            if item in value:
                value = value.replace(item, COMPUTED_MARK)
        for item in self.looked_up:
            if item in value:
                value = value.replace(item, f"<looked up: {item}>")
        return value

    def value(self, value: Any) -> Any:
        from tools.mock_runtime import is_secret

        if is_secret(value):
            return SECRET_MARK
        if isinstance(value, str):
            decoded = _json_document(value)
            if decoded is not None:
                return self.value(decoded)
            return self.text(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items() if not k.startswith("__")}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


def _json_document(value: str) -> Any | None:
    """Decode a string input that holds a JSON object or array (policies, containers)."""
    if value[:1] not in ("{", "["):
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return None


def to_document(plan: Plan) -> dict[str, Any]:
    """Build the `--json` form.

    Shape: `{"stack", "resources": [{"type", "name", "parent", "inputs"}], "outputs"}`.
    """
    marker = Marker(plan.computed, plan.looked_up)
    return {
        "stack": plan.stack,
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "inputs": marker.value(r.inputs),
            }
            for r in plan.resources
        ],
        "outputs": marker.value(plan.outputs),
    }


def _format_scalar(value: Any, width: int | None) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=False)
    if width is not None and len(text) > width:
        return text[: width - 3] + "..."
    return text


def to_tree(plan: Plan, full: bool = False) -> str:
    """The readable form: each resource under its parent, its inputs one per line."""
    document = to_document(plan)
    width = None if full else 150
    children: dict[str | None, list[dict[str, Any]]] = {}
    for resource in document["resources"]:
        children.setdefault(resource["parent"], []).append(resource)

    lines = [f"Stack {plan.stack} ({plan.source}): {len(plan.resources)} resources"]
    if plan.placeholders:
        lines.append(
            "Secrets not in the stack file, rendered with a placeholder: "
            + ", ".join(plan.placeholders)
        )

    def walk(parent: str | None, depth: int) -> None:
        for resource in children.get(parent, []):
            indent = "    " * depth
            lines.append(f"{indent}+ {resource['type']}  {resource['name']}")
            for key, value in resource["inputs"].items():
                lines.append(f"{indent}      {key}: {_format_scalar(value, width)}")
            walk(f"{resource['type']}::{resource['name']}", depth + 1)

    walk(None, 0)
    lines.append("Outputs:")
    for name, value in document["outputs"].items():
        lines.append(f"    {name}: {_format_scalar(value, None)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, render the plan and print it; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.plan",
        description="Render a stack's plan offline under Pulumi's mock runtime.",
    )
    parser.add_argument("stack", help="stack name, e.g. staging or prod")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument(
        "--config-file", type=Path, help="stack file to read instead of Pulumi.<stack>.yaml"
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="print long input values whole instead of cutting them at 150 characters",
    )
    args = parser.parse_args(argv)

    from policy.evaluate import evaluate
    from policy.relaxations import RelaxationError
    from policy.rules import Enforcement
    from tools.policy_check import format_report, load_context, stack_resources

    try:
        plan = render(args.stack, args.config_file)
        context = load_context(args.stack, args.config_file)
    except (PlanConfigError, RelaxationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    violations = evaluate(stack_resources(plan.resources), context)
    if args.json:
        document = to_document(plan)
        document["violations"] = [
            {
                "rule": v.rule_id,
                "control": v.control,
                "enforcement": v.enforcement.value,
                "message": v.message,
            }
            for v in violations
        ]
        print(json.dumps(document, indent=2))
    else:
        print(to_tree(plan, full=args.full))
        print(format_report(args.stack, context, violations))
    # A mandatory violation fails the plan as it would fail `pulumi preview --policy-pack`.
    return 1 if any(v.enforcement is Enforcement.MANDATORY for v in violations) else 0


if __name__ == "__main__":
    sys.exit(main())
