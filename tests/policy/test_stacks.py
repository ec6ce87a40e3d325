"""The rules and Checkov on the real stacks, and mutations that flip one secure default.

Stack-file mutations render a temporary copy of a stack file with `--config-file`. No stack
file key makes the database public, forwards plain HTTP, opens a security group or moves a
secret into `environment`, because the components hard-code those. So these four flips
change one recorded input of the rendered plan instead.
"""

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy.context import RuleContext
from policy.evaluate import Violation, evaluate
from policy.relaxations import RELAXABLE_RULES
from tools import checkov_scan, policy_check
from tools.checkov_plan import convert
from tools.plan import render

ROOT = Path(__file__).resolve().parents[2]

PROPOSED_STAGING_RELAXATIONS = {
    "rds-multi-az": "staging tolerates an hour of database downtime during a failover",
    "rds-deletion-protection": "staging's database is rebuilt from scratch on demand",
    "rds-backup-retention": "staging data is test data; one day of backups is enough",
    "alb-deletion-protection": "staging's load balancer may be torn down with the stack",
    "cache-failover": "a single cache node is enough for staging traffic",
    "logs-long-retention": "staging logs are only read while a change is being tested",
}
"""The relaxations Pulumi.staging.yaml needs; used only while the file does not declare any."""


@cache
def rendered(stack: str) -> Any:
    return render(stack)


def records(stack: str) -> list[Any]:
    return copy.deepcopy(rendered(stack).resources)


def find(items: list[Any], resource_type: str, name: str) -> Any:
    return next(r for r in items if r.type == resource_type and r.name == name)


def check(stack: str, items: list[Any], relaxations: dict[str, str] | None = None
          ) -> list[Violation]:
    context = RuleContext(stack=stack, relaxations=relaxations or {})
    return evaluate(policy_check.stack_resources(items), context)


def staging_relaxations() -> dict[str, str]:
    context = policy_check.load_context("staging", None)
    return dict(context.relaxations) or PROPOSED_STAGING_RELAXATIONS


# -- both stacks pass ------------------------------------------------------------------------


def test_prod_stack_has_no_violations():
    assert check("prod", records("prod")) == []


def test_staging_stack_passes_with_relaxations():
    assert check("staging", records("staging"), staging_relaxations()) == []


def test_staging_violations_are_all_relaxable():
    violations = check("staging", records("staging"))
    assert {v.rule_id for v in violations} <= set(RELAXABLE_RULES)


def test_policy_check_cli_on_prod(capsys):
    assert policy_check.main(["prod"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 mandatory, 0 advisory violation(s)"


# -- stack-file mutations ----------------------------------------------------------------------


def mutated_stack_file(tmp_path: Path, stack: str, **changes: Any) -> Path:
    """Copy a stack file, apply `changes` (`section__key=value` or `key=value`), return it."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    config = document["config"]
    for dotted, value in changes.items():
        parts = dotted.split("__")
        key = f"webstack:{parts[0]}"
        if len(parts) == 1:
            config[key] = value
        else:
            config.setdefault(key, {})[parts[1]] = value
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def cli_violations(capsys, stack: str, path: Path) -> tuple[int, list[str]]:
    status = policy_check.main([stack, "--config-file", str(path), "--json"])
    output = capsys.readouterr().out
    return status, [v["rule"] for v in json.loads(output)["violations"]] if output else []


def test_mutation_credential_url_rejected_by_settings(tmp_path, capsys):
    # The settings reject credentials in a plain URL before the policy rule would see them.
    url = "http://admin:hunter2@ollama.internal:11434"  # pragma: allowlist secret
    path = mutated_stack_file(tmp_path, "prod", app__ollamaBaseUrl=url)
    assert policy_check.main(["prod", "--config-file", str(path)]) == 2
    error = capsys.readouterr().err
    assert "invalid value for webstack:app.ollamaBaseUrl" in error
    assert "an http(s) URL without credentials" in error


def test_mutation_prod_alb_deletion_protection_off(tmp_path, capsys):
    path = mutated_stack_file(tmp_path, "prod", loadBalancer__deletionProtection=False)
    assert cli_violations(capsys, "prod", path) == (1, ["alb-deletion-protection"])


def test_mutation_prod_single_az_database(tmp_path, capsys):
    path = mutated_stack_file(tmp_path, "prod", database__multiAz=False)
    assert cli_violations(capsys, "prod", path) == (1, ["rds-multi-az"])


def test_mutation_prod_short_log_retention(tmp_path, capsys):
    path = mutated_stack_file(tmp_path, "prod", service__logRetentionDays=14)
    assert cli_violations(capsys, "prod", path) == (1, ["logs-long-retention"])


def test_mutation_prod_relaxation_rejected(tmp_path, capsys):
    path = mutated_stack_file(tmp_path, "prod",
                              relaxations={"rds-multi-az": "saves money in production"})
    assert policy_check.main(["prod", "--config-file", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"error: {path}: webstack:relaxations relaxes ['rds-multi-az'] in the production "
        "stack prod, which must keep every rule; remove the key from its stack file\n")


# -- plan mutations (no stack-file key can express them) -------------------------------------


def test_mutation_public_database():
    items = records("prod")
    find(items, "aws:rds/instance:Instance", "db-db").inputs["publiclyAccessible"] = True
    assert [v.message for v in check("prod", items)] == [
        "[RDS.2] aws:rds/instance:Instance 'db-db': the database is publicly accessible. "
        "Fix: set publiclyAccessible to false and keep it in private subnets."]


def test_mutation_http_forward_instead_of_redirect():
    items = records("prod")
    http = find(items, "aws:lb/listener:Listener", "web-http")
    https = find(items, "aws:lb/listener:Listener", "web-https")
    http.inputs["defaultActions"] = copy.deepcopy(https.inputs["defaultActions"])
    assert [v.rule_id for v in check("prod", items)] == ["alb-http-redirects-to-https"]


def test_mutation_database_open_to_a_cidr():
    items = records("prod")
    rule = find(items, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                "web-database-5432-in")
    del rule.inputs["referencedSecurityGroupId"]
    rule.inputs["cidrIpv4"] = "0.0.0.0/0"
    assert [v.rule_id for v in check("prod", items)] == [
        "sg-world-open-web-only", "data-ingress-only-from-service"]


def test_mutation_plain_env_secret_in_task():
    items = records("prod")
    task = find(items, "aws:ecs/taskDefinition:TaskDefinition", "web-task")
    containers = json.loads(task.inputs["containerDefinitions"])
    containers[0]["environment"].append({"name": "OPENAI_API_KEY", "value": "sk-test"})
    task.inputs["containerDefinitions"] = json.dumps(containers)
    assert [v.rule_id for v in check("prod", items)] == ["ecs-no-secrets-in-environment"]


# -- Checkov on both stacks --------------------------------------------------------------------


def require_checkov() -> str:
    """Checkov's executable; `make test` installs it, so a missing one fails the test."""
    try:
        return checkov_scan.find_checkov(None)
    except checkov_scan.CheckovError as error:
        pytest.fail(f"Checkov is not installed (`make test` installs it): {error}")


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_checkov_finds_no_unreviewed_failure(stack):
    require_checkov()
    result = checkov_scan.scan_stack(stack)
    assert result.complete, (result.scanned_resources, result.planned_resources)
    assert result.failed == []
    assert result.passed > 0


def test_checkov_catches_http_forward(tmp_path):
    executable = require_checkov()
    items = records("prod")
    http = find(items, "aws:lb/listener:Listener", "web-http")
    http.inputs["defaultActions"] = copy.deepcopy(
        find(items, "aws:lb/listener:Listener", "web-https").inputs["defaultActions"])
    converted = convert(items, rendered("prod").computed)
    plan_file = tmp_path / "prod.tfplan.json"
    plan_file.write_text(json.dumps(converted.document))
    report = checkov_scan.run_checkov(executable, plan_file)
    skips = checkov_scan.load_skips(checkov_scan.DEFAULT_SKIPS, "prod")
    result = checkov_scan.apply_skips("prod", len(converted.addresses), report, skips)
    assert "CKV2_AWS_20" in {f.check_id for f in result.failed}

