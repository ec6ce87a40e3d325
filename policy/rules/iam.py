"""IAM rules: no wildcard actions, no decrypt on every KMS key, narrow ECS trust.

Security Hub IAM.1 and IAM.21 flag `*` and `service:*` actions on customer managed policies,
and KMS.1 and KMS.2 flag decryption on all KMS keys. This pack applies the same checks to
inline role policies too, because this program writes its grants as inline policies.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.context import RuleContext, violation
from policy.rules.base import ResourceRule
from policy.values import get_list, parse_json_document

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
POLICY_TYPES = frozenset({ROLE, ROLE_POLICY, POLICY, USER_POLICY, GROUP_POLICY})

ECS_TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"
KMS_DECRYPT_ACTIONS = frozenset({"kms:*", "kms:decrypt", "kms:decrypt*", "kms:reencrypt*",
                                 "kms:reencryptfrom", "kms:*crypt*"})
"""Actions (lower case) that decrypt with a KMS key."""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _documents(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """Yield (label, parsed permission document) for each policy the resource holds."""
    if resource_type == ROLE:
        for inline in get_list(props, "inlinePolicies"):
            if isinstance(inline, Mapping) and inline.get("policy"):
                yield (f"inline policy {inline.get('name')!r}",
                       parse_json_document(inline.get("policy")))
    elif props.get("policy") is not None:
        yield "the policy", parse_json_document(props.get("policy"))


def _allow_statements(document: Any) -> Iterator[Mapping[str, Any]]:
    if not isinstance(document, Mapping):
        return
    for statement in _as_list(document.get("Statement")):
        if isinstance(statement, Mapping) and statement.get("Effect") == "Allow":
            yield statement


def check_no_wildcard_actions(resource_type: str, props: Mapping[str, Any],
                              context: RuleContext) -> list[str]:
    """Reject `*`, `service:*` and `NotAction` in Allow statements (IAM.1, IAM.21)."""
    messages = []
    for label, document in _documents(resource_type, props):
        if document is None:
            messages.append(violation(None, resource_type, context,
                                      f"{label} is not valid JSON",
                                      "pass the document built with json.dumps"))
            continue
        for statement in _allow_statements(document):
            if "NotAction" in statement:
                messages.append(violation(
                    "IAM.21", resource_type, context,
                    f"{label} allows NotAction {statement['NotAction']!r}, which grants every "
                    "other action", "list the allowed actions under Action instead"))
            for action in _as_list(statement.get("Action")):
                action = str(action)
                if action == "*":
                    messages.append(violation(
                        "IAM.1", resource_type, context, f"{label} allows every action (*)",
                        "list the exact actions the role needs"))
                elif action.endswith(":*"):
                    messages.append(violation(
                        "IAM.21", resource_type, context,
                        f"{label} allows every action of a service ({action})",
                        "list the exact actions of that service the role needs"))
    return messages


def check_no_kms_decrypt_all(resource_type: str, props: Mapping[str, Any],
                             context: RuleContext) -> list[str]:
    """Reject KMS decryption on all keys (`Resource: "*"`) (KMS.1, KMS.2)."""
    control = "KMS.1" if resource_type == POLICY else "KMS.2"
    messages = []
    for label, document in _documents(resource_type, props):
        for statement in _allow_statements(document):
            actions = {str(a).lower() for a in _as_list(statement.get("Action"))}
            resources = {str(r) for r in _as_list(statement.get("Resource"))}
            if actions & KMS_DECRYPT_ACTIONS and "*" in resources:
                messages.append(violation(
                    control, resource_type, context,
                    f"{label} allows {sorted(actions & KMS_DECRYPT_ACTIONS)} on every KMS key",
                    "limit Resource to the ARNs of the keys the role must use, or add a "
                    "kms:ViaService condition"))
    return messages


def _service_principals(principal: Any) -> tuple[set[str], bool]:
    """Return the service principals of a trust statement and whether it trusts anyone else."""
    if principal == "*":
        return set(), True
    if not isinstance(principal, Mapping):
        return set(), True
    services = {str(s) for s in _as_list(principal.get("Service"))}
    others = any(key != "Service" for key in principal)
    return services, others


def _has_source_account(condition: Any) -> bool:
    if not isinstance(condition, Mapping):
        return False
    return any(isinstance(block, Mapping) and "aws:SourceAccount" in block
               for block in condition.values())


def check_ecs_trust(resource_type: str, props: Mapping[str, Any],
                    context: RuleContext) -> list[str]:
    """Limit a role that ECS tasks assume to ECS tasks of this account.

    Every Allow statement that trusts `ecs-tasks.amazonaws.com` must trust nothing else and
    carry an `aws:SourceAccount` condition (the confused-deputy guard of the ECS developer
    guide). A trust statement open to `*` is rejected on any role.
    """
    document = parse_json_document(props.get("assumeRolePolicy"))
    if document is None:
        return [violation(None, resource_type, context,
                          "assumeRolePolicy is missing or not valid JSON",
                          "pass the trust policy built with json.dumps")]
    messages = []
    for statement in _allow_statements(document):
        services, others = _service_principals(statement.get("Principal"))
        if statement.get("Principal") == "*" or (
            isinstance(statement.get("Principal"), Mapping)
            and "*" in _as_list(statement["Principal"].get("AWS"))
        ):
            messages.append(violation(None, resource_type, context,
                                      "the trust policy lets any principal assume the role",
                                      "trust only the service or account that needs the role"))
            continue
        if ECS_TASKS_PRINCIPAL not in services:
            continue
        if others or services != {ECS_TASKS_PRINCIPAL}:
            messages.append(violation(
                None, resource_type, context,
                f"the trust statement for ECS tasks also trusts {statement.get('Principal')!r}",
                f"trust only {{Service: {ECS_TASKS_PRINCIPAL}}} in that statement"))
        if not _has_source_account(statement.get("Condition")):
            messages.append(violation(
                None, resource_type, context,
                "ECS tasks of any account can assume the role (no aws:SourceAccount "
                "condition)",
                'add Condition {StringEquals: {"aws:SourceAccount": "<account id>"}}'))
    return messages


RULES = (
    ResourceRule(id="iam-no-wildcard-actions", control="IAM.21",
                 description="IAM policies allow no `*` or `service:*` action.",
                 resource_types=POLICY_TYPES, check=check_no_wildcard_actions),
    ResourceRule(id="iam-no-kms-decrypt-all", control="KMS.2",
                 description="IAM policies allow no decryption with every KMS key.",
                 resource_types=POLICY_TYPES, check=check_no_kms_decrypt_all),
    ResourceRule(id="iam-ecs-trust", control=None,
                 description="Roles for ECS tasks trust only ECS tasks of this account.",
                 resource_types=frozenset({ROLE}), check=check_ecs_trust),
)
