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
import os
import re
import runpy
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

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
    """`tools.mock_runtime.Recorded` entries in registration order, which varies between runs."""
    outputs: dict[str, Any]
    computed: set[str] = field(default_factory=set)
    looked_up: set[str] = field(default_factory=set)
    placeholders: list[str] = field(default_factory=list)
    """Secret keys the stack file does not hold, rendered with a placeholder."""


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that reads stack files as the Pulumi CLI does.

    The CLI parses YAML 1.2, while PyYAML's SafeLoader follows YAML 1.1, where `yes`, `off`,
    `02000` (octal), `1_024`, `1:00` (base 60) and `2024-01-01` are booleans, numbers and
    dates. Here only the YAML 1.2 core forms are: `true`/`false`, decimal and `0x` integers,
    and decimal floats, so `yes` stays a string that the settings reject. It also rejects
    a key given twice in one mapping, as the CLI does.
    NOTE: modelled on the YAML 1.2 core schema, not compared with the CLI's parser, which
    cannot run here.
    """

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
        first: [
            (tag, pattern)
            for tag, pattern in resolvers
            if tag
            not in (
                "tag:yaml.org,2002:bool",
                "tag:yaml.org,2002:int",
                "tag:yaml.org,2002:float",
                "tag:yaml.org,2002:timestamp",
            )
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        value = str(self.construct_scalar(node))
        if value.lower().startswith(("0x", "-0x", "+0x")):
            return int(value, 16)
        return int(value, 10)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, list | dict):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def stack_file_path(stack: str, config_file: Path | None) -> Path:
    """Return the stack file a render reads: `config_file`, else `Pulumi.<stack>.yaml`."""
    return config_file or ROOT / f"Pulumi.{stack}.yaml"


def source_name(path: Path, given: bool) -> str:
    """Return how messages name a stack file: its name, or the path given on the CLI."""
    return str(path) if given else path.name


def read_stack_document(path: Path, source: str | None = None) -> dict[str, Any]:
    """Read and check a stack file; return the whole document. Raises PlanConfigError."""
    source = source or path.name
    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.load(text, Loader=_StrictLoader)
    except FileNotFoundError:
        raise PlanConfigError(f"{source}: stack file not found at {path}") from None
    except UnicodeDecodeError as error:
        raise PlanConfigError(
            f"{source}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    except OSError as error:
        raise PlanConfigError(f"{source}: cannot read the stack file: {error.strerror}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise PlanConfigError(f"{source}: invalid YAML{where}: {error.problem}") from None
    except (yaml.YAMLError, RecursionError) as error:
        raise PlanConfigError(f"{source}: invalid YAML: {error}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise PlanConfigError(f"{source}: expected a mapping with a `config` mapping inside")
    return document


def read_stack_file(path: Path, source: str | None = None) -> dict[str, Any]:
    """Read a `Pulumi.<stack>.yaml` file and return its `config` mapping."""
    return read_stack_document(path, source).get("config") or {}


def _encode(key: str, value: Any, source: str) -> str:
    """Encode one value as the CLI passes it: JSON for objects and lists, text otherwise."""
    if value is None:
        raise PlanConfigError(
            f"{source}: {key} has no value (null). Set a value, or remove the key."
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, dict | list):
        try:
            return json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            pass
    raise PlanConfigError(
        f"{source}: invalid value for {key}: {value!r:.80}. Allowed: strings, numbers, "
        "booleans, and lists and mappings of them."
    )


def to_cli_config(
    config: dict[str, Any], secret_keys: Sequence[str], source: str = "stack file"
) -> tuple[dict[str, str], list[str], list[str]]:
    """Encode stack file values as the Pulumi CLI passes them to a program.

    Objects and lists become JSON strings; `secure:` values and the program's secret keys
    that the file does not hold become a placeholder marked secret. Returns the config map,
    the secret keys, and the keys given a placeholder. Raises PlanConfigError for a key
    that is not a string or a value the CLI could not pass.
    """
    encoded: dict[str, str] = {}
    secrets: list[str] = []
    placeholders: list[str] = []
    for key, value in config.items():
        if not isinstance(key, str) or not key:
            raise PlanConfigError(
                f"{source}: invalid key {key!r} under config. "
                "Allowed: names such as webstack:service or aws:region."
            )
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            encoded[full_key] = SECRET_PLACEHOLDER
            secrets.append(full_key)
        else:
            encoded[full_key] = _encode(full_key, value, source)
    for key in secret_keys:
        full_key = f"{PROJECT}:{key}"
        if full_key not in encoded:
            encoded[full_key] = SECRET_PLACEHOLDER
            secrets.append(full_key)
            placeholders.append(full_key)
    return encoded, secrets, placeholders


def _component_error(error: BaseException) -> BaseException | None:
    """Return the ComponentInputError behind an error raised inside an `apply`, or None."""
    from components.errors import ComponentInputError

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ComponentInputError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


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

    path = stack_file_path(stack, config_file)
    source = source_name(path, config_file is not None)
    config = read_stack_file(path, source)
    encoded, secret_keys, placeholders = to_cli_config(config, SECRET_KEYS, source)
    region = encoded.get("aws:region", "us-east-1")

    mocks = mock_runtime.RecordingMocks(region=region)
    pulumi.runtime.set_all_config(encoded, secret_keys)
    mock_runtime.install(mocks, project=PROJECT, stack=stack)

    previous = {name: os.environ.get(name) for name in ("COMMIT_SHA", "WEBSTACK_CONFIG_SOURCE")}
    os.environ["COMMIT_SHA"] = commit_sha or "0" * 40
    # Tells settings.load which file to name in messages; the CLI never sets it.
    os.environ["WEBSTACK_CONFIG_SOURCE"] = source
    try:
        mock_runtime.run(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"))
    except SettingsError as error:
        raise PlanConfigError(str(error)) from None
    except Exception as error:
        # A component check that needs a deploy-time value runs inside `apply`, and the
        # runtime wraps its error. The plan reports it like any other invalid value.
        cause = _component_error(error)
        if cause is None:
            raise
        raise PlanConfigError(f"{source}: {cause}") from None
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
        source=source,
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
    """Decode a string input that contains a JSON object or array (policies, containers)."""
    if value[:1] not in ("{", "["):
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return None


def _sorted(value: Any) -> Any:
    """Sort mapping keys at every depth; list order is kept because it can matter."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def to_document(plan: Plan) -> dict[str, Any]:
    """Build the `--json` form.

    Shape: `{"stack", "resources": [{"type", "name", "parent", "inputs", "options"}],
    "outputs"}`. Resources are sorted by parent, type and name, and keys alphabetically,
    because the mock runtime registers resources on several threads and their order varies
    between runs. Sorted output can be compared with `diff`. `options` lists the resource
    options a plan reader needs (`ignoreChanges`, `protect`) and is empty when none is set.
    """
    marker = Marker(plan.computed, plan.looked_up)
    resources = []
    for r in sorted(plan.resources, key=lambda r: (r.parent or "", r.type, r.name)):
        options: dict[str, Any] = {}
        if r.ignore_changes:
            options["ignoreChanges"] = list(r.ignore_changes)
        if r.protect:
            options["protect"] = True
        resources.append(
            {
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "inputs": _sorted(marker.value(r.inputs)),
                "options": options,
            }
        )
    return {
        "stack": plan.stack,
        "resources": resources,
        "outputs": _sorted(marker.value(plan.outputs)),
    }


def _format_scalar(value: Any, width: int | None) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=False)
    if width is not None and len(text) > width:
        return text[: width - 3] + "..."
    return text


def to_tree(plan: Plan, full: bool = False) -> str:
    """Render the readable form: each resource under its parent, its inputs one per line."""
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
            for key, value in resource["options"].items():
                lines.append(f"{indent}      (option) {key}: {_format_scalar(value, width)}")
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
