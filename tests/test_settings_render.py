"""Every value the settings accept renders: no component rejects what the stack file allows.

Components validate their own arguments too; if a component were stricter than the
settings, a stack could pass `settings.load` and still fail halfway through declaring
resources. Each case sets one key of the prod stack to a boundary value and renders.
"""

import copy
from pathlib import Path

import pytest
import yaml

from tools.plan import render

ROOT = Path(__file__).resolve().parent.parent
PROD = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())

CASES = [
    ("service", {"cpu": 256, "memoryMiB": 512}),
    ("service", {"cpu": 16384, "memoryMiB": 122880}),
    ("service", {"cpu": 4096, "memoryMiB": 30720}),
    ("service", {"minTasks": 1, "maxTasks": 1}),
    ("service", {"minTasks": 100, "maxTasks": 100}),
    ("service", {"cpuTargetPercent": 10, "memoryTargetPercent": 95}),
    ("service", {"cpuTargetPercent": 95, "memoryTargetPercent": 10}),
    ("service", {"requestsPerTarget": 0}),
    ("service", {"requestsPerTarget": 100000}),
    ("service", {"containerPort": 1024}),
    ("service", {"containerPort": 65535}),
    ("service", {"healthCheckGraceSeconds": 0}),
    ("service", {"healthCheckGraceSeconds": 2147483647}),
    ("service", {"stopTimeoutSeconds": 30}),
    ("service", {"stopTimeoutSeconds": 120}),
    ("service", {"logRetentionDays": 1}),
    ("service", {"logRetentionDays": 3653}),
    ("loadBalancer", {"idleTimeoutSeconds": 30, "deregistrationDelaySeconds": 0}),
    ("loadBalancer", {"idleTimeoutSeconds": 60, "deregistrationDelaySeconds": 3600}),
    ("database", {"backupRetentionDays": 1}),
    ("database", {"backupRetentionDays": 35}),
    ("database", {"allocatedStorageGiB": 59578, "maxAllocatedStorageGiB": 65536}),
    ("database", {"engineVersion": "14", "instanceClass": "db.r7g.large"}),
    ("database", {"engineVersion": "17"}),
    ("database", {"databaseName": "d" * 63, "masterUsername": "u" * 63}),
    ("cache", {"nodeCount": 6, "engineVersion": "7.0", "snapshotRetentionDays": 35}),
    ("cache", {"nodeCount": 1, "automaticFailover": False, "snapshotRetentionDays": 1}),
    ("network", {"cidrBlock": "10.9.0.0/24", "availabilityZones": 3}),
    ("network", {"cidrBlock": "192.168.0.0/16", "natGateways": "single"}),
    (
        "network",
        {
            "mode": "existing",
            "vpcId": "vpc-0123456789abcdef0",
            "publicSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
            "privateSubnetIds": [
                "subnet-0123456789abcdef2",
                "subnet-0123456789abcdef3",
                "subnet-0123456789abcdef4",
            ],
        },
    ),
    ("image", {"keepTaggedImages": 1, "untaggedExpiryDays": 1, "platform": "linux/arm64"}),
    ("image", {"keepTaggedImages": 1000, "untaggedExpiryDays": 365}),
    ("app", {"filesBucket": "a.b-c", "filesPrefix": ""}),
    ("app", {"useLocalLlm": True, "ollamaBaseUrl": "http://ollama.internal:11434"}),
    ("activityLog", {"enabled": False}),
]


@pytest.mark.parametrize(("section", "values"), CASES, ids=[f"{s}-{v}" for s, v in CASES])
def test_accepted_value_renders(tmp_path, section, values):
    document = copy.deepcopy(PROD)
    if values.get("mode") == "existing":
        # Keys of a new VPC are rejected next to `mode: existing`.
        document["config"][f"webstack:{section}"] = values
    else:
        document["config"].setdefault(f"webstack:{section}", {}).update(values)
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    plan = render("prod", stack_file)
    assert plan.outputs["url"] == "https://app.example.com"


def test_zone_apex_domain_renders(tmp_path):
    document = copy.deepcopy(PROD)
    document["config"]["webstack:domainName"] = "example.com"
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    assert render("prod", stack_file).outputs["url"] == "https://example.com"


def test_prebuilt_image_in_stack_repository_renders(tmp_path):
    repository_url = render("prod").outputs["repositoryUrl"]
    document = copy.deepcopy(PROD)
    document["config"]["webstack:image"] = {"uri": f"{repository_url}@sha256:{'a' * 64}"}
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    plan = render("prod", stack_file)
    assert plan.outputs["imageUri"] == f"{repository_url}@sha256:{'a' * 64}"
    assert [r for r in plan.resources if r.type == "docker:index/image:Image"] == []


def test_dualstack_on_existing_network_adds_aaaa(tmp_path):
    document = copy.deepcopy(PROD)
    document["config"]["webstack:network"] = {
        "mode": "existing",
        "vpcId": "vpc-0123456789abcdef0",
        "publicSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        "privateSubnetIds": ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"],
    }
    document["config"]["webstack:loadBalancer"]["ipAddressType"] = "dualstack"
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    plan = render("prod", stack_file)
    records = sorted(r.inputs["type"] for r in plan.resources
                     if r.type == "aws:route53/record:Record" and r.name in ("web-a", "web-aaaa"))
    assert records == ["A", "AAAA"]
