"""bitbucket-pipelines.yml: the published schema plus the rules the schema cannot express."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .pipeline_rules import (
    DEPLOY_STAGES,
    check,
    iter_deploy_stages,
    iter_pipelines,
    iter_steps,
)

ROOT = Path(__file__).resolve().parents[2]
PIPELINE_FILE = ROOT / "bitbucket-pipelines.yml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def load() -> dict[str, Any]:
    return yaml.safe_load(PIPELINE_FILE.read_text())


def run_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.bitbucket-pipelines", str(path)],
        capture_output=True, text=True, check=False, timeout=120,
    )


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "bitbucket-pipelines.yml"
    path.write_text(yaml.safe_dump(document) if not isinstance(document, str) else document)
    return path


def steps_of(document: dict[str, Any], label: str) -> list[dict[str, Any]]:
    items = dict(iter_pipelines(document))[label]
    return [context.step for context in iter_steps(label, items)]


# -- published schema --------------------------------------------------------------------


def test_schema_accepts_pipeline_file():
    result = run_schema(PIPELINE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_rejects_bad_trigger(tmp_path):
    document = load()
    document["pipelines"]["branches"]["main"][2]["stage"]["trigger"] = "sometimes"
    result = run_schema(write(tmp_path, document))
    assert result.returncode == 1
    assert "sometimes" in result.stdout


@pytest.mark.parametrize(
    "text",
    [
        "{}\n",
        "pipelines:\n  default:\n    - step:\n        name: no script\n",
        "pipelines:\n  default:\n    - step:\n        deploymnt: staging\n        script: [x]\n",
    ],
    ids=["empty-document", "step-without-script", "misspelt-key"],
)
def test_schema_gaps_caught_by_rules(tmp_path, text):
    # The schema passes these documents, so only the structural rules stop them.
    assert run_schema(write(tmp_path, text)).returncode == 0
    assert check(yaml.safe_load(text), text) != []


# -- structural rules --------------------------------------------------------------------


def test_rules_accept_pipeline_file():
    assert check(load(), PIPELINE_FILE.read_text()) == []


def test_rules_empty_document():
    assert check(None) == ["document is empty or not a mapping"]
    assert check({}) == ["document is empty or not a mapping"]


def test_rules_misspelt_keys():
    document = load()
    document["pipeline"] = document.pop("pipelines")
    assert "top level: unknown key 'pipeline'" in check(document)

    document = load()
    stage = document["pipelines"]["branches"]["main"][2]["stage"]
    stage["deploymnt"] = stage.pop("deployment")
    problems = check(document)
    assert "branches.main item 3 stage: unknown key 'deploymnt'" in problems


def test_rules_step_without_script():
    document = load()
    del steps_of(document, "branches.develop")[0]["script"]
    assert "branches.develop step 1 (Tests): has no script" in check(document)


def test_rules_every_step_has_max_time():
    document = load()
    del steps_of(document, "pull-requests.**")[0]["max-time"]
    assert "pull-requests.** step 1 (Lint): has no max-time" in check(document)


def test_rules_pull_request_never_runs_up():
    document = load()
    document["pipelines"]["pull-requests"]["**"].append(
        {"step": {"name": "sneaky", "max-time": 5, "oidc": True,
                  "script": ["scripts/ci/deploy.sh release"]}})
    assert "pull-requests.** step 6 (sneaky): a pull request must not run up or migrate" \
        in check(document)


def test_rules_pull_request_no_deployment():
    document = load()
    steps_of(document, "pull-requests.**")[-1]["deployment"] = "production"
    assert ("pull-requests.** step 5 (Preview staging (read-only role)): a pull request step "
            "has deployment 'production'") in check(document)


def test_rules_aws_steps_need_oidc():
    document = load()
    for step in steps_of(document, "branches.develop"):
        step.pop("oidc", None)
    problems = check(document)
    for number, name in [(2, "Release (pulumi up, service held)"),
                         (3, "Migrate database (one-off Fargate task)"),
                         (4, "Roll out (pulumi up, service moves)"), (5, "Smoke test")]:
        assert f"branches.develop step {number} ({name}): calls AWS but has no 'oidc: true'" \
            in problems


def test_rules_prod_up_is_manual_in_production():
    document = load()
    stage = document["pipelines"]["branches"]["main"][2]["stage"]
    del stage["trigger"]
    stage["deployment"] = "staging"
    problems = check(document)
    assert "branches.main step 3 (Release (pulumi up, service held)): prod deploy step is " \
        "not manual" in problems
    assert ("branches.main step 3 (Release (pulumi up, service held)): runs in deployment "
            "'staging', expected 'production'") in problems


def test_rules_migrate_before_rollout():
    document = load()
    stage = document["pipelines"]["branches"]["develop"][1]["stage"]
    stage["steps"][1], stage["steps"][2] = stage["steps"][2], stage["steps"][1]
    assert ("branches.develop stage 'Deploy staging': deploy steps run in order "
            "['deploy.sh release', 'deploy.sh rollout', 'migrate.sh', 'smoke.sh'], expected "
            "['deploy.sh release', 'migrate.sh', 'deploy.sh rollout', 'smoke.sh']") \
        in check(document)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("pulumi/pulumi-python-3.11:latest",
         "top level: image 'pulumi/pulumi-python-3.11:latest' uses the latest tag"),
        ("pulumi/pulumi-python-3.11",
         "top level: image 'pulumi/pulumi-python-3.11' has no tag (it would pull latest)"),
    ],
)
def test_rules_no_latest_image(image, message):
    document = load()
    document["image"] = {"name": image}
    assert message in check(document)


def test_rules_step_image_checked():
    document = load()
    steps_of(document, "branches.develop")[0]["image"] = "python:latest"
    assert "branches.develop step 1 (Tests): image 'python:latest' uses the latest tag" \
        in check(document)


def test_rules_undefined_cache():
    document = load()
    steps_of(document, "branches.develop")[0]["caches"] = ["pip-lock", "npm"]
    assert "branches.develop step 1 (Tests): cache 'npm' is not defined" in check(document)


def test_rules_static_key_mentioned():
    text = PIPELINE_FILE.read_text() + "\n# AWS_SECRET_ACCESS_KEY: use OIDC\n"
    assert check(load(), text) == ["the file mentions a static AWS access key"]


# -- facts about the file itself ---------------------------------------------------------


def test_pipeline_image_pinned_to_sdk_version():
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    sdk = next(line.split("==")[1] for line in requirements if line.startswith("pulumi=="))
    assert load()["image"]["name"] == f"pulumi/pulumi-python-3.11:{sdk}"


def test_pipeline_deploy_steps_pass_commit():
    for script in ("deploy.sh", "preview.sh"):
        text = (ROOT / "scripts" / "ci" / script).read_text()
        assert 'export COMMIT_SHA="${BITBUCKET_COMMIT:?' in text


def test_pipeline_docker_service_memory():
    document = load()
    assert document["definitions"]["services"]["docker"]["memory"] == 3072
    for step in steps_of(document, "branches.main"):
        if "deploy.sh" in "\n".join(step["script"]):
            assert step["services"] == ["docker"]
            assert step["size"] == "2x"


def test_pipeline_caches_keyed_on_lock_files():
    caches = load()["definitions"]["caches"]
    lock_files = [
        "requirements.txt", "requirements-dev.txt", "app/requirements.txt", "constraints.txt",
    ]
    assert caches["pip-lock"]["key"]["files"] == lock_files
    assert caches["venv-lock"]["key"]["files"] == lock_files
    assert caches["venv-lock"]["path"] == ".venv"


def deploy_stage_names(document: dict[str, Any]) -> list[str]:
    """Name every deploy stage as `<pipeline> '<stage name>'`, in file order."""
    return [f"{label} {stage.get('name', 'unnamed')!r}"
            for label, stage in iter_deploy_stages(document)]


def release_alias_problems(text: str) -> list[str]:
    """Check that every deploy stage runs the one Release step through the `*release` alias.

    The expected alias count is the number of stages with a deployment environment, so a
    new environment's stage needs no change here, but a stage that copies the step inline
    (or leaves it out) makes the counts differ.
    """
    stages = deploy_stage_names(yaml.safe_load(text))
    problems = []
    if text.count("*release") != len(stages):
        problems.append(f"'*release' appears {text.count('*release')} times, expected once "
                        f"per deploy stage ({len(stages)}: {', '.join(stages)})")
    if text.count("scripts/ci/deploy.sh release") != 1:
        problems.append("'scripts/ci/deploy.sh release' is written more than once")
    return problems


# A branch pipeline shaped like the "A new environment" example in docs/pipeline.md, under
# names the real file does not use, so these tests hold after environments are added.
EXAMPLE_LABEL = "branches.example-env"
EXAMPLE_BRANCH = """
    example-env:
      - step: *unit-tests
      - stage:
          name: Deploy example
          deployment: example
          steps:
            - step: *release
            - step: *migrate
            - step: *rollout
            - step: *smoke
"""

EXAMPLE_BRANCH_INLINE_RELEASE = EXAMPLE_BRANCH.replace("""            - step: *release
""", """            - step:
                name: Release (pulumi up, service held)
                max-time: 45
                oidc: true
                script:
                  - scripts/ci/deploy.sh release
""")

EXAMPLE_BRANCH_WITHOUT_RELEASE = EXAMPLE_BRANCH.replace("            - step: *release\n", "")


def with_branch(snippet: str) -> str:
    """Return the pipeline file's text with `snippet` as the first branch pipeline."""
    text = PIPELINE_FILE.read_text()
    marker = "\n  branches:\n"
    assert marker in text, "bitbucket-pipelines.yml has no 'branches:' under 'pipelines:'"
    return text.replace(marker, marker + snippet.lstrip("\n"), 1)


def test_pipeline_anchors_write_steps_once():
    # Each deploy step is defined once under definitions.steps and reused by alias.
    text = PIPELINE_FILE.read_text()
    for anchor in ("release", "migrate", "rollout", "smoke", "unit-tests"):
        assert text.count(f"&{anchor}\n") == 1
    assert release_alias_problems(text) == []


def test_release_alias_count_follows_stages():
    existing = deploy_stage_names(load())
    text = with_branch(EXAMPLE_BRANCH)
    assert deploy_stage_names(yaml.safe_load(text)) == [
        f"{EXAMPLE_LABEL} 'Deploy example'", *existing]
    assert release_alias_problems(text) == []


def test_release_alias_inline_copy_fails():
    stages = [f"{EXAMPLE_LABEL} 'Deploy example'", *deploy_stage_names(load())]
    problems = release_alias_problems(with_branch(EXAMPLE_BRANCH_INLINE_RELEASE))
    assert (f"'*release' appears {len(stages) - 1} times, expected once per deploy stage "
            f"({len(stages)}: {', '.join(stages)})") in problems
    assert "'scripts/ci/deploy.sh release' is written more than once" in problems


def test_release_alias_missing_fails():
    stages = [f"{EXAMPLE_LABEL} 'Deploy example'", *deploy_stage_names(load())]
    problems = release_alias_problems(with_branch(EXAMPLE_BRANCH_WITHOUT_RELEASE))
    assert problems == [f"'*release' appears {len(stages) - 1} times, expected once per "
                        f"deploy stage ({len(stages)}: {', '.join(stages)})"]


def test_rules_new_branch_needs_stage_entry():
    text = with_branch(EXAMPLE_BRANCH)
    assert check(yaml.safe_load(text), text) == [
        f"{EXAMPLE_LABEL}: has deploy stages but no entry in DEPLOY_STAGES "
        "(tests/pipeline/pipeline_rules.py)"]


def test_rules_new_branch_with_stage_entry(monkeypatch):
    monkeypatch.setitem(DEPLOY_STAGES, EXAMPLE_LABEL, (("example", False),))
    text = with_branch(EXAMPLE_BRANCH)
    assert check(yaml.safe_load(text), text) == []


def append_main_stage(document: dict[str, Any]) -> dict[str, Any]:
    """Append a copy of main's first deploy stage, in deployment `example`; return it."""
    main = document["pipelines"]["branches"]["main"]
    first = next(item["stage"] for item in main if "stage" in item)
    stage = dict(first, name="Deploy example", deployment="example")
    main.append({"stage": stage})
    return stage


def test_rules_second_stage_needs_entry():
    document = load()
    expected = len(DEPLOY_STAGES["branches.main"])
    append_main_stage(document)
    assert (f"branches.main: has {expected + 1} deploy stages, DEPLOY_STAGES expects "
            f"{expected} (tests/pipeline/pipeline_rules.py)") in check(document)


def test_rules_second_stage_checked(monkeypatch):
    monkeypatch.setitem(DEPLOY_STAGES, "branches.main",
                        (*DEPLOY_STAGES["branches.main"], ("example", True)))
    document = load()
    stage = append_main_stage(document)
    assert check(document) == []

    del stage["trigger"]
    first_new_step = len(steps_of(document, "branches.main")) - len(stage["steps"]) + 1
    assert (f"branches.main step {first_new_step} (Release (pulumi up, service held)): prod "
            "deploy step is not manual") in check(document)


def test_rules_deploy_step_outside_stage():
    document = load()
    release = steps_of(document, "branches.develop")[1]
    develop = document["pipelines"]["branches"]["develop"]
    develop.append({"step": release})
    position = len(steps_of(document, "branches.develop"))
    assert (f"branches.develop step {position} (Release (pulumi up, service held)): runs a "
            "deploy step outside a deployment stage") in check(document)
