"""Scan a stack's offline plan with Checkov and fail on any failed check not in the skip file.

    python -m tools.checkov_scan STACK [--config-file FILE] [--skips FILE] [--checkov PATH]
                                 [--keep FILE] [--json]

Converts the plan with `tools.checkov_plan`, runs
`checkov --file <plan> --framework terraform_plan --skip-download --output json`, and then:
- fails (exit 3) when Checkov scanned fewer resources than the converted plan holds, because
  a malformed conversion makes Checkov scan nothing and report no failure;
- counts a failed check listed in `security/checkov-skips.yaml` for this stack as skipped,
  with its reviewed reason;
- fails (exit 1) on any other failed check.
Exit 2 means the stack or the skip file could not be read, 4 that Checkov could not run.

Checkov is looked up as `--checkov`, then `$CHECKOV`, then `.venv-checkov/bin/checkov`
(its pins conflict with boto3's and pydantic's, so it lives in its own virtualenv), then
`checkov` on PATH. `--skip-download` keeps it from calling the Prisma Cloud API at start.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SKIPS = ROOT / "security" / "checkov-skips.yaml"
DEFAULT_CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
CHECKOV_TIMEOUT_SECONDS = 600
"""A scan takes a few seconds; the limit only stops a hung process."""


class SkipFileError(ValueError):
    """The skip file is not a mapping of check id to a non-empty reason."""


class CheckovError(RuntimeError):
    """Checkov is missing, crashed, or printed no JSON report."""


@dataclass(frozen=True)
class Finding:
    """One failed Checkov check on one resource."""

    check_id: str
    check_name: str
    resource: str


@dataclass
class ScanResult:
    """The outcome of one stack's scan, after the reviewed skips are applied."""

    stack: str
    planned_resources: int
    scanned_resources: int
    passed: int
    failed: list[Finding] = field(default_factory=list)
    """Failed checks that no skip covers: each one fails the scan."""
    skipped: list[tuple[Finding, str]] = field(default_factory=list)
    """Failed checks covered by the skip file, with the reviewed reason."""
    unused_skips: list[str] = field(default_factory=list)
    """Skip ids for this stack that no failed check used (candidates for removal)."""

    @property
    def complete(self) -> bool:
        """Tell whether Checkov scanned every converted resource."""
        return self.scanned_resources >= self.planned_resources


def load_skips(path: Path, stack: str) -> dict[str, str]:
    """Return check id to reason for `stack`: every stack's skips plus its own.

    File shape:
        every_stack: {CKV_AWS_260: "<reason>", ...}
        stacks:
          staging: {CKV_AWS_...: "<reason>"}
    Raises SkipFileError on another shape or an empty reason.
    """
    document = yaml.safe_load(path.read_text()) or {}
    if not isinstance(document, Mapping):
        raise SkipFileError(f"{path.name}: expected a mapping with every_stack and stacks")
    sections: list[tuple[str, Any]] = [("every_stack", document.get("every_stack") or {})]
    stacks = document.get("stacks") or {}
    if not isinstance(stacks, Mapping):
        raise SkipFileError(f"{path.name}: stacks must map a stack name to its skips")
    sections.append((f"stacks.{stack}", stacks.get(stack) or {}))
    skips: dict[str, str] = {}
    for label, section in sections:
        if not isinstance(section, Mapping):
            raise SkipFileError(f"{path.name}: {label} must map a check id to a reason")
        for check_id, reason in section.items():
            if not isinstance(reason, str) or not reason.strip():
                raise SkipFileError(f"{path.name}: {label}.{check_id} needs a reason, got "
                                    f"{reason!r}")
            skips[str(check_id)] = reason.strip()
    return skips


def find_checkov(explicit: str | None) -> str:
    """Return the Checkov executable to run; raises CheckovError when there is none."""
    for candidate in (explicit, os.environ.get("CHECKOV"), str(DEFAULT_CHECKOV)):
        if candidate and Path(candidate).is_file():
            return candidate
    on_path = shutil.which("checkov")
    if on_path:
        return on_path
    raise CheckovError(f"checkov not found: create {DEFAULT_CHECKOV.parent.parent} with "
                       "`python3.11 -m venv .venv-checkov && .venv-checkov/bin/pip install -r "
                       "security/requirements-checkov.txt`, or set CHECKOV")


def run_checkov(checkov: str, plan_file: Path) -> dict[str, Any]:
    """Run Checkov on a Terraform plan JSON file and return its JSON report."""
    command = [checkov, "--file", str(plan_file), "--framework", "terraform_plan",
               "--skip-download", "--output", "json"]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, check=False,
                                   timeout=CHECKOV_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CheckovError(f"checkov failed to run: {error}") from error
    # Checkov exits 1 when a check fails; only a missing report is an error here.
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise CheckovError(f"checkov exited {completed.returncode} without a JSON report; "
                           f"stderr: {completed.stderr.strip()[-2000:]}") from None
    if isinstance(report, list):
        report = next((r for r in report if r.get("check_type") == "terraform_plan"), {})
    if not isinstance(report, dict):
        raise CheckovError(f"checkov printed an unexpected report: {str(report)[:500]}")
    return report


def apply_skips(stack: str, planned: int, report: Mapping[str, Any],
                skips: Mapping[str, str]) -> ScanResult:
    """Split Checkov's failed checks into reviewed skips and real failures."""
    summary = report.get("summary") or {}
    results = report.get("results") or {}
    result = ScanResult(stack=stack, planned_resources=planned,
                        scanned_resources=int(summary.get("resource_count", 0)),
                        passed=int(summary.get("passed", 0)))
    used: set[str] = set()
    for check in results.get("failed_checks") or []:
        finding = Finding(check_id=str(check.get("check_id")),
                          check_name=str(check.get("check_name")),
                          resource=str(check.get("resource")))
        if finding.check_id in skips:
            used.add(finding.check_id)
            result.skipped.append((finding, skips[finding.check_id]))
        else:
            result.failed.append(finding)
    result.unused_skips = sorted(set(skips) - used)
    return result


def scan_stack(stack: str, config_file: Path | None = None, skips_file: Path = DEFAULT_SKIPS,
               checkov: str | None = None, keep: Path | None = None) -> ScanResult:
    """Convert one stack's plan, scan it and apply the skips (see the module docstring)."""
    from tools.checkov_plan import convert_stack

    skips = load_skips(skips_file, stack)
    executable = find_checkov(checkov)
    converted = convert_stack(stack, config_file)
    with tempfile.TemporaryDirectory(prefix="checkov-plan-") as directory:
        plan_file = Path(directory) / f"{stack}.tfplan.json"
        plan_file.write_text(json.dumps(converted.document))
        if keep is not None:
            shutil.copyfile(plan_file, keep)
        report = run_checkov(executable, plan_file)
    return apply_skips(stack, len(converted.addresses), report, skips)


def format_result(result: ScanResult) -> str:
    """Return the report: figures, then each failure and each reviewed skip."""
    lines = [
        f"Checkov on stack {result.stack}: scanned {result.scanned_resources} of "
        f"{result.planned_resources} resources; passed {result.passed}, failed "
        f"{len(result.failed)}, skipped {len(result.skipped)} (reviewed)",
    ]
    if not result.complete:
        lines.append(f"  ERROR scanned fewer resources than the plan holds "
                     f"({result.scanned_resources} < {result.planned_resources}): the "
                     "conversion is malformed")
    for finding in result.failed:
        lines.append(f"  FAILED {finding.check_id} {finding.resource}: {finding.check_name}")
    for finding, reason in result.skipped:
        lines.append(f"  skipped {finding.check_id} {finding.resource}: {reason}")
    for check_id in result.unused_skips:
        lines.append(f"  note: skip {check_id} matched no failed check on this stack")
    return "\n".join(lines)


def to_json(result: ScanResult) -> str:
    """Return the `--json` form of a scan result."""
    return json.dumps({
        "stack": result.stack,
        "planned_resources": result.planned_resources,
        "scanned_resources": result.scanned_resources,
        "passed": result.passed,
        "failed": [vars(f) for f in result.failed],
        "skipped": [{**vars(f), "reason": reason} for f, reason in result.skipped],
        "unused_skips": result.unused_skips,
    }, indent=2)


def main(argv: Sequence[str] | None = None) -> int:
    """Scan one stack; see the module docstring for the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.checkov_scan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", help="stack name, for example staging or prod")
    parser.add_argument("--config-file", type=Path, default=None,
                        help="stack file to use instead of Pulumi.<stack>.yaml")
    parser.add_argument("--skips", type=Path, default=DEFAULT_SKIPS,
                        help=f"reviewed skip file (default: {DEFAULT_SKIPS.relative_to(ROOT)})")
    parser.add_argument("--checkov", default=None, help="Checkov executable to run")
    parser.add_argument("--keep", type=Path, default=None,
                        help="also write the converted Terraform plan JSON to this file")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    from tools.plan import PlanConfigError

    try:
        result = scan_stack(args.stack, args.config_file, args.skips, args.checkov, args.keep)
    except (PlanConfigError, SkipFileError, OSError, yaml.YAMLError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except CheckovError as error:
        print(f"error: {error}", file=sys.stderr)
        return 4
    print(to_json(result) if args.json else format_result(result))
    if not result.complete:
        return 3
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
