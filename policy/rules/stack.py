"""Stack rules: checks that relate several resources (ECR.3, EFS.6, EFS.7, SG sources, TLS).

A reference between resources is resolved two ways. When the value is known (offline, or an
existing resource during a preview) it is matched against the other resources' ids, ARNs and
names. When it is unknown (a new resource during a preview) the engine's property
dependencies name the resources it came from. A reference that cannot be resolved either way
is not reported, so a preview never fails on a value it cannot see yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy.context import RuleContext, violation
from policy.rules.base import StackResource, StackRule
from policy.values import get_list, get_mapping, is_true, is_unknown, parse_json_document

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
RDS_INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
BACKUP_POLICY = "aws:efs/backupPolicy:BackupPolicy"
MOUNT_TARGET = "aws:efs/mountTarget:MountTarget"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ECS_SERVICE = "aws:ecs/service:Service"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
SUBNET = "aws:ec2/subnet:Subnet"
AWSX_VPC = "awsx:ec2:Vpc"

# Attributes whose values identify a resource when another resource refers to it.
REFERENCE_KEYS = ("id", "arn", "name")


@dataclass
class StackIndex:
    """Look up resources by URN and by the values other resources use to refer to them."""

    resources: Sequence[StackResource]
    by_urn: dict[str, StackResource] = field(default_factory=dict)
    by_value: dict[str, list[StackResource]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for resource in self.resources:
            self.by_urn[resource.urn] = resource
            values = [resource.id] + [resource.props.get(k) for k in REFERENCE_KEYS]
            for value in values:
                if isinstance(value, str) and value and not is_unknown(value):
                    self.by_value.setdefault(value, []).append(resource)

    def of_type(self, resource_type: str) -> list[StackResource]:
        return [r for r in self.resources if r.type == resource_type]

    def resolve(self, owner: StackResource, prop: str, values: Iterable[Any],
                resource_type: str) -> tuple[list[StackResource], list[Any]]:
        """Return the resources of `resource_type` that `values` of `owner.props[prop]` name.

        The second item lists known values that name no resource of that type (for example
        an existing security group id from config). Unknown values are resolved through the
        property dependencies of `prop`.
        """
        found: list[StackResource] = []
        foreign: list[Any] = []
        needs_dependencies = False
        for value in values:
            if is_unknown(value) or value is None:
                needs_dependencies = True
                continue
            matches = [r for r in self.by_value.get(str(value), []) if r.type == resource_type]
            if matches:
                found.extend(matches)
            else:
                foreign.append(value)
        if needs_dependencies:
            for urn in owner.property_dependencies.get(prop, ()):
                dependency = self.by_urn.get(urn)
                if dependency is not None and dependency.type == resource_type:
                    found.append(dependency)
        unique = {r.urn: r for r in found}
        return list(unique.values()), foreign


def _values(props: Mapping[str, Any], key: str) -> list[Any]:
    value = props.get(key)
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


# -- ECR.3 ---------------------------------------------------------------------------------


def check_ecr_lifecycle(resources: Sequence[StackResource], context: RuleContext) -> list[str]:
    """Require a lifecycle policy with at least one rule on every repository (ECR.3)."""
    index = StackIndex(resources)
    covered: set[str] = set()
    messages = []
    for policy in index.of_type(LIFECYCLE_POLICY):
        repositories, _ = index.resolve(policy, "repository", _values(policy.props, "repository"),
                                        REPOSITORY)
        document = parse_json_document(policy.props.get("policy"))
        rules = document.get("rules") if isinstance(document, Mapping) else None
        if not rules:
            messages.append(violation(
                "ECR.3", policy.type, context.for_resource(policy.name),
                "the lifecycle policy has no rules", "add rules that expire untagged images "
                "and keep the last N tagged ones"))
            continue
        covered.update(r.urn for r in repositories)
    for repository in index.of_type(REPOSITORY):
        if repository.urn not in covered:
            messages.append(violation(
                "ECR.3", repository.type, context.for_resource(repository.name),
                "the repository has no lifecycle policy, so old images pile up",
                "add an aws.ecr.LifecyclePolicy for it that expires untagged images"))
    return messages


# -- RDS: TLS forced -----------------------------------------------------------------------


def check_rds_force_ssl(resources: Sequence[StackResource], context: RuleContext) -> list[str]:
    """Require `rds.force_ssl = 1` in the parameter group of every PostgreSQL instance."""
    index = StackIndex(resources)
    messages = []
    for instance in index.of_type(RDS_INSTANCE):
        if not str(instance.props.get("engine", "")).startswith("postgres"):
            continue
        values = _values(instance.props, "parameterGroupName")
        groups, _ = index.resolve(instance, "parameterGroupName", values, PARAMETER_GROUP)
        if not groups and any(is_unknown(v) for v in values):
            continue
        forced = any(
            isinstance(p, Mapping) and p.get("name") == "rds.force_ssl"
            and str(p.get("value")) == "1"
            for group in groups for p in get_list(group.props, "parameters")
        )
        if not forced:
            messages.append(violation(
                None, instance.type, context.for_resource(instance.name),
                "clients may connect without TLS (no parameter group with rds.force_ssl = 1)",
                "set parameterGroupName to an aws.rds.ParameterGroup with parameter "
                'rds.force_ssl = "1"'))
    return messages


# -- EFS.7 and EFS.6 -------------------------------------------------------------------------


def check_efs_backups(resources: Sequence[StackResource], context: RuleContext) -> list[str]:
    """Require an enabled backup policy on every EFS file system (EFS.7)."""
    index = StackIndex(resources)
    covered: set[str] = set()
    for policy in index.of_type(BACKUP_POLICY):
        if get_mapping(policy.props, "backupPolicy").get("status") != "ENABLED":
            continue
        systems, _ = index.resolve(policy, "fileSystemId", _values(policy.props, "fileSystemId"),
                                   FILE_SYSTEM)
        covered.update(s.urn for s in systems)
    return [violation("EFS.7", fs.type, context.for_resource(fs.name),
                      "the file system has no enabled backup policy",
                      'add an aws.efs.BackupPolicy with backupPolicy.status "ENABLED"')
            for fs in index.of_type(FILE_SYSTEM) if fs.urn not in covered]


def _public_subnet_ids(index: StackIndex) -> set[str]:
    """Subnet ids known to be public: the ALB's, public awsx ones, and auto-public-IP ones."""
    public: set[str] = set()
    for balancer in index.of_type(LOAD_BALANCER):
        if is_true(balancer.props.get("internal")):
            continue
        public.update(str(s) for s in get_list(balancer.props, "subnets") if not is_unknown(s))
    for vpc in index.of_type(AWSX_VPC):
        public.update(str(s) for s in get_list(vpc.props, "publicSubnetIds")
                      if not is_unknown(s))
    for subnet in index.of_type(SUBNET):
        if is_true(subnet.props.get("mapPublicIpOnLaunch")):
            public.update(str(v) for v in (subnet.id, subnet.props.get("id")) if v)
    return public


def check_efs_mount_targets_private(resources: Sequence[StackResource],
                                    context: RuleContext) -> list[str]:
    """Reject EFS mount targets in public subnets (EFS.6)."""
    index = StackIndex(resources)
    public = _public_subnet_ids(index)
    messages = []
    for target in index.of_type(MOUNT_TARGET):
        subnet = target.props.get("subnetId")
        public_subnets, _ = index.resolve(target, "subnetId", [subnet], SUBNET)
        in_public = (isinstance(subnet, str) and subnet in public) or any(
            is_true(s.props.get("mapPublicIpOnLaunch")) for s in public_subnets)
        if in_public:
            messages.append(violation(
                "EFS.6", target.type, context.for_resource(target.name),
                f"the mount target is in public subnet {subnet!r}",
                "create mount targets only in the private subnets the service runs in"))
    return messages


# -- data services admit only the web service ----------------------------------------------


def _data_security_groups(index: StackIndex) -> dict[str, tuple[StackResource, str]]:
    """Return security group URN to (group, data service label) for RDS, Redis and EFS."""
    sources = ((RDS_INSTANCE, "vpcSecurityGroupIds"),
               (REPLICATION_GROUP, "securityGroupIds"),
               (MOUNT_TARGET, "securityGroups"))
    groups: dict[str, tuple[StackResource, str]] = {}
    for resource_type, prop in sources:
        for owner in index.of_type(resource_type):
            found, _ = index.resolve(owner, prop, get_list(owner.props, prop), SECURITY_GROUP)
            for group in found:
                groups.setdefault(group.urn, (group, f"{owner.type} '{owner.name}'"))
    return groups


def _service_security_groups(index: StackIndex) -> set[str]:
    urns: set[str] = set()
    for service in index.of_type(ECS_SERVICE):
        network = get_mapping(service.props, "networkConfiguration")
        found, _ = index.resolve(service, "networkConfiguration",
                                 get_list(network, "securityGroups"), SECURITY_GROUP)
        urns.update(g.urn for g in found)
    return urns


def _source_problem(index: StackIndex, owner: StackResource, prop: str, cidrs: Sequence[Any],
                    sources: Sequence[Any], self_reference: bool,
                    service_groups: set[str]) -> str | None:
    """Return why an ingress rule admits more than the web service, or None."""
    open_cidrs = [c for c in cidrs if c]
    if open_cidrs:
        return f"admits address ranges {open_cidrs}"
    if self_reference:
        return "admits its own group (self)"
    found, foreign = index.resolve(owner, prop, sources, SECURITY_GROUP)
    if foreign:
        return f"admits security groups {foreign} that are not the web service's"
    others = [g.name for g in found if g.urn not in service_groups]
    if others:
        return f"admits security group(s) {others}, not the web service's"
    if not found and not any(is_unknown(s) for s in sources):
        return "admits no security group of the web service"
    return None


def check_data_ingress_only_from_service(resources: Sequence[StackResource],
                                         context: RuleContext) -> list[str]:
    """Require every data service's security group to admit only the web service's group."""
    index = StackIndex(resources)
    data_groups = _data_security_groups(index)
    service_groups = _service_security_groups(index)
    fix = ("admit only the ECS service's security group (referencedSecurityGroupId) on the "
           "data service's port")
    messages = []

    for group, label in data_groups.values():
        for number, rule in enumerate(get_list(group.props, "ingress")):
            if not isinstance(rule, Mapping):
                continue
            problem = _source_problem(
                index, group, "ingress",
                [*get_list(rule, "cidrBlocks"), *get_list(rule, "ipv6CidrBlocks"),
                 *get_list(rule, "prefixListIds")],
                get_list(rule, "securityGroups"), is_true(rule.get("self")), service_groups)
            if problem:
                messages.append(violation(
                    None, group.type, context.for_resource(group.name),
                    f"inline ingress rule {number} of the group of {label} {problem}", fix))

    for rule in index.of_type(INGRESS_RULE) + index.of_type(SECURITY_GROUP_RULE):
        if rule.type == SECURITY_GROUP_RULE and rule.props.get("type") != "ingress":
            continue
        targets, _ = index.resolve(rule, "securityGroupId",
                                   _values(rule.props, "securityGroupId"), SECURITY_GROUP)
        for target in targets:
            if target.urn not in data_groups:
                continue
            if rule.type == INGRESS_RULE:
                cidrs = [rule.props.get("cidrIpv4"), rule.props.get("cidrIpv6"),
                         rule.props.get("prefixListId")]
                prop, self_reference = "referencedSecurityGroupId", False
            else:
                cidrs = [*get_list(rule.props, "cidrBlocks"),
                         *get_list(rule.props, "ipv6CidrBlocks"),
                         *get_list(rule.props, "prefixListIds")]
                prop, self_reference = "sourceSecurityGroupId", is_true(rule.props.get("self"))
            problem = _source_problem(index, rule, prop, cidrs, _values(rule.props, prop),
                                      self_reference, service_groups)
            if problem:
                messages.append(violation(
                    None, rule.type, context.for_resource(rule.name),
                    f"the rule on the group of {data_groups[target.urn][1]} {problem}", fix))
    return messages


RULES = (
    StackRule(id="ecr-lifecycle-policy", control="ECR.3",
              description="Every ECR repository has a lifecycle policy.",
              check=check_ecr_lifecycle),
    StackRule(id="rds-force-ssl", control=None,
              description="PostgreSQL instances force TLS through their parameter group.",
              check=check_rds_force_ssl),
    StackRule(id="efs-backups", control="EFS.7",
              description="EFS file systems have automatic backups.",
              check=check_efs_backups),
    StackRule(id="efs-mount-targets-private", control="EFS.6",
              description="EFS mount targets are not in public subnets.",
              check=check_efs_mount_targets_private),
    StackRule(id="data-ingress-only-from-service", control=None,
              description="Data services admit only the web service's security group.",
              check=check_data_ingress_only_from_service),
)
