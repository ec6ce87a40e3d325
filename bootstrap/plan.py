"""Render the bootstrap stack offline, in the same format as `python -m tools.plan`.

    python -m bootstrap.plan [STACK] [--json]      # STACK defaults to example

Runs `bootstrap/__main__.py` under Pulumi's mock runtime with `bootstrap/Pulumi.<STACK>.yaml`,
so it needs no AWS account, no Pulumi CLI and no credentials. Exit status: 0 on success,
2 on a configuration error (message on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.sync_await import _sync_await

from tools import mock_runtime
from tools.plan import SECRET_MARK, Plan, to_document, to_tree

BOOTSTRAP_DIR = Path(__file__).resolve().parent
PROJECT = "webstack-bootstrap"


class BootstrapPlanError(Exception):
    """The stack file is missing or the program rejected one of its values."""


def render(stack: str) -> Plan:
    """Run the bootstrap program for one stack file under the mock runtime."""
    path = BOOTSTRAP_DIR / f"Pulumi.{stack}.yaml"
    try:
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    except FileNotFoundError:
        raise BootstrapPlanError(f"{path.name}: stack file not found at {path}") from None
    encoded = {key: value if isinstance(value, str) else json.dumps(value)
               for key, value in config.items()}
    mocks = mock_runtime.RecordingMocks(region=encoded.get("aws:region", "us-east-1"))
    pulumi.runtime.set_all_config(encoded)
    mock_runtime.install(mocks, project=PROJECT, stack=stack)
    try:
        mock_runtime.run(lambda: runpy.run_path(str(BOOTSTRAP_DIR / "__main__.py"),
                                                run_name="__main__"))
    except pulumi.RunError as error:
        raise BootstrapPlanError(str(error)) from None

    outputs: dict[str, Any] = {}
    root = pulumi.runtime.settings.get_root_resource()
    for name, value in sorted(getattr(root, "outputs", {}).items()):
        output = pulumi.Output.from_input(value)
        is_secret = _sync_await(output.is_secret())
        outputs[name] = SECRET_MARK if is_secret else _sync_await(output.future())
    return Plan(stack=stack, source=path.name, resources=list(mocks.records), outputs=outputs,
                computed=set(mocks.computed), looked_up=set(getattr(mocks, "looked_up", ())))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, render the plan and print it; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bootstrap.plan",
                                     description="Render the bootstrap stack offline.")
    parser.add_argument("stack", nargs="?", default="example",
                        help="stack name: reads bootstrap/Pulumi.<stack>.yaml (default example)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    args = parser.parse_args(argv)
    try:
        plan = render(args.stack)
    except BootstrapPlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(to_document(plan), indent=2) if args.json else to_tree(plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
