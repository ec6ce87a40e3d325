"""Stack rules on hand-built resources, with references as known ids and as dependencies."""

from typing import Any

import pytest
from pulumi_policy import PolicyResource, StackValidationArgs

from policy.context import RuleContext
from policy.pack import RELAXATIONS_POLICY, build_policies
from policy.rules import StackResource
from policy.rules.stack import (
    check_data_ingress_only_from_service,
    check_ecr_lifecycle,
    check_efs_backups,
    check_efs_mount_targets_private,
    check_rds_force_ssl,
)
from policy.values import UNKNOWN

PROD = RuleContext(stack="prod")


def res(resource_type: str, logical_name: str, resource_id: str | None = None,
        dependencies: dict[str, list[str]] | None = None, **props: Any) -> StackResource:
    return StackResource(type=resource_type, name=logical_name,
                         urn=f"urn:{resource_type}::{logical_name}",
                         props=props, id=resource_id,
                         property_dependencies=dependencies or {})


SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def data_stack(ingress_props: dict[str, Any]) -> list[StackResource]:
    return [
        res(SG, "web-sg", "sg-service"),
        res(SG, "alb-sg", "sg-alb"),
        res(SG, "db-sg", "sg-db"),
        res("aws:ecs/service:Service", "web-service",
            networkConfiguration={"securityGroups": ["sg-service"], "assignPublicIp": False}),
        res("aws:rds/instance:Instance", "db", vpcSecurityGroupIds=["sg-db"], engine="postgres"),
        res(INGRESS, "db-in", securityGroupId="sg-db", ipProtocol="tcp", fromPort=5432.0,
            toPort=5432.0, **ingress_props),
    ]


def test_data_ingress_from_service_passes():
    resources = data_stack({"referencedSecurityGroupId": "sg-service"})
    assert check_data_ingress_only_from_service(resources, PROD) == []


def test_data_ingress_from_cidr_rejected():
    resources = data_stack({"cidrIpv4": "10.0.0.0/16"})
    assert check_data_ingress_only_from_service(resources, PROD) == [
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule 'db-in': the rule on the "
        "group of aws:rds/instance:Instance 'db' admits address ranges ['10.0.0.0/16']. "
        "Fix: admit only the ECS service's security group (referencedSecurityGroupId) on the "
        "data service's port."]


def test_data_ingress_from_other_group_rejected():
    resources = data_stack({"referencedSecurityGroupId": "sg-alb"})
    assert check_data_ingress_only_from_service(resources, PROD) == [
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule 'db-in': the rule on the "
        "group of aws:rds/instance:Instance 'db' admits security group(s) ['alb-sg'], not "
        "the web service's. Fix: admit only the ECS service's security group "
        "(referencedSecurityGroupId) on the data service's port."]


def test_data_ingress_inline_rule_rejected():
    resources = [
        res(SG, "web-sg", "sg-service"),
        res(SG, "cache-sg", "sg-cache", ingress=[
            {"protocol": "tcp", "fromPort": 6379.0, "toPort": 6379.0,
             "cidrBlocks": ["0.0.0.0/0"]}]),
        res("aws:ecs/service:Service", "web-service",
            networkConfiguration={"securityGroups": ["sg-service"]}),
        res("aws:elasticache/replicationGroup:ReplicationGroup", "cache",
            securityGroupIds=["sg-cache"]),
    ]
    assert check_data_ingress_only_from_service(resources, PROD) == [
        "aws:ec2/securityGroup:SecurityGroup 'cache-sg': inline ingress rule 0 of the group of "
        "aws:elasticache/replicationGroup:ReplicationGroup 'cache' admits address ranges "
        "['0.0.0.0/0']. Fix: admit only the ECS service's security group "
        "(referencedSecurityGroupId) on the data service's port."]


def test_data_ingress_resolved_through_dependencies():
    # During a preview of a new stack the ids are unknown; property dependencies name them.
    service_sg = res(SG, "web-sg")
    alb_sg = res(SG, "alb-sg")
    db_sg = res(SG, "db-sg")
    resources = [
        service_sg, alb_sg, db_sg,
        res("aws:ecs/service:Service", "web-service",
            dependencies={"networkConfiguration": [service_sg.urn]},
            networkConfiguration={"securityGroups": [UNKNOWN]}),
        res("aws:rds/instance:Instance", "db", engine="postgres",
            dependencies={"vpcSecurityGroupIds": [db_sg.urn]}, vpcSecurityGroupIds=[UNKNOWN]),
        res(INGRESS, "db-in", securityGroupId=UNKNOWN, referencedSecurityGroupId=UNKNOWN,
            dependencies={"securityGroupId": [db_sg.urn],
                          "referencedSecurityGroupId": [alb_sg.urn]}),
    ]
    messages = check_data_ingress_only_from_service(resources, PROD)
    assert len(messages) == 1
    assert "admits security group(s) ['alb-sg'], not the web service's" in messages[0]


def test_ecr_lifecycle_missing_rejected():
    resources = [res("aws:ecr/repository:Repository", "app-repo", name="app-repo-1234")]
    assert check_ecr_lifecycle(resources, PROD) == [
        "[ECR.3] aws:ecr/repository:Repository 'app-repo': the repository has no lifecycle "
        "policy, so old images pile up. Fix: add an aws.ecr.LifecyclePolicy for it that "
        "expires untagged images."]


def test_ecr_lifecycle_present_passes():
    resources = [
        res("aws:ecr/repository:Repository", "app-repo", name="app-repo-1234"),
        res("aws:ecr/lifecyclePolicy:LifecyclePolicy", "app-lifecycle",
            repository="app-repo-1234",
            policy='{"rules": [{"rulePriority": 1, "action": {"type": "expire"}}]}'),
    ]
    assert check_ecr_lifecycle(resources, PROD) == []


def test_ecr_lifecycle_without_rules_rejected():
    resources = [
        res("aws:ecr/repository:Repository", "app-repo", name="app-repo-1234"),
        res("aws:ecr/lifecyclePolicy:LifecyclePolicy", "app-lifecycle",
            repository="app-repo-1234", policy='{"rules": []}'),
    ]
    assert len(check_ecr_lifecycle(resources, PROD)) == 2


@pytest.mark.parametrize(("parameters", "violations"), [
    ([{"name": "rds.force_ssl", "value": "1"}], 0),
    ([{"name": "rds.force_ssl", "value": "0"}], 1),
    ([], 1),
])
def test_rds_force_ssl(parameters, violations):
    resources = [
        res("aws:rds/parameterGroup:ParameterGroup", "db-params", "db-params-1",
            parameters=parameters),
        res("aws:rds/instance:Instance", "db", engine="postgres",
            parameterGroupName="db-params-1"),
    ]
    assert len(check_rds_force_ssl(resources, PROD)) == violations


def test_rds_default_parameter_group_rejected():
    resources = [res("aws:rds/instance:Instance", "db", engine="postgres")]
    assert check_rds_force_ssl(resources, PROD) == [
        "aws:rds/instance:Instance 'db': clients may connect without TLS (no parameter group "
        "with rds.force_ssl = 1). Fix: set parameterGroupName to an aws.rds.ParameterGroup "
        'with parameter rds.force_ssl = "1".']


def test_efs_backups():
    fs = res("aws:efs/fileSystem:FileSystem", "fs", "fs-1", encrypted=True)
    policy = res("aws:efs/backupPolicy:BackupPolicy", "fs-backup", fileSystemId="fs-1",
                 backupPolicy={"status": "ENABLED"})
    assert check_efs_backups([fs, policy], PROD) == []
    assert check_efs_backups([fs], PROD) == [
        "[EFS.7] aws:efs/fileSystem:FileSystem 'fs': the file system has no enabled backup "
        'policy. Fix: add an aws.efs.BackupPolicy with backupPolicy.status "ENABLED".']


def test_efs_mount_target_in_alb_subnet_rejected():
    alb = res("aws:lb/loadBalancer:LoadBalancer", "alb", subnets=["subnet-pub-a", "subnet-pub-b"])
    private = res("aws:efs/mountTarget:MountTarget", "mt-a", subnetId="subnet-prv-a")
    public = res("aws:efs/mountTarget:MountTarget", "mt-b", subnetId="subnet-pub-b")
    assert check_efs_mount_targets_private([alb, private], PROD) == []
    assert check_efs_mount_targets_private([alb, public], PROD) == [
        "[EFS.6] aws:efs/mountTarget:MountTarget 'mt-b': the mount target is in public subnet "
        "'subnet-pub-b'. Fix: create mount targets only in the private subnets the service "
        "runs in."]


def test_efs_mount_target_in_public_awsx_subnet_rejected():
    vpc = res("awsx:ec2:Vpc", "net", publicSubnetIds=["subnet-pub-a"])
    target = res("aws:efs/mountTarget:MountTarget", "mt-a", subnetId="subnet-pub-a")
    assert len(check_efs_mount_targets_private([vpc, target], PROD)) == 1


def stack_args(resources: list[StackResource]) -> StackValidationArgs:
    policy_resources = [
        PolicyResource(r.type, r.props, r.urn, r.name, None, None, None, [], {})  # type: ignore[arg-type]
        for r in resources
    ]
    return StackValidationArgs(policy_resources)


def test_stack_policy_validate_reports():
    policies = {p.name: p for p in build_policies(lambda: (PROD, None))}
    reported: list[str] = []
    args = stack_args([res("aws:ecr/repository:Repository", "app-repo", name="app-repo-1")])
    policies["ecr-lifecycle-policy"].validate(args, lambda m, urn=None: reported.append(m))
    assert reported == [
        "[ECR.3] aws:ecr/repository:Repository 'app-repo': the repository has no lifecycle "
        "policy, so old images pile up. Fix: add an aws.ecr.LifecyclePolicy for it that "
        "expires untagged images."]


def test_invalid_relaxations_reported_by_pack():
    error = "stack config of prod: webstack:relaxations relaxes ['rds-multi-az'] in prod"
    policies = {p.name: p for p in build_policies(lambda: (PROD, error))}
    reported: list[str] = []
    policies[RELAXATIONS_POLICY].validate(stack_args([]), lambda m, urn=None: reported.append(m))
    assert reported == [error]


def test_valid_relaxations_report_nothing():
    policies = {p.name: p for p in build_policies(lambda: (PROD, None))}
    reported: list[str] = []
    policies[RELAXATIONS_POLICY].validate(stack_args([]), lambda m, urn=None: reported.append(m))
    assert reported == []
