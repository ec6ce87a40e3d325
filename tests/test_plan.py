"""The offline plan: both stacks render whole, invented values are marked, bad config exits 2."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools.plan import COMPUTED_MARK, SECRET_MARK, PlanConfigError, render, to_document, to_tree

ROOT = Path(__file__).resolve().parent.parent

EXPECTED_EXPORTS = {
    "url",
    "region",
    "albDnsName",
    "imageUri",
    "repositoryUrl",
    "clusterName",
    "serviceName",
    "taskDefinitionArn",
    "containerName",
    "privateSubnetIds",
    "serviceSecurityGroupId",
    "logGroupName",
    "databaseEndpoint",
    "redisEndpoint",
    "efsFileSystemId",
}


@pytest.fixture(scope="module")
def staging():
    return render("staging")


@pytest.fixture(scope="module")
def prod():
    return render("prod")


def resource(plan, typ, name):
    matches = [r for r in plan.resources if r.type == typ and r.name == name]
    assert len(matches) == 1, f"{typ} {name}: {len(matches)} matches"
    return matches[0]


def test_both_stacks_export_the_pipeline_contract(staging, prod):
    assert set(staging.outputs) == EXPECTED_EXPORTS
    assert set(prod.outputs) == EXPECTED_EXPORTS


def test_url_is_https_on_the_stack_domain(staging, prod):
    assert staging.outputs["url"] == "https://staging.app.example.com"
    assert prod.outputs["url"] == "https://app.example.com"


def test_every_component_is_declared(prod):
    components = {r.type for r in prod.resources if not r.custom}
    assert components >= {
        "webstack:ec2:Network",
        "webstack:ecr:EcrRepo",
        "webstack:lb:HttpsAlb",
        "webstack:route53:DnsAlias",
        "webstack:iam:TaskRole",
        "webstack:ecs:FargateService",
        "webstack:rds:RdsDatabase",
        "webstack:elasticache:RedisCache",
        "webstack:efs:EfsVolume",
    }


def test_prod_task_size_is_current_production(prod):
    task = prod.resources[
        [r.type for r in prod.resources].index("aws:ecs/taskDefinition:TaskDefinition")
    ]
    assert (task.inputs["cpu"], task.inputs["memory"]) == ("512", "1024")


def test_staging_task_size_is_smaller(staging):
    task = next(r for r in staging.resources if r.type == "aws:ecs/taskDefinition:TaskDefinition")
    assert (task.inputs["cpu"], task.inputs["memory"]) == ("256", "512")


def test_prod_scales_two_to_four(prod):
    target = next(r for r in prod.resources if r.type == "aws:appautoscaling/target:Target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 4)


def test_alb_deletion_protection_differs(staging, prod):
    def protection(plan):
        alb = next(r for r in plan.resources if r.type == "aws:lb/loadBalancer:LoadBalancer")
        return alb.inputs["enableDeletionProtection"]

    assert protection(prod) is True
    assert protection(staging) is False


def test_database_multi_az_only_in_prod(staging, prod):
    def multi_az(plan):
        db = next(r for r in plan.resources if r.type == "aws:rds/instance:Instance")
        return db.inputs["multiAz"]

    assert multi_az(prod) is True
    assert multi_az(staging) is False


def test_staging_shares_one_nat_gateway(staging, prod):
    def strategy(plan):
        vpc = next(r for r in plan.resources if r.type == "awsx:ec2:Vpc")
        return vpc.inputs["natGateways"]["strategy"]

    assert strategy(staging) == "Single"
    assert strategy(prod) == "OnePerAz"


def test_image_is_tagged_with_the_commit(staging):
    image = next(r for r in staging.resources if r.type == "docker:index/image:Image")
    assert image.inputs["imageName"].endswith(":" + "0" * 40)


def test_openai_key_is_a_secrets_manager_secret(prod):
    versions = [r for r in to_document(prod)["resources"]
                if r["type"] == "aws:secretsmanager/secretVersion:SecretVersion"
                and r["name"] == "openai-api-key"]
    assert [v["inputs"]["secretString"] for v in versions] == [SECRET_MARK]


def test_computed_outputs_are_marked(staging):
    document = to_document(staging)
    assert document["outputs"]["albDnsName"] == COMPUTED_MARK
    assert document["outputs"]["imageUri"] == COMPUTED_MARK


def test_plain_outputs_are_not_marked(staging):
    document = to_document(staging)
    assert document["outputs"]["containerName"] == "web"


def test_json_document_shape(staging):
    document = to_document(staging)
    assert set(document) == {"stack", "resources", "outputs"}
    assert set(document["resources"][0]) == {"type", "name", "parent", "inputs", "options"}


def test_json_document_is_stable_between_runs(staging):
    assert json.dumps(to_document(staging)) == json.dumps(to_document(render("staging")))


def test_tree_nests_children_under_components(staging):
    tree = to_tree(staging)
    assert "\n+ webstack:ecs:FargateService  web\n" in tree
    assert "\n    + aws:ecs/cluster:Cluster  web-cluster\n" in tree


def test_missing_secret_is_reported_as_placeholder(staging):
    assert staging.placeholders == ["webstack:openaiApiKey"]


def test_bad_config_file_raises_before_rendering(tmp_path):
    config = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    config["config"]["webstack:service"]["cpu"] = 300
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    with pytest.raises(
        PlanConfigError,
        match=r"^/.*/Pulumi\.bad\.yaml: invalid value for "
        r"webstack:service\.cpu: 300\.",
    ):
        render("prod", bad)


def test_cli_config_error_exits_2_without_traceback(tmp_path):
    config = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    config["config"]["webstack:database"]["multiAz"] = "maybe"
    bad = tmp_path / "Pulumi.prod.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "tools.plan", "prod", "--config-file", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {bad}: invalid value for webstack:database.multiAz: 'maybe'. "
        "Allowed: true or false.\n"
    )


def test_cli_json_prints_the_document():
    result = subprocess.run(
        [sys.executable, "-m", "tools.plan", "staging", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["stack"] == "staging"
    assert document["outputs"]["url"] == "https://staging.app.example.com"


def test_config_error_declares_no_resource(tmp_path):
    import runpy

    import pulumi

    from settings import SettingsError
    from tools import mock_runtime

    mocks = mock_runtime.RecordingMocks()
    pulumi.runtime.set_all_config(
        {
            "aws:region": "us-east-1",
            "webstack:domainName": "app.example.com",
            "webstack:hostedZoneName": "example.com",
            "webstack:service": json.dumps({"cpu": 3}),
        }
    )
    mock_runtime.install(mocks, stack="prod")
    with pytest.raises(SettingsError, match=r"webstack:service\.cpu: 3\."):
        mock_runtime.run(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"))
    assert mocks.records == []


def test_lookup_answers_are_marked_not_computed(prod):
    document = json.dumps(to_document(prod))
    assert '"aws:SourceAccount": "<looked up: 123456789012>"' in document


def test_given_domain_is_not_marked(prod):
    document = to_document(prod)
    cert = next(r for r in document["resources"] if r["type"] == "aws:acm/certificate:Certificate")
    assert cert["inputs"]["domainName"] == "app.example.com"


def test_cli_exits_1_on_mandatory_policy_violation(tmp_path):
    config = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())
    del config["config"]["webstack:relaxations"]
    stack_file = tmp_path / "Pulumi.staging.yaml"
    stack_file.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "tools.plan", "staging", "--config-file", str(stack_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "MANDATORY rds-multi-az: " in result.stdout


def test_cli_prints_policy_report_after_outputs():
    result = subprocess.run(
        [sys.executable, "-m", "tools.plan", "prod"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("  no violations\n0 mandatory, 0 advisory violation(s)\n")


def test_held_release_keeps_service_on_its_task_definition(tmp_path):
    config = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    config["config"]["webstack:holdServiceTaskDefinition"] = True
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(config))
    service = resource(render("prod", stack_file), "aws:ecs/service:Service", "web-service")
    assert service.ignore_changes == ("desiredCount", "taskDefinition")


def test_rollout_updates_service_task_definition(prod):
    service = resource(prod, "aws:ecs/service:Service", "web-service")
    assert service.ignore_changes == ("desiredCount",)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"config:\n  aws:region: us-east-1\n  aws:region: eu-west-1\n",
         r"invalid YAML at line 3, column 3: duplicate key 'aws:region'"),
        (b"config:\n  webstack:domainName: [unclosed\n", r"invalid YAML at line 3"),
        (b"config:\n  webstack:domainName: caf\xe9.example.com\n", r"not UTF-8 text"),
        (b"config:\n  1: 2\n", r"invalid key 1 under config"),
        (b"config:\n  webstack:app:\n    openaiModel: !!binary Z3B0\n",
         r"invalid value for webstack:app: .*Allowed: strings, numbers"),
        (b"config:\n  webstack:domainName: ~\n", r"webstack:domainName has no value \(null\)"),
        (b"- a\n- b\n", r"expected a mapping with a `config` mapping inside"),
    ],
)
def test_cli_unreadable_stack_file_exits_2(tmp_path, capsys, content, message):
    from tools.plan import main

    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_bytes(content)
    assert main(["prod", "--config-file", str(stack_file)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert re.search(r"^error: /.*Pulumi\.prod\.yaml: " + message, error)


def test_cli_directory_as_stack_file_exits_2(tmp_path, capsys):
    from tools.plan import main

    assert main(["prod", "--config-file", str(tmp_path)]) == 2
    assert "cannot read the stack file: Is a directory" in capsys.readouterr().err


def test_prebuilt_image_of_other_account_exits_2(tmp_path, capsys):
    from tools.plan import main

    config = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    config["config"]["webstack:image"] = {
        "uri": f"999999999999.dkr.ecr.us-east-1.amazonaws.com/webstack-prod@sha256:{'a' * 64}"
    }
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(config))
    assert main(["prod", "--config-file", str(stack_file)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "EcrRepo: invalid prebuilt_image_uri=" in error


def test_arm64_image_runs_on_arm64_tasks(tmp_path):
    config = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    config["config"]["webstack:image"]["platform"] = "linux/arm64"
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(config))
    task = resource(render("prod", stack_file), "aws:ecs/taskDefinition:TaskDefinition",
                    "web-task")
    assert task.inputs["runtimePlatform"]["cpuArchitecture"] == "ARM64"


def test_region_is_exported_for_the_pipeline(prod):
    assert prod.outputs["region"] == "us-east-1"


def test_cli_reads_yaml_as_the_pulumi_cli(tmp_path, capsys):
    from tools.plan import main

    text = (ROOT / "Pulumi.prod.yaml").read_text().replace("multiAz: true", "multiAz: yes")
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(text)
    assert main(["prod", "--config-file", str(stack_file)]) == 2
    assert "webstack:database.multiAz: 'yes'. Allowed: true or false." in capsys.readouterr().err
