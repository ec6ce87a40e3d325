"""Evaluate the policy pack's rules on a stack's offline plan and print the violations.

    python -m tools.policy_check STACK [--config-file FILE] [--json]

Renders the stack with `tools.plan.render` (the real `__main__.py` under the mock runtime),
reads the stack file's `webstack:relaxations`, runs every rule of `policy.rules`, and prints
one line per violation. Exit status: 0 when no mandatory rule is violated, 1 when one is,
2 on a configuration error (invalid stack file or relaxations). Needs no AWS credentials and
no Pulumi CLI, so a reviewer gets the findings `pulumi preview --policy-pack` would report.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from policy.context import RuleContext
from policy.evaluate import Violation, evaluate
from policy.relaxations import RelaxationError, read_relaxations
from policy.rules import Enforcement, StackResource
from policy.values import to_plain

ROOT = Path(__file__).resolve().parent.parent


def recorded_id(record: Any) -> str | None:
    """Return the id the mock runtime gave a recorded resource (None for components)."""
    return record.id


def stack_resources(records: Iterable[Any]) -> list[StackResource]:
    """Convert recorded resources (`tools.mock_runtime.Recorded`) into the rules' view.

    Properties are the inputs over the outputs, with secrets unwrapped: the rules read the
    engine's camelCase input names, and outputs add the ids and names other resources use to
    refer to this one. Component resources are kept (the rules ignore their types).
    """
    resources = []
    for record in records:
        outputs = to_plain(record.outputs) or {}
        inputs = to_plain(record.inputs) or {}
        resources.append(StackResource(
            type=record.type,
            name=record.name,
            urn=record.urn,
            props={**outputs, **inputs},
            id=recorded_id(record) if record.custom else None,
        ))
    return resources


def load_context(stack: str, config_file: Path | None) -> RuleContext:
    """Read the stack file's relaxations and return the rules' context for the stack.

    Raises RelaxationError (an invalid mapping) or PlanConfigError (an unreadable file).
    """
    from tools.plan import read_stack_document, source_name, stack_file_path

    path = stack_file_path(stack, config_file)
    source = source_name(path, config_file is not None)
    relaxations = read_relaxations(read_stack_document(path, source), stack, source)
    return RuleContext(stack=stack, relaxations=relaxations)


def check_stack(stack: str, config_file: Path | None = None) -> tuple[RuleContext,
                                                                      list[Violation]]:
    """Render one stack offline and return its context and every violation."""
    from tools.plan import render

    context = load_context(stack, config_file)
    plan = render(stack, config_file)
    return context, evaluate(stack_resources(plan.resources), context)


def format_report(stack: str, context: RuleContext, violations: Sequence[Violation]) -> str:
    """Return the human-readable report: relaxations in force, then one line per violation."""
    lines = [f"Policy check of stack {stack}:"]
    for rule_id, reason in sorted(context.relaxations.items()):
        lines.append(f"  relaxed {rule_id}: {reason}")
    if not violations:
        lines.append("  no violations")
    for item in violations:
        lines.append(f"  {item.enforcement.value.upper()} {item.rule_id}: {item.message}")
    mandatory = sum(1 for v in violations if v.enforcement is Enforcement.MANDATORY)
    lines.append(f"{mandatory} mandatory, {len(violations) - mandatory} advisory violation(s)")
    return "\n".join(lines)


def to_json(stack: str, context: RuleContext, violations: Sequence[Violation]) -> str:
    """Return the `--json` form: stack, relaxations and violations."""
    return json.dumps({
        "stack": stack,
        "relaxations": dict(context.relaxations),
        "violations": [
            {"rule": v.rule_id, "control": v.control, "enforcement": v.enforcement.value,
             "message": v.message}
            for v in violations
        ],
    }, indent=2)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check for one stack; see the module docstring for the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.policy_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", help="stack name, for example staging or prod")
    parser.add_argument("--config-file", type=Path, default=None,
                        help="stack file to use instead of Pulumi.<stack>.yaml")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    from tools.plan import PlanConfigError

    try:
        context, violations = check_stack(args.stack, args.config_file)
    except (RelaxationError, PlanConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(to_json(args.stack, context, violations) if args.json
          else format_report(args.stack, context, violations))
    return 1 if any(v.enforcement is Enforcement.MANDATORY for v in violations) else 0


if __name__ == "__main__":
    sys.exit(main())
