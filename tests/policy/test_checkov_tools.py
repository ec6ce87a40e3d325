"""The Terraform-plan conversion and the Checkov wrapper's bookkeeping (no Checkov run here)."""

import json
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from tools import checkov_scan
from tools.checkov_plan import Converted, convert, snake_case, terraform_type
from tools.checkov_scan import SkipFileError, apply_skips, load_skips
from tools.mock_runtime import run
from tools.policy_check import recorded_id


@pytest.mark.parametrize(("token", "expected"), [
    ("aws:lb/loadBalancer:LoadBalancer", "aws_lb"),
    ("aws:lb/listener:Listener", "aws_lb_listener"),
    ("aws:lb/targetGroup:TargetGroup", "aws_lb_target_group"),
    ("aws:rds/instance:Instance", "aws_db_instance"),
    ("aws:rds/parameterGroup:ParameterGroup", "aws_db_parameter_group"),
    ("aws:ec2/securityGroup:SecurityGroup", "aws_security_group"),
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
     "aws_vpc_security_group_ingress_rule"),
    ("aws:ecs/taskDefinition:TaskDefinition", "aws_ecs_task_definition"),
    ("aws:elasticache/replicationGroup:ReplicationGroup", "aws_elasticache_replication_group"),
    ("aws:efs/accessPoint:AccessPoint", "aws_efs_access_point"),
    ("aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
    ("aws:iam/rolePolicy:RolePolicy", "aws_iam_role_policy"),
    ("awsx:ec2:Vpc", None),
    ("docker:index/image:Image", None),
    ("webstack:lb:HttpsAlb", None),
])
def test_terraform_type_mapping(token, expected):
    assert terraform_type(token) == expected


def test_snake_case():
    assert snake_case("enableDeletionProtection") == "enable_deletion_protection"
    assert snake_case("cidrIpv4") == "cidr_ipv4"
    assert snake_case("ipv6CidrBlocks") == "ipv6_cidr_blocks"


def declare_alb() -> None:
    alb = aws.lb.LoadBalancer("web-alb", subnets=["subnet-a", "subnet-b"],
                              drop_invalid_header_fields=True)
    aws.lb.Listener("web-http", load_balancer_arn=alb.arn, port=80, protocol="HTTP",
                    default_actions=[{"type": "redirect", "redirect": {
                        "port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}])
    aws.elasticache.ReplicationGroup("cache", description="d", transit_encryption_enabled=True,
                                     auth_token=pulumi.Output.secret("s3cr3t-value"))
    aws.ecs.Cluster("cluster", settings=[{"name": "containerInsights", "value": "enabled"}],
                    tags={"camelCaseKey": "kept"})


def converted_alb(pulumi_mocks):
    run(declare_alb)
    return convert(pulumi_mocks.records, pulumi_mocks.computed)


def resource(document, address):
    return next(r for r in document["planned_values"]["root_module"]["resources"]
                if r["address"] == address)


def expressions(document, address):
    return next(r for r in document["configuration"]["root_module"]["resources"]
                if r["address"] == address)["expressions"]


def test_conversion_has_what_checkov_needs(pulumi_mocks):
    document = converted_alb(pulumi_mocks).document
    assert document["terraform_version"]
    entry = resource(document, "aws_lb.web-alb")
    assert entry["mode"] == "managed"
    assert entry["type"] == "aws_lb"
    assert entry["name"] == "web-alb"


def test_conversion_singular_blocks_and_integers(pulumi_mocks):
    document = converted_alb(pulumi_mocks).document
    listener = resource(document, "aws_lb_listener.web-http")["values"]
    assert listener["port"] == 80
    assert isinstance(listener["port"], int)
    assert listener["default_action"] == [{"type": "redirect", "redirect": [
        {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}]}]
    cluster = resource(document, "aws_ecs_cluster.cluster")["values"]
    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    assert cluster["tags"] == {"camelCaseKey": "kept"}


def test_conversion_emits_references(pulumi_mocks):
    document = converted_alb(pulumi_mocks).document
    listener = resource(document, "aws_lb_listener.web-http")["values"]
    assert "load_balancer_arn" not in listener
    assert expressions(document, "aws_lb_listener.web-http")["load_balancer_arn"] == {
        "references": ["aws_lb.web-alb.arn", "aws_lb.web-alb"]}


def test_conversion_masks_secrets(pulumi_mocks):
    document = converted_alb(pulumi_mocks).document
    values = resource(document, "aws_elasticache_replication_group.cache")["values"]
    assert values["auth_token"] == "[secret]"
    assert "s3cr3t-value" not in json.dumps(document)


def test_recorded_id_matches_mock_ids(pulumi_mocks):
    # The instance receives the group's id, which the mock does not report in the outputs.
    def program():
        group = aws.rds.ParameterGroup("params", family="postgres16")
        aws.rds.Instance("db", instance_class="db.t4g.micro", parameter_group_name=group.id)

    run(program)
    group = pulumi_mocks.find("aws:rds/parameterGroup:ParameterGroup", "params")
    instance = pulumi_mocks.find("aws:rds/instance:Instance", "db")
    assert recorded_id(group) == instance.inputs["parameterGroupName"]


def write_skips(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "skips.yaml"
    path.write_text(text)
    return path


def test_skips_merge_stack_section(tmp_path):
    path = write_skips(tmp_path, "every_stack:\n  CKV_A: shared reason\n"
                                 "stacks:\n  staging:\n    CKV_B: staging reason\n")
    assert load_skips(path, "staging") == {"CKV_A": "shared reason", "CKV_B": "staging reason"}
    assert load_skips(path, "prod") == {"CKV_A": "shared reason"}


def test_skip_without_reason_rejected(tmp_path):
    path = write_skips(tmp_path, "every_stack:\n  CKV_A: ''\n")
    with pytest.raises(SkipFileError, match=r"every_stack\.CKV_A needs a reason"):
        load_skips(path, "prod")


def test_reviewed_skip_file_valid():
    skips = load_skips(checkov_scan.DEFAULT_SKIPS, "staging")
    assert all(reason for reason in skips.values())


REPORT = {
    "summary": {"passed": 10, "failed": 2, "resource_count": 5},
    "results": {"failed_checks": [
        {"check_id": "CKV_A", "check_name": "a", "resource": "aws_lb.web"},
        {"check_id": "CKV_B", "check_name": "b", "resource": "aws_lb.web"},
    ]},
}


def test_apply_skips_splits_failures():
    result = apply_skips("prod", 5, REPORT, {"CKV_A": "reviewed", "CKV_C": "stale"})
    assert [f.check_id for f in result.failed] == ["CKV_B"]
    assert [(f.check_id, reason) for f, reason in result.skipped] == [("CKV_A", "reviewed")]
    assert result.unused_skips == ["CKV_C"]
    assert result.complete


def test_apply_skips_detects_short_scan():
    assert not apply_skips("prod", 6, REPORT, {}).complete


def test_scan_fails_when_checkov_scans_nothing(tmp_path, monkeypatch):
    # A fake Checkov that reports zero resources, as a malformed plan makes the real one do.
    fake = tmp_path / "checkov"
    fake.write_text(f"#!{sys.executable}\nimport json\n"
                    "print(json.dumps({'summary': {'passed': 0, 'failed': 0, "
                    "'resource_count': 0}, 'results': {}}))\n")
    fake.chmod(0o755)
    one_resource = Converted(document={"terraform_version": "1"}, addresses=["aws_lb.x"])
    monkeypatch.setattr("tools.checkov_plan.convert_stack",
                        lambda stack, config_file: one_resource)
    skips = write_skips(tmp_path, "every_stack: {}\n")
    assert checkov_scan.main(["prod", "--checkov", str(fake), "--skips", str(skips)]) == 3
