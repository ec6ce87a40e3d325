"""Stack settings: the committed stack files load, and every bad value is rejected by key."""

import copy
import json
from pathlib import Path

import pytest
import yaml

from settings import SettingsError, load

ROOT = Path(__file__).resolve().parent.parent
SHA = "a" * 40


def stack_config(stack: str) -> dict:
    """The stack file's config as the CLI passes it: objects JSON-encoded, secret present."""
    raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    config = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in raw.items()}
    config["webstack:openaiApiKey"] = "secret-value"
    return config


def encode(config: dict) -> dict:
    """Encode a stack file's config as the CLI passes it: mappings as JSON strings."""
    return {k: json.dumps(v) if isinstance(v, dict) else v for k, v in config.items()}


def with_value(stack: str, section: str, key: str, value: object) -> dict:
    raw = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    raw = copy.deepcopy(raw)
    raw.setdefault(f"webstack:{section}", {})[key] = value
    raw["webstack:openaiApiKey"] = "secret-value"
    return raw


def test_prod_matches_current_production_sizing():
    s = load("prod", stack_config("prod"), commit_sha=SHA)
    assert (s.service.cpu, s.service.memory_mib) == (512, 1024)
    assert (s.service.min_tasks, s.service.max_tasks) == (2, 4)
    assert (s.service.cpu_target_percent, s.service.memory_target_percent) == (60, 75)


def test_prod_keeps_secure_defaults():
    s = load("prod", stack_config("prod"), commit_sha=SHA)
    assert s.database.multi_az is True
    assert s.database.deletion_protection is True
    assert s.database.backup_retention_days >= 7
    assert s.load_balancer.deletion_protection is True
    assert s.cache.automatic_failover is True
    assert s.network.nat_gateways == "one_per_az"


def test_staging_is_smaller_than_prod():
    staging = load("staging", stack_config("staging"), commit_sha=SHA)
    prod = load("prod", stack_config("prod"), commit_sha=SHA)
    assert staging.service.cpu < prod.service.cpu
    assert staging.service.max_tasks < prod.service.max_tasks
    assert staging.network.nat_gateways == "single"
    assert staging.domain_name == "staging.app.example.com"


def test_source_defaults_to_stack_file_name():
    s = load("staging", stack_config("staging"), commit_sha=SHA)
    assert s.source == "Pulumi.staging.yaml"


def test_image_tag_is_commit_sha():
    s = load("staging", stack_config("staging"), commit_sha=SHA)
    assert s.image.tag == SHA


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("service", "cpu", 300, r"webstack:service\.cpu: 300\. Allowed: one of 256, 512"),
        (
            "service",
            "memoryMiB",
            8192,
            r"webstack:service\.memoryMiB: 8192\. Allowed: with cpu "
            r"512, one of 1024, 2048, 3072, 4096 \(Fargate task sizes\)",
        ),
        (
            "service",
            "minTasks",
            0,
            r"webstack:service\.minTasks: 0\. Allowed: a whole number "
            r"from 1 to 100",
        ),
        ("service", "maxTasks", 1, r"webstack:service\.maxTasks: 1\. Allowed: at least minTasks"),
        ("service", "logRetentionDays", 10, r"logRetentionDays: 10\. Allowed: one of 1, 3, 5"),
        ("service", "stopTimeoutSeconds", 121, r"stopTimeoutSeconds: 121"),
        ("service", "containerPort", "http", r"containerPort: 'http'"),
        ("service", "memoryMib", 512, r"unknown key webstack:service\.memoryMib"),
        (
            "network",
            "natGateways",
            "two",
            r"natGateways: 'two'\. Allowed: one of single, "
            r"one_per_az",
        ),
        ("network", "cidrBlock", "8.8.0.0/16", r"cidrBlock: '8\.8\.0\.0/16'"),
        ("network", "availabilityZones", 1, r"availabilityZones: 1"),
        ("app", "useLocalLlm", "yes", r"useLocalLlm: 'yes'\. Allowed: true or false"),
        ("app", "filesBucket", "Bad_Bucket", r"filesBucket: 'Bad_Bucket'"),
        ("app", "filesPrefix", "/abs/", r"filesPrefix: '/abs/'"),
        ("app", "logLevel", "TRACE", r"logLevel: 'TRACE'"),
        ("database", "masterUsername", "postgres", r"masterUsername: 'postgres'"),
        ("database", "backupRetentionDays", 0, r"backupRetentionDays: 0"),
        ("database", "engineVersion", "12", r"engineVersion: '12'\. Allowed: one of 14, 15"),
        ("cache", "engineVersion", "6.2", r"engineVersion: '6\.2'\. Allowed: one of 7\.0, 7\.1"),
        ("database", "databaseName", "template1", r"databaseName: 'template1'"),
        ("database", "masterUsername", "pg_app", r"masterUsername: 'pg_app'"),
        ("cache", "nodeCount", 1, r"nodeCount: 1\. Allowed: 2 or more while automaticFailover"),
        ("loadBalancer", "ipAddressType", "ipv6", r"ipAddressType: 'ipv6'"),
        (
            "image",
            "uri",
            "repo:latest",
            r"image\.uri: 'repo:latest'\. Allowed: an image URI "
            r"pinned by digest",
        ),
    ],
)
def test_invalid_value_names_file_key_and_value(section, key, value, message):
    config = with_value("prod", section, key, value)
    encoded = encode(config)
    with pytest.raises(SettingsError, match=r"^Pulumi\.prod\.yaml: .*" + message):
        load("prod", encoded, commit_sha=SHA)


def test_storage_maximum_below_allocated_rejected():
    config = with_value("prod", "database", "allocatedStorageGiB", 100)
    config["webstack:database"]["maxAllocatedStorageGiB"] = 50
    encoded = encode(config)
    with pytest.raises(
        SettingsError,
        match=r"maxAllocatedStorageGiB: 50\. Allowed: at least "
        r"110, 10 % above allocatedStorageGiB \(100\)",
    ):
        load("prod", encoded, commit_sha=SHA)


def test_unknown_top_level_key_rejected():
    config = stack_config("prod")
    config["webstack:servce"] = "{}"
    with pytest.raises(
        SettingsError,
        match=r"unknown key webstack:servce\. Allowed keys: "
        r"webstack:domainName",
    ):
        load("prod", config, commit_sha=SHA)


def test_domain_outside_zone_rejected():
    config = stack_config("prod")
    config["webstack:domainName"] = "app.example.org"
    with pytest.raises(
        SettingsError,
        match=r"domainName: 'app\.example\.org'\. Allowed: a name "
        r"inside the hosted zone example\.com",
    ):
        load("prod", config, commit_sha=SHA)


def test_domain_with_scheme_rejected():
    config = stack_config("prod")
    config["webstack:domainName"] = "https://app.example.com"
    with pytest.raises(SettingsError, match=r"webstack:domainName: 'https://app\.example\.com'"):
        load("prod", config, commit_sha=SHA)


def test_region_required():
    config = stack_config("prod")
    del config["aws:region"]
    with pytest.raises(SettingsError, match=r"missing required key aws:region\."):
        load("prod", config, commit_sha=SHA)


def test_missing_domain_names_the_key():
    config = stack_config("prod")
    del config["webstack:domainName"]
    with pytest.raises(SettingsError, match=r"missing required key webstack:domainName"):
        load("prod", config, commit_sha=SHA)


def test_openai_key_required_without_local_llm():
    config = stack_config("prod")
    del config["webstack:openaiApiKey"]
    with pytest.raises(SettingsError, match=r"missing required secret webstack:openaiApiKey"):
        load("prod", config, commit_sha=SHA)


def test_local_llm_needs_ollama_url():
    config = with_value("prod", "app", "useLocalLlm", True)
    encoded = encode(config)
    with pytest.raises(
        SettingsError,
        match=r"ollamaBaseUrl: ''\. Allowed: an http\(s\) URL of "
        r"the Ollama server",
    ):
        load("prod", encoded, commit_sha=SHA)


def test_build_without_commit_rejected():
    with pytest.raises(SettingsError, match=r"no commit SHA found for webstack:image"):
        load("prod", stack_config("prod"), commit_sha="")


def test_prebuilt_image_still_needs_commit():
    digest = "1" * 64
    config = with_value("prod", "image", "uri",
                        f"123456789012.dkr.ecr.us-east-1.amazonaws.com/webstack-prod@sha256:{digest}")
    encoded = encode(config)
    with pytest.raises(SettingsError, match=r"no commit SHA found"):
        load("prod", encoded, commit_sha="")


def test_prebuilt_image_in_stack_repository_accepted():
    digest = "1" * 64
    uri = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/webstack-prod@sha256:{digest}"
    config = with_value("prod", "image", "uri", uri)
    encoded = encode(config)
    assert load("prod", encoded, commit_sha=SHA).image.uri == uri


def test_prebuilt_image_in_other_repository_rejected():
    uri = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:{'1' * 64}"
    config = with_value("prod", "image", "uri", uri)
    encoded = encode(config)
    with pytest.raises(SettingsError, match=r"image\.uri: .*Allowed: an image in this stack's "
                                            r"repository, <account>\.dkr\.ecr\.us-east-1"
                                            r"\.amazonaws\.com/webstack-prod@sha256"):
        load("prod", encoded, commit_sha=SHA)


def test_existing_network_requires_two_private_subnets():
    config = stack_config("prod")
    config["webstack:network"] = json.dumps(
        {
            "mode": "existing",
            "vpcId": "vpc-0123456789abcdef0",
            "publicSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
            "privateSubnetIds": ["subnet-0123456789abcdef2"],
        }
    )
    with pytest.raises(
        SettingsError,
        match=r"privateSubnetIds: \['subnet-0123456789abcdef2'\]\. "
        r"Allowed: a list of at least 2 subnet ids",
    ):
        load("prod", config, commit_sha=SHA)


def test_relaxation_without_reason_rejected():
    config = stack_config("staging")
    config["webstack:relaxations"] = json.dumps({"rds-multi-az": ""})
    with pytest.raises(SettingsError, match=r"^Pulumi\.staging\.yaml: webstack:relaxations\."
                                            r"rds-multi-az has reason ''"):
        load("staging", config, commit_sha=SHA)


def test_relaxation_in_prod_rejected():
    config = stack_config("prod")
    config["webstack:relaxations"] = json.dumps({"rds-multi-az": "saves money in production"})
    with pytest.raises(SettingsError, match=r"relaxes \[.rds-multi-az.\] in the production "
                                            r"stack prod,"):
        load("prod", config, commit_sha=SHA)


def test_relaxation_of_unknown_rule_rejected():
    config = stack_config("staging")
    config["webstack:relaxations"] = json.dumps({"rds-public": "staging is a sandbox anyway"})
    with pytest.raises(SettingsError, match=r"names 'rds-public', which is not a relaxable rule"):
        load("staging", config, commit_sha=SHA)


def test_hold_service_task_definition_defaults_off():
    s = load("prod", stack_config("prod"), commit_sha=SHA)
    assert s.hold_service_task_definition is False


def test_hold_service_task_definition_from_cli_string():
    config = stack_config("prod")
    config["webstack:holdServiceTaskDefinition"] = "true"
    assert load("prod", config, commit_sha=SHA).hold_service_task_definition is True


def test_hold_service_task_definition_rejects_non_boolean():
    config = stack_config("prod")
    config["webstack:holdServiceTaskDefinition"] = "hold"
    with pytest.raises(SettingsError, match=r"webstack:holdServiceTaskDefinition: 'hold'\. "
                                            r"Allowed: true or false"):
        load("prod", config, commit_sha=SHA)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("network", "cidrBlock", "10.999.0.0/16", r"cidrBlock: '10\.999\.0\.0/16'\. Allowed: "
                                                  r"expected an IPv4 network"),
        ("network", "cidrBlock", "10.20.0.1/16", r"clear the host bits"),
        ("network", "vpcId", "vpc-0123456789abcdef0", r"webstack:network\.vpcId applies only "
                                                      r"with mode: existing"),
        ("service", "requestsPerTarget", False, r"requestsPerTarget: False"),
        ("service", "stopTimeoutSeconds", 10, r"stopTimeoutSeconds: 10\. Allowed: a whole "
                                              r"number from 30 to 120"),
        ("loadBalancer", "idleTimeoutSeconds", 120, r"idleTimeoutSeconds: 120\. Allowed: a "
                                                    r"whole number from 30 to 60"),
        ("loadBalancer", "ipAddressType", "dualstack", r"ipAddressType: 'dualstack'\. Allowed: "
                                                       r"ipv4 with webstack:network\.mode create"),
        ("app", "openaiBaseUrl", "http://api.example.com/v1", r"openaiBaseUrl: "
                                                              r"'http://api\.example\.com/v1'"),
        (
            "app",
            "ollamaBaseUrl",
            "http://u:pw@ollama.example.com",  # pragma: allowlist secret
            r"'http://\*\*\*@ollama",
        ),
        ("app", "filesPrefix", "a/../", r"filesPrefix: 'a/\.\./'"),
        ("image", "context", "../outside", r"context: '\.\./outside'"),
        ("database", "enabled", None, r"webstack:database\.enabled has no value \(null\)"),
    ],
)
def test_stricter_value_rejected(section, key, value, message):
    config = with_value("prod", section, key, value)
    encoded = encode(config)
    with pytest.raises(SettingsError, match=r"^Pulumi\.prod\.yaml: .*" + message):
        load("prod", encoded, commit_sha=SHA)


def test_engine_version_as_yaml_number_accepted():
    config = with_value("prod", "cache", "engineVersion", 7.0)
    encoded = encode(config)
    assert load("prod", encoded, commit_sha=SHA).cache.engine_version == "7.0"


@pytest.mark.parametrize("stack", ["Prod", "my_stack", "qa.1", ""])
def test_invalid_stack_name_rejected(stack):
    with pytest.raises(SettingsError, match=r"invalid stack name"):
        load(stack, stack_config("prod"), source="Pulumi.x.yaml", commit_sha=SHA)


def test_app_timing_constants_match_app():
    from app.config import Tuning
    from settings.load import APP_KEEP_ALIVE_SECONDS, APP_SHUTDOWN_GRACE_SECONDS

    assert Tuning().keep_alive_seconds == APP_KEEP_ALIVE_SECONDS
    assert Tuning().shutdown_grace_seconds == APP_SHUTDOWN_GRACE_SECONDS


def test_relaxation_in_second_production_region_rejected():
    config = stack_config("prod")
    config["webstack:relaxations"] = json.dumps({"rds-multi-az": "saves money in production"})
    with pytest.raises(SettingsError, match=r"in the production stack prod-eu,"):
        load("prod-eu", config, commit_sha=SHA)


@pytest.mark.parametrize("key", ["webstak:service", "otherproj:service"])
def test_unknown_namespace_rejected(key):
    config = stack_config("prod")
    config[key] = "{}"
    with pytest.raises(SettingsError, match=rf"unknown key {key}\. Allowed: keys of this project"):
        load("prod", config, commit_sha=SHA)


def test_provider_keys_accepted():
    config = stack_config("prod")
    config["aws:defaultTags"] = json.dumps({"tags": {"team": "web"}})
    assert load("prod", config, commit_sha=SHA).region == "us-east-1"


def test_absent_sections_take_model_defaults():
    from dataclasses import replace

    from settings import model

    config = {
        "aws:region": "us-east-1",
        "webstack:domainName": "app.example.com",
        "webstack:hostedZoneName": "example.com",
        "webstack:openaiApiKey": "secret-value",
    }
    s = load("prod", config, commit_sha=SHA)
    assert s.network == model.NetworkSettings()
    assert s.image == replace(model.ImageSettings(), tag=SHA, repository_name="webstack-prod")
    assert s.service == model.ServiceSettings()
    assert s.app == model.AppSettings()
    assert s.load_balancer == model.LoadBalancerSettings()
    assert s.database == model.DatabaseSettings()
    assert s.cache == model.CacheSettings()
    assert s.activity_log == model.ActivityLogSettings()
