"""Structural rules for bitbucket-pipelines.yml that the published JSON schema cannot express.

The schema (check-jsonschema's vendor.bitbucket-pipelines) accepts misspelt keys, an empty
document and a step without a script. `check(document)` returns one message per broken
rule, so a test can assert the exact problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

TOP_KEYS = {"image", "options", "definitions", "pipelines", "clone"}
OPTION_KEYS = {"max-time", "docker", "size", "runtime", "runs-on"}
DEFINITION_KEYS = {"caches", "services", "steps"}
PIPELINE_KINDS = {"pull-requests", "branches", "default", "custom", "tags"}
STEP_KEYS = {
    "name", "script", "after-script", "caches", "services", "image", "max-time", "size",
    "oidc", "deployment", "trigger", "artifacts", "condition", "clone", "fail-fast", "runs-on",
}
STAGE_KEYS = {"name", "deployment", "trigger", "steps", "condition"}
PARALLEL_KEYS = {"fail-fast", "steps"}

# Scripts that call AWS, and so need `oidc: true`.
AWS_SCRIPTS = ("preview.sh", "deploy.sh", "migrate.sh", "smoke.sh")
# Scripts that change infrastructure or data; never allowed on a pull request.
WRITE_SCRIPTS = ("deploy.sh", "migrate.sh")
ROLLOUT_ORDER = ("deploy.sh release", "migrate.sh", "deploy.sh rollout", "smoke.sh")
# The deploy stages of each pipeline, in order: the stage's deployment environment and
# whether its steps wait for a person (trigger: manual). A new deploy stage adds an entry.
DEPLOY_STAGES: dict[str, tuple[tuple[str, bool], ...]] = {
    "branches.develop": (("staging", False),),
    "branches.main": (("production", True),),
}
STATIC_KEY_PATTERN = re.compile(
    r"AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|(?:AKIA|ASIA)[0-9A-Z]{16}"
)


@dataclass(frozen=True)
class StepContext:
    """One step as it runs: its pipeline, its position and the stage around it (if any)."""

    pipeline: str
    index: int
    step: dict[str, Any]
    stage: dict[str, Any] | None

    @property
    def label(self) -> str:
        return f"{self.pipeline} step {self.index} ({self.step.get('name', 'unnamed')})"

    @property
    def script_text(self) -> str:
        lines = self.step.get("script") or []
        return "\n".join(line for line in lines if isinstance(line, str))

    @property
    def deployment(self) -> str | None:
        if self.stage is not None:
            return self.stage.get("deployment")
        return self.step.get("deployment")

    @property
    def manual(self) -> bool:
        return (self.step.get("trigger") == "manual"
                or (self.stage is not None and self.stage.get("trigger") == "manual"))


def iter_pipelines(document: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    """Yield (label, items) for every pipeline, e.g. ("branches.main", [...])."""
    pipelines = document.get("pipelines") or {}
    for kind, value in pipelines.items():
        if kind == "default":
            yield "default", value
        elif isinstance(value, dict):
            for name, items in value.items():
                yield f"{kind}.{name}", items


def iter_steps(label: str, items: list[Any]) -> Iterator[StepContext]:
    """Yield the steps of one pipeline in execution order (parallel groups in listed order)."""
    index = 0
    for item in items or []:
        if not isinstance(item, dict):
            continue
        if "step" in item:
            index += 1
            yield StepContext(label, index, item["step"] or {}, None)
        elif "parallel" in item:
            parallel = item["parallel"]
            steps = parallel.get("steps", []) if isinstance(parallel, dict) else parallel
            for entry in steps or []:
                index += 1
                yield StepContext(label, index, (entry or {}).get("step") or {}, None)
        elif "stage" in item:
            stage = item["stage"] or {}
            for entry in stage.get("steps") or []:
                index += 1
                yield StepContext(label, index, (entry or {}).get("step") or {}, stage)


def iter_deploy_stages(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (pipeline label, stage) for every stage that has a deployment environment."""
    for label, items in iter_pipelines(document):
        for item in items or []:
            if isinstance(item, dict) and isinstance(item.get("stage"), dict) \
                    and item["stage"].get("deployment"):
                yield label, item["stage"]


def _unknown(keys: Any, allowed: set[str], where: str) -> list[str]:
    if not isinstance(keys, dict):
        return [f"{where} must be a mapping, got {type(keys).__name__}"]
    return [f"{where}: unknown key {key!r}" for key in sorted(set(keys) - allowed)]


def _image_problems(image: Any, where: str) -> list[str]:
    name = image.get("name") if isinstance(image, dict) else image
    if not isinstance(name, str):
        return [f"{where}: image has no name"]
    tag = name.rsplit("/", 1)[-1].partition(":")[2]
    if "@sha256:" in name:
        return []
    if not tag:
        return [f"{where}: image {name!r} has no tag (it would pull latest)"]
    if tag == "latest":
        return [f"{where}: image {name!r} uses the latest tag"]
    return []


def _key_problems(document: dict[str, Any]) -> list[str]:
    problems = _unknown(document, TOP_KEYS, "top level")
    problems += _unknown(document.get("options", {}), OPTION_KEYS, "options")
    definitions = document.get("definitions", {})
    problems += _unknown(definitions, DEFINITION_KEYS, "definitions")
    problems += _unknown(document.get("pipelines") or {}, PIPELINE_KINDS, "pipelines")
    for label, items in iter_pipelines(document):
        for number, item in enumerate(items or [], start=1):
            where = f"{label} item {number}"
            if not isinstance(item, dict) or len(item) != 1:
                problems.append(f"{where}: expected one of step, parallel, stage")
                continue
            kind, body = next(iter(item.items()))
            if kind == "stage":
                problems += _unknown(body, STAGE_KEYS, f"{where} stage")
            elif kind == "parallel" and isinstance(body, dict):
                problems += _unknown(body, PARALLEL_KEYS, f"{where} parallel")
            elif kind not in ("step", "parallel"):
                problems.append(f"{where}: unknown item {kind!r}")
        for context in iter_steps(label, items):
            problems += _unknown(context.step, STEP_KEYS, context.label)
    return problems


def _step_problems(document: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    caches = set((document.get("definitions") or {}).get("caches") or {})
    services = set((document.get("definitions") or {}).get("services") or {})
    for label, items in iter_pipelines(document):
        for context in iter_steps(label, items):
            step, where = context.step, context.label
            script = step.get("script")
            if not script or not all(isinstance(line, str) and line.strip() for line in script):
                problems.append(f"{where}: has no script")
            if not isinstance(step.get("max-time"), int):
                problems.append(f"{where}: has no max-time")
            if not step.get("name"):
                problems.append(f"{where}: has no name")
            problems += [f"{where}: cache {name!r} is not defined"
                         for name in step.get("caches") or [] if name not in caches]
            problems += [f"{where}: service {name!r} is not defined"
                         for name in step.get("services") or [] if name not in services]
            if "image" in step:
                problems += _image_problems(step["image"], where)
            touches_aws = any(name in context.script_text for name in AWS_SCRIPTS)
            if touches_aws and step.get("oidc") is not True:
                problems.append(f"{where}: calls AWS but has no 'oidc: true'")
            if not touches_aws and step.get("oidc"):
                problems.append(f"{where}: has 'oidc: true' but calls no AWS script")
            if context.stage is not None and "deployment" in step:
                problems.append(f"{where}: sets deployment inside a stage that has one")
    return problems


def rollout_phase(context: StepContext) -> str | None:
    """Return the entry of ROLLOUT_ORDER that the step's script runs, or None."""
    return next((phase for phase in ROLLOUT_ORDER if phase in context.script_text), None)


def _stage_groups(steps: list[StepContext]) -> list[tuple[dict[str, Any], list[StepContext]]]:
    """Group the steps that run inside stages by their stage, in execution order."""
    groups: list[tuple[dict[str, Any], list[StepContext]]] = []
    for context in steps:
        if context.stage is None:
            continue
        if not groups or groups[-1][0] is not context.stage:
            groups.append((context.stage, []))
        groups[-1][1].append(context)
    return groups


def _pull_request_problems(steps: list[StepContext]) -> list[str]:
    problems: list[str] = []
    for context in steps:
        if any(name in context.script_text for name in WRITE_SCRIPTS) \
                or "pulumi up" in context.script_text:
            problems.append(f"{context.label}: a pull request must not run up or migrate")
        if context.deployment is not None:
            problems.append(f"{context.label}: a pull request step has deployment "
                            f"{context.deployment!r}")
    return problems


def _deploy_stage_problems(label: str, steps: list[StepContext]) -> list[str]:
    """Check each deploy stage's step order, deployment environment and manual trigger."""
    problems = [f"{context.label}: runs a deploy step outside a deployment stage"
                for context in steps if context.stage is None and rollout_phase(context)]
    stages = [(stage, contexts) for stage, contexts in _stage_groups(steps)
              if stage.get("deployment") or any(rollout_phase(c) for c in contexts)]
    expected = DEPLOY_STAGES.get(label)
    if expected is None:
        if stages:
            problems.append(f"{label}: has deploy stages but no entry in DEPLOY_STAGES "
                            "(tests/pipeline/pipeline_rules.py)")
        return problems
    if len(stages) != len(expected):
        problems.append(f"{label}: has {len(stages)} deploy stages, DEPLOY_STAGES expects "
                        f"{len(expected)} (tests/pipeline/pipeline_rules.py)")
    # A count mismatch is reported above, and the stages in both lists are still checked.
    for (stage, contexts), (environment, manual) in zip(stages, expected, strict=False):
        rollout = [context for context in contexts if rollout_phase(context)]
        order = [rollout_phase(context) for context in rollout]
        if tuple(order) != ROLLOUT_ORDER:
            problems.append(f"{label} stage {stage.get('name', 'unnamed')!r}: deploy steps "
                            f"run in order {order}, expected {list(ROLLOUT_ORDER)}")
        for context in rollout:
            if context.deployment != environment:
                problems.append(f"{context.label}: runs in deployment "
                                f"{context.deployment!r}, expected {environment!r}")
            if manual and not context.manual:
                problems.append(f"{context.label}: prod deploy step is not manual")
    return problems


def _branch_problems(document: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for label, items in iter_pipelines(document):
        steps = list(iter_steps(label, items))
        if label.startswith("pull-requests."):
            problems += _pull_request_problems(steps)
        else:
            problems += _deploy_stage_problems(label, steps)
    return problems


def check(document: Any, text: str = "") -> list[str]:
    """Return every broken rule of a parsed bitbucket-pipelines.yml (empty when all hold)."""
    if not isinstance(document, dict) or not document:
        return ["document is empty or not a mapping"]
    problems = _key_problems(document)
    if "image" not in document:
        problems.append("top level: no default image")
    else:
        problems += _image_problems(document["image"], "top level")
    for name, service in ((document.get("definitions") or {}).get("services") or {}).items():
        if isinstance(service, dict) and "image" in service:
            problems += _image_problems(service["image"], f"service {name}")
    if not any(True for _ in iter_pipelines(document)):
        problems.append("pipelines: none defined")
    problems += _step_problems(document)
    problems += _branch_problems(document)
    if STATIC_KEY_PATTERN.search(text):
        problems.append("the file mentions a static AWS access key")
    return problems
