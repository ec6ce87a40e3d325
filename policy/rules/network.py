"""Security group rules: nothing is open to the internet except HTTP and HTTPS.

Covers the three ways Pulumi declares ingress: inline `ingress` blocks on
`aws:ec2/securityGroup:SecurityGroup`, `aws:ec2/securityGroupRule:SecurityGroupRule` with
`type: ingress`, and `aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.context import RuleContext, violation
from policy.rules.base import ResourceRule
from policy.values import as_number, get_list

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
WEB_PORTS = frozenset({80.0, 443.0})
"""The only ports an internet-facing group may open to the world: the ALB's listeners."""


def _world_open_problem(protocol: Any, from_port: Any, to_port: Any) -> str | None:
    """Return what is wrong with a rule open to the world, or None if it is HTTP or HTTPS."""
    low, high = as_number(from_port), as_number(to_port)
    if str(protocol) in ("-1", "all"):
        return "admits all protocols and ports from the internet"
    if str(protocol).lower() not in ("tcp", "6"):
        return f"admits protocol {protocol!r} from the internet"
    if low is None or high is None or low != high or low not in WEB_PORTS:
        return f"admits TCP ports {from_port!r}-{to_port!r} from the internet"
    return None


FIX = ("open only TCP 80 or 443 to 0.0.0.0/0 or ::/0 (the ALB's group), and admit every "
       "other port only from a security group")


def check_no_world_open_ports(resource_type: str, props: Mapping[str, Any],
                              context: RuleContext) -> list[str]:
    """Reject ingress from 0.0.0.0/0 or ::/0 on any port but TCP 80 and 443."""
    messages = []
    if resource_type == SECURITY_GROUP:
        for index, rule in enumerate(get_list(props, "ingress")):
            if not isinstance(rule, Mapping):
                continue
            cidrs = set(get_list(rule, "cidrBlocks")) | set(get_list(rule, "ipv6CidrBlocks"))
            if cidrs & WORLD_CIDRS:
                problem = _world_open_problem(rule.get("protocol"), rule.get("fromPort"),
                                              rule.get("toPort"))
                if problem:
                    messages.append(violation("EC2.18", resource_type, context,
                                              f"inline ingress rule {index} {problem}", FIX))
    elif resource_type == SECURITY_GROUP_RULE:
        cidrs = set(get_list(props, "cidrBlocks")) | set(get_list(props, "ipv6CidrBlocks"))
        if props.get("type") == "ingress" and cidrs & WORLD_CIDRS:
            problem = _world_open_problem(props.get("protocol"), props.get("fromPort"),
                                          props.get("toPort"))
            if problem:
                messages.append(violation("EC2.18", resource_type, context,
                                          f"the rule {problem}", FIX))
    elif resource_type == INGRESS_RULE:
        cidrs = {props.get("cidrIpv4"), props.get("cidrIpv6")}
        if cidrs & WORLD_CIDRS:
            problem = _world_open_problem(props.get("ipProtocol"), props.get("fromPort"),
                                          props.get("toPort"))
            if problem:
                messages.append(violation("EC2.18", resource_type, context,
                                          f"the rule {problem}", FIX))
    return messages


RULES = (
    ResourceRule(id="sg-world-open-web-only", control="EC2.18",
                 description="Only TCP 80 and 443 are open to the internet.",
                 resource_types=frozenset({SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE}),
                 check=check_no_world_open_ports),
)
