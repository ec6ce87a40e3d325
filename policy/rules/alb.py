"""Application Load Balancer rules (Security Hub ELB.1, ELB.4, ELB.6, ELB.12, ELB.13, ELB.17)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.context import RuleContext, violation
from policy.rules.base import ResourceRule
from policy.values import get_list, get_mapping, is_true

LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"

# Source: AWS Security Hub user guide, "Security Hub CSPM controls for Elastic Load Balancing",
# control ELB.17, parameter `sslPolicies`. This is the restricted-cipher and TLS 1.3-only part of
# that list. `ELBSecurityPolicy-TLS13-1-2-2021-06` was on an earlier version and is not now.
# The copy is kept apart from the component's table on purpose: a change to the component must
# not widen what the guardrail accepts.
ALLOWED_SSL_POLICIES: frozenset[str] = frozenset({
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
})

DESYNC_MODES_ALLOWED = frozenset({"defensive", "strictest"})
"""ELB.12 passes these; `monitor` lets ambiguous requests through."""


def _is_https_redirect(action: Any) -> bool:
    if not isinstance(action, Mapping) or action.get("type") != "redirect":
        return False
    return get_mapping(action, "redirect").get("protocol") == "HTTPS"


def check_http_redirects(resource_type: str, props: Mapping[str, Any],
                         context: RuleContext) -> list[str]:
    """Allow an HTTP listener only when its one default action redirects to HTTPS (ELB.1)."""
    if props.get("protocol") != "HTTP":
        return []
    actions = get_list(props, "defaultActions")
    if len(actions) == 1 and _is_https_redirect(actions[0]):
        return []
    kinds = [a.get("type") for a in actions if isinstance(a, Mapping)]
    return [violation("ELB.1", resource_type, context,
                      f"the HTTP listener's default actions are {kinds}, so plain HTTP reaches "
                      "the application",
                      'make its only default action a redirect with protocol "HTTPS", port '
                      '"443" and statusCode "HTTP_301"')]


def check_tls_policy(resource_type: str, props: Mapping[str, Any],
                     context: RuleContext) -> list[str]:
    """Require an HTTPS listener to use a TLS policy from the ELB.17 list and a certificate."""
    if props.get("protocol") != "HTTPS":
        return []
    messages = []
    policy = props.get("sslPolicy")
    if policy not in ALLOWED_SSL_POLICIES:
        shown = repr(policy) if policy else "not set (AWS then uses ELBSecurityPolicy-2016-08)"
        messages.append(violation(
            "ELB.17", resource_type, context, f"the TLS policy is {shown}",
            'set sslPolicy to "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09" or another '
            "policy on the ELB.17 list"))
    if not props.get("certificateArn"):
        messages.append(violation(None, resource_type, context,
                                  "the HTTPS listener has no certificate",
                                  "set certificateArn to a validated ACM certificate"))
    return messages


def check_drop_invalid_headers(resource_type: str, props: Mapping[str, Any],
                               context: RuleContext) -> list[str]:
    """Require the ALB to drop invalid HTTP header fields (ELB.4)."""
    if props.get("loadBalancerType", "application") != "application":
        return []
    if is_true(props.get("dropInvalidHeaderFields")):
        return []
    return [violation("ELB.4", resource_type, context,
                      "the load balancer forwards invalid HTTP header fields",
                      "set dropInvalidHeaderFields to true")]


def check_deletion_protection(resource_type: str, props: Mapping[str, Any],
                              context: RuleContext) -> list[str]:
    """Require deletion protection unless the stack file relaxes it (ELB.6)."""
    if context.is_relaxed("alb-deletion-protection"):
        return []
    if is_true(props.get("enableDeletionProtection")):
        return []
    return [violation("ELB.6", resource_type, context, "deletion protection is off",
                      "set enableDeletionProtection to true, or relax alb-deletion-protection "
                      "with a reason in a non-prod stack file")]


def check_desync_mitigation(resource_type: str, props: Mapping[str, Any],
                            context: RuleContext) -> list[str]:
    """Require desync mitigation `defensive` or `strictest` (ELB.12; unset means defensive)."""
    if props.get("loadBalancerType", "application") != "application":
        return []
    mode = props.get("desyncMitigationMode")
    if mode is None or mode in DESYNC_MODES_ALLOWED:
        return []
    return [violation("ELB.12", resource_type, context,
                      f"desync mitigation mode is {mode!r}",
                      'set desyncMitigationMode to "defensive" or "strictest"')]


def check_multi_az(resource_type: str, props: Mapping[str, Any],
                   context: RuleContext) -> list[str]:
    """Require subnets in at least two Availability Zones (ELB.13)."""
    subnets = get_list(props, "subnets") or get_list(props, "subnetMappings")
    if len(subnets) >= 2:
        return []
    return [violation("ELB.13", resource_type, context,
                      f"the load balancer has {len(subnets)} subnet(s)",
                      "place it in public subnets of at least two Availability Zones")]


def check_health_check_path(resource_type: str, props: Mapping[str, Any],
                            context: RuleContext) -> list[str]:
    """Require an enabled HTTP health check on a dedicated path (not `/`)."""
    if props.get("targetType") == "lambda" or props.get("protocol") not in (None, "HTTP", "HTTPS"):
        return []
    health = get_mapping(props, "healthCheck")
    if health.get("enabled") is False:
        return [violation(None, resource_type, context, "the health check is disabled",
                          'enable healthCheck with path "/api/health"')]
    path = health.get("path")
    if not path or path == "/":
        shown = repr(path) if path else "not set (AWS then requests /)"
        return [violation(None, resource_type, context,
                          f"the health check path is {shown}, so a page that renders "
                          "without its dependencies counts as healthy",
                          'set healthCheck.path to the dedicated endpoint "/api/health"')]
    return []


RULES = (
    ResourceRule(id="alb-http-redirects-to-https", control="ELB.1",
                 description="An HTTP listener only redirects to HTTPS.",
                 resource_types=frozenset({LISTENER}), check=check_http_redirects),
    ResourceRule(id="alb-tls-policy", control="ELB.17",
                 description="HTTPS listeners use a TLS policy on the ELB.17 list.",
                 resource_types=frozenset({LISTENER}), check=check_tls_policy),
    ResourceRule(id="alb-drop-invalid-headers", control="ELB.4",
                 description="The ALB drops invalid HTTP header fields.",
                 resource_types=frozenset({LOAD_BALANCER}), check=check_drop_invalid_headers),
    ResourceRule(id="alb-deletion-protection", control="ELB.6",
                 description="The ALB has deletion protection (relaxable outside prod).",
                 resource_types=frozenset({LOAD_BALANCER}), check=check_deletion_protection),
    ResourceRule(id="alb-desync-mitigation", control="ELB.12",
                 description="The ALB mitigates HTTP desync (defensive or strictest).",
                 resource_types=frozenset({LOAD_BALANCER}), check=check_desync_mitigation),
    ResourceRule(id="alb-multi-az", control="ELB.13",
                 description="The ALB spans at least two Availability Zones.",
                 resource_types=frozenset({LOAD_BALANCER}), check=check_multi_az),
    ResourceRule(id="alb-health-check-path", control=None,
                 description="Target groups check health on a dedicated path.",
                 resource_types=frozenset({TARGET_GROUP}), check=check_health_check_path),
)
