"""Dry run: execute each pipeline's step scripts, as Bitbucket would, against recording fakes.

`pulumi`, `aws`, `python3` and the virtualenv's tools are replaced by one recorder that
appends its arguments and the AWS variables it saw to a JSON-lines file. The recorder passes
`python -m tools.stack_outputs` and `tools.notify` through to the real modules, so the
scripts read real values from the fake stack outputs. Nothing leaves the machine: the
scripts get no AWS credentials and the fakes reach no network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .pipeline_rules import iter_deploy_stages, iter_pipelines, iter_steps

ROOT = Path(__file__).resolve().parents[2]
COMMIT = "3f1c2e9a7b6d5c4e3f2a1b0c9d8e7f6a5b4c3d2e"
ACCOUNT = "123456789012"
ROLES = {
    "staging": f"arn:aws:iam::{ACCOUNT}:role/webstack-deploy-staging",
    "production": f"arn:aws:iam::{ACCOUNT}:role/webstack-deploy-production",
    "production-preview": f"arn:aws:iam::{ACCOUNT}:role/webstack-preview-production",
}
PREVIEW_ROLE = f"arn:aws:iam::{ACCOUNT}:role/webstack-preview-pull-requests"
# Deployment variables other than AWS_ROLE_ARN, per deployment environment. A deploy stage
# on a branch that already deploys another stack sets WEBSTACK_STACK here, as its
# Bitbucket deployment environment does.
DEPLOYMENT_VARIABLES: dict[str, dict[str, str]] = {}
STACK_OUTPUTS = {
    "url": "https://staging.example.com",
    "region": "eu-west-1",
    "clusterName": "web-cluster-1a2b3c",
    "serviceName": "web-service-4d5e6f",
    "taskDefinitionArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web-task:8",
    "containerName": "web",
    "privateSubnetIds": ["subnet-0aaa", "subnet-0bbb"],
    "serviceSecurityGroupId": "sg-0ccc",
    "logGroupName": "/webstack/staging/web",
}

RECORDER = '''#!{python}
import json, os, subprocess, sys
name = os.path.basename(sys.argv[0])
args = sys.argv[1:]
token_file = os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE")
token = open(token_file).read() if token_file and os.path.exists(token_file) else None
entry = {{
    "tool": name, "args": args, "step": os.environ.get("DRY_RUN_STEP"),
    "role": os.environ.get("AWS_ROLE_ARN"), "token": token,
    "commit_sha": os.environ.get("COMMIT_SHA"),
}}
with open(os.environ["DRY_RUN_LOG"], "a") as log:
    log.write(json.dumps(entry) + "\\n")
module = args[1] if len(args) > 1 and args[0] == "-m" else None
if name in ("python", "python3") and module in ("tools.stack_outputs", "tools.notify"):
    sys.exit(subprocess.call([{python!r}, *args]))
failing = os.environ.get("DRY_RUN_FAIL", "")
if failing and (failing == module or failing == " ".join([name, *args])[:len(failing)]):
    print(f"fake {{name}}: failing as told by DRY_RUN_FAIL", file=sys.stderr)
    sys.exit(1)
if name == "pulumi" and args[:2] == ["stack", "output"]:
    print(open(os.environ["DRY_RUN_OUTPUTS"]).read())
'''


@dataclass
class StepRun:
    """One executed step: its name, exit code and combined output."""

    name: str
    exit_code: int
    output: str


class DryRun:
    """Run the steps of one pipeline in order with the fakes first on PATH."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.log = tmp_path / "calls.jsonl"
        self.log.touch()
        self.bin = tmp_path / "bin"
        self.venv_bin = tmp_path / "venv-bin"
        for directory in (self.bin, self.venv_bin):
            directory.mkdir()
        recorder = RECORDER.format(python=sys.executable)
        for directory, names in (
            (self.bin, ["pulumi", "aws", "python3"]),
            (self.venv_bin, ["python", "ruff", "shellcheck", "check-jsonschema", "hadolint",
                             "detect-secrets-hook"]),
        ):
            for name in names:
                path = directory / name
                path.write_text(recorder)
                path.chmod(0o755)
        self.outputs = tmp_path / "outputs.json"
        self.outputs.write_text(json.dumps(STACK_OUTPUTS))

    def base_env(self, branch: str) -> dict[str, str]:
        """The environment Bitbucket plus the repository variables would give every step."""
        return {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.tmp),
            "TMPDIR": str(self.tmp),
            "CI_VENV_BIN": str(self.venv_bin),
            "CI_SKIP_INSTALL": "1",
            "DRY_RUN_LOG": str(self.log),
            "DRY_RUN_OUTPUTS": str(self.outputs),
            "BITBUCKET_BRANCH": branch,
            "BITBUCKET_COMMIT": COMMIT,
            "BITBUCKET_BUILD_NUMBER": "42",
            "BITBUCKET_CLONE_DIR": str(ROOT),
            "AWS_REGION": "us-east-1",
            "PULUMI_STATE_BUCKET": "webstack-state-123456789012",
            "AWS_PREVIEW_ROLE_ARN": PREVIEW_ROLE,
        }

    def run(self, label: str, branch: str, extra_env: dict[str, str] | None = None,
            oidc_token: bool = True) -> list[StepRun]:
        """Run every step of pipeline `label`; stop after the first failing step."""
        document = yaml.safe_load((ROOT / "bitbucket-pipelines.yml").read_text())
        items = dict(iter_pipelines(document))[label]
        runs: list[StepRun] = []
        for context in iter_steps(label, items):
            env = self.base_env(branch) | (extra_env or {})
            env["DRY_RUN_STEP"] = context.step["name"]
            if label.startswith("pull-requests."):
                env["BITBUCKET_PR_ID"] = "7"
            deployment = context.deployment
            if deployment is not None:
                env["BITBUCKET_DEPLOYMENT_ENVIRONMENT"] = deployment
                env["AWS_ROLE_ARN"] = role_for(deployment)
                env.update(DEPLOYMENT_VARIABLES.get(deployment, {}))
            if context.step.get("oidc") and oidc_token:
                env["BITBUCKET_STEP_OIDC_TOKEN"] = f"jwt-for-{context.step['name']}"
            result = self._bash(context.step["script"], env)
            after = context.step.get("after-script")
            if after:
                after_result = self._bash(after, env | {"BITBUCKET_EXIT_CODE":
                                                        str(result.returncode)})
                assert after_result.returncode == 0, after_result.stdout
            runs.append(StepRun(context.step["name"], result.returncode, result.stdout))
            if result.returncode != 0:
                break
        return runs

    def _bash(self, lines: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        script = "set -e\n" + "\n".join(lines) + "\n"
        return subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=False,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              check=False, timeout=120)

    def calls(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]


def role_for(deployment: str) -> str:
    """Return the AWS_ROLE_ARN deployment variable of a deployment environment."""
    return ROLES.get(deployment, f"arn:aws:iam::{ACCOUNT}:role/webstack-deploy-{deployment}")


def command(call: dict[str, Any]) -> str:
    """Render a recorded call as one line, e.g. 'pulumi up --stack staging ...'."""
    return " ".join([call["tool"], *call["args"]])


def index_of(commands: list[str], prefix: str) -> int:
    matches = [i for i, line in enumerate(commands) if line.startswith(prefix)]
    assert matches, f"no call starts with {prefix!r}; calls: {commands}"
    return matches[0]


@pytest.fixture
def dry(tmp_path) -> DryRun:
    return DryRun(tmp_path)


def pipeline_document() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "bitbucket-pipelines.yml").read_text())


def step_count(label: str) -> int:
    return len(list(iter_steps(label, dict(iter_pipelines(pipeline_document()))[label])))


def deploying_pipelines() -> list[str]:
    """Labels of the branch pipelines that have a deploy stage, each once."""
    labels = [label for label, _ in iter_deploy_stages(pipeline_document())]
    return [label for label in dict.fromkeys(labels) if label.startswith("branches.")]


@pytest.mark.parametrize("label", deploying_pipelines())
def test_each_deploy_stage_own_stack(dry, label):
    # Every deploy stage's steps select one stack, and no two stages share a stack, so a
    # second stage on a branch cannot silently deploy the branch's stack again.
    branch = label.removeprefix("branches.")
    runs = dry.run(label, branch)
    assert [run.exit_code for run in runs] == [0] * step_count(label), \
        [r.output for r in runs]

    stacks_by_role: dict[str, set[str]] = {}
    for call in dry.calls():
        if call["tool"] == "pulumi" and call["args"][:1] == ["up"]:
            stack = call["args"][call["args"].index("--stack") + 1]
            stacks_by_role.setdefault(call["role"], set()).add(stack)
    deployments = [stage["deployment"] for stage_label, stage
                   in iter_deploy_stages(pipeline_document()) if stage_label == label]
    assert set(stacks_by_role) == {role_for(name) for name in deployments}
    for role, stacks in stacks_by_role.items():
        assert len(stacks) == 1, f"{role} ran pulumi up on {sorted(stacks)}"
    selected = [next(iter(stacks)) for stacks in stacks_by_role.values()]
    assert len(set(selected)) == len(selected), (
        f"deploy stages share a stack: {stacks_by_role}; set WEBSTACK_STACK for the later "
        "stage's deployment environment in DEPLOYMENT_VARIABLES")
    # The first stage deploys the branch's own stack from DEPLOY_BRANCHES.
    assert stacks_by_role[role_for(deployments[0])] == {deploy_branches()[branch]}


# -- develop -> staging ------------------------------------------------------------------


def test_develop_runs_release_migrate_rollout_smoke(dry):
    runs = dry.run("branches.develop", "develop")

    assert [run.exit_code for run in runs] == [0, 0, 0, 0, 0], [r.output for r in runs]
    commands = [command(call) for call in dry.calls()]
    release = index_of(commands, "pulumi up --stack staging --yes --diff --non-interactive "
                                 "--policy-pack policy "
                                 "--config webstack:holdServiceTaskDefinition=true")
    migrate = index_of(commands, "python -m tools.migrate")
    rollout = index_of(commands, "pulumi up --stack staging --yes --diff --non-interactive "
                                 "--policy-pack policy "
                                 "--config webstack:holdServiceTaskDefinition=false")
    smoke = index_of(commands, "python -m tools.smoke")
    assert release < migrate < rollout < smoke
    actions = [line for line in commands if line.startswith(
        ("pulumi up", "pulumi preview", "python -m tools.migrate", "python -m tools.smoke"))]
    assert len(actions) == 4
    assert actions[-1].startswith("python -m tools.smoke")


def test_develop_uses_staging_stack_and_role(dry):
    dry.run("branches.develop", "develop")
    pulumi_calls = [call for call in dry.calls() if call["tool"] == "pulumi"]

    selects = [call["args"] for call in pulumi_calls if call["args"][:2] == ["stack", "select"]]
    assert selects == [["stack", "select", "staging", "--non-interactive"]] * 4
    assert {call["role"] for call in pulumi_calls} == {ROLES["staging"]}
    logins = {command(call) for call in pulumi_calls if call["args"][0] == "login"}
    assert logins == {"pulumi login s3://webstack-state-123456789012?region=us-east-1&awssdk=v2"}
    ups = [call for call in pulumi_calls if call["args"][0] == "up"]
    assert [call["commit_sha"] for call in ups] == [COMMIT, COMMIT]
    assert [call["token"] for call in ups] == [
        "jwt-for-Release (pulumi up, service held)", "jwt-for-Roll out (pulumi up, service moves)"]


def test_develop_migrate_gets_stack_network(dry):
    dry.run("branches.develop", "develop")
    migrate = next(call for call in dry.calls() if call["args"][:2] == ["-m", "tools.migrate"])

    assert migrate["args"] == [
        "-m", "tools.migrate",
        "--cluster", "web-cluster-1a2b3c",
        "--task-definition", STACK_OUTPUTS["taskDefinitionArn"],
        "--container", "web",
        "--subnets", "subnet-0aaa,subnet-0bbb",
        "--security-groups", "sg-0ccc",
        "--log-group", "/webstack/staging/web",
        # The stack's own region, not the state backend's (AWS_REGION, us-east-1).
        "--region", "eu-west-1",
        "--command", "alembic upgrade head",
        "--timeout", "900",
    ]
    assert migrate["role"] == ROLES["staging"]


def test_develop_smoke_checks_commit(dry):
    dry.run("branches.develop", "develop")
    smoke = next(call for call in dry.calls() if call["args"][:2] == ["-m", "tools.smoke"])
    assert smoke["args"] == ["-m", "tools.smoke", "--url", "https://staging.example.com",
                             "--commit", COMMIT, "--timeout", "300"]


def test_failed_migration_stops_rollout(dry):
    runs = dry.run("branches.develop", "develop", {"DRY_RUN_FAIL": "tools.migrate"})

    assert [run.exit_code for run in runs] == [0, 0, 1]
    commands = [command(call) for call in dry.calls()]
    assert not any("holdServiceTaskDefinition=false" in line for line in commands)
    assert not any(line.startswith("python -m tools.smoke") for line in commands)
    notify = [line for line in commands if "tools.notify" in line]
    assert notify == ["python3 -m tools.notify --status failure --stack staging --step Migrate"]


def test_success_notified_once_after_smoke(dry):
    dry.run("branches.develop", "develop")
    notify = [command(call) for call in dry.calls() if "tools.notify" in call["args"]]
    assert notify == ["python3 -m tools.notify --status success --stack staging "
                      "--step Smoke test"]


# -- main -> prod ------------------------------------------------------------------------


def test_main_previews_prod_before_manual_up(dry):
    runs = dry.run("branches.main", "main")

    assert [run.exit_code for run in runs] == [0] * step_count("branches.main"), \
        [r.output for r in runs]
    commands = [command(call) for call in dry.calls()]
    preview = index_of(
        commands, "pulumi preview --stack prod --diff --non-interactive --policy-pack policy")
    first_up = index_of(commands, "pulumi up --stack prod")
    assert preview < first_up
    assert not any("--stack staging" in line for line in commands)


def test_main_roles_per_environment(dry):
    dry.run("branches.main", "main")
    pulumi_calls = [call for call in dry.calls() if call["tool"] == "pulumi"]

    preview_roles = {call["role"] for call in pulumi_calls if call["args"][0] == "preview"}
    prod_ups = [call for call in pulumi_calls if call["args"][:3] == ["up", "--stack", "prod"]]
    up_roles = {call["role"] for call in prod_ups}
    assert preview_roles == {ROLES["production-preview"]}
    assert up_roles == {ROLES["production"]}


# -- pull requests -----------------------------------------------------------------------


def test_pull_request_never_runs_up(dry):
    runs = dry.run("pull-requests.**", "feature/login")

    assert [run.exit_code for run in runs] == [0] * 5, [r.output for r in runs]
    commands = [command(call) for call in dry.calls()]
    assert not any(line.startswith("pulumi up") for line in commands)
    assert not any("tools.migrate" in line for line in commands)
    previews = [call for call in dry.calls() if call["args"][:1] == ["preview"]]
    assert [command(call) for call in previews] == [
        "pulumi preview --stack staging --diff --non-interactive --policy-pack policy"]
    assert previews[0]["role"] == PREVIEW_ROLE


def test_pull_request_runs_checks(dry):
    dry.run("pull-requests.**", "feature/login")
    commands = [command(call) for call in dry.calls()]

    assert "ruff check ." in commands
    assert "python -m pytest -q" in commands
    assert "check-jsonschema --builtin-schema vendor.bitbucket-pipelines " \
        "bitbucket-pipelines.yml" in commands
    assert "python -m tools.plan staging" in commands
    assert "python -m tools.plan prod" in commands
    assert "python -m bootstrap.plan example" in commands
    assert any(line.startswith("shellcheck ") for line in commands)
    assert any(line.startswith("detect-secrets-hook --baseline .secrets.baseline ")
               for line in commands)


def test_pull_request_from_fork_skips_preview(dry):
    runs = dry.run("pull-requests.**", "feature/login", oidc_token=False)

    assert runs[-1].exit_code == 0
    assert "no OIDC token in this pull request" in runs[-1].output
    assert not [call for call in dry.calls() if call["tool"] == "pulumi"]


def test_no_step_calls_aws_cli(dry):
    for label, branch in (("branches.develop", "develop"), ("branches.main", "main"),
                          ("pull-requests.**", "feature/x")):
        dry.run(label, branch)
    assert [call for call in dry.calls() if call["tool"] == "aws"] == []


# -- guards in the scripts ---------------------------------------------------------------


def run_script(dry: DryRun, script: str, env: dict[str, str], *args: str
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", f"scripts/ci/{script}", *args], cwd=ROOT,
                          env=dry.base_env(env.pop("BRANCH", "develop")) | env,
                          capture_output=True, text=True, check=False, timeout=60)


DEPLOY_ENV = {"BITBUCKET_DEPLOYMENT_ENVIRONMENT": "staging", "AWS_ROLE_ARN": ROLES["staging"],
              "BITBUCKET_STEP_OIDC_TOKEN": "jwt", "DRY_RUN_STEP": "guard"}


def deploy_branches() -> dict[str, str]:
    """Return DEPLOY_BRANCHES of scripts/ci/lib.sh as branch to stack."""
    result = subprocess.run(
        ["bash", "-c", 'source scripts/ci/lib.sh && printf "%s\\n" "${DEPLOY_BRANCHES[@]}"'],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=30)
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


def test_deploy_branches_match_pipeline_file():
    # A branch pipeline with a deploy stage needs a stack in lib.sh, and the reverse.
    document = yaml.safe_load((ROOT / "bitbucket-pipelines.yml").read_text())
    deploying = {label.removeprefix("branches.")
                 for label, _ in iter_deploy_stages(document) if label.startswith("branches.")}
    assert set(deploy_branches()) == deploying


def test_deploy_rejects_other_branch(dry):
    result = run_script(dry, "deploy.sh", DEPLOY_ENV | {"BRANCH": "feature/x"}, "release")
    assert result.returncode == 1
    listed = ", ".join(f"{branch} ({stack})" for branch, stack in deploy_branches().items())
    assert result.stderr.strip() == (
        f"error: branch 'feature/x' deploys no stack. Only these branches deploy: {listed}. "
        "To add one, see 'A new environment' in docs/pipeline.md")
    assert "develop (staging), main (prod)" in result.stderr


def test_deploy_rejects_static_keys(dry):
    result = run_script(dry, "deploy.sh", DEPLOY_ENV | {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"},
                        "release")
    assert result.returncode == 1
    assert "this pipeline authenticates by OIDC only" in result.stderr
    assert dry.calls() == []


def test_deploy_needs_deployment_environment(dry):
    env = dict(DEPLOY_ENV)
    del env["BITBUCKET_DEPLOYMENT_ENVIRONMENT"]
    result = run_script(dry, "deploy.sh", env, "release")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: this step has no deployment environment, so it may not use AWS_ROLE_ARN")


def test_deploy_rejects_unknown_phase(dry):
    result = run_script(dry, "deploy.sh", dict(DEPLOY_ENV), "everything")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: usage: deploy.sh release|rollout (got 'everything')"


def test_deploy_missing_state_bucket(dry):
    env = DEPLOY_ENV | {"PULUMI_STATE_BUCKET": ""}
    result = run_script(dry, "deploy.sh", env, "rollout")
    assert result.returncode == 1
    assert result.stderr.strip() == ("error: PULUMI_STATE_BUCKET is not set; define it as a "
                                     "repository or deployment variable (docs/pipeline.md)")


def test_deploy_pulumi_cloud_backend(dry):
    env = DEPLOY_ENV | {"PULUMI_BACKEND": "cloud", "PULUMI_ACCESS_TOKEN": "pul-test",
                        "PULUMI_ORG": "acme"}
    result = run_script(dry, "deploy.sh", env, "rollout")

    assert result.returncode == 0, result.stderr
    commands = [command(call) for call in dry.calls()]
    assert commands[:2] == ["pulumi login", "pulumi stack select acme/staging --non-interactive"]


def test_oidc_token_file_written(dry):
    run_script(dry, "deploy.sh", dict(DEPLOY_ENV), "release")
    up = next(call for call in dry.calls() if call["args"][:1] == ["up"])
    assert up["token"] == "jwt"
    assert up["role"] == ROLES["staging"]


def test_recorder_is_valid_python():
    # A syntax error in the recorder would make every dry-run test fail for the wrong reason.
    compile(textwrap.dedent(RECORDER.format(python=sys.executable)), "recorder", "exec")
    assert os.access(sys.executable, os.X_OK)
