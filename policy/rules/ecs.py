"""ECS rules: cluster, service and task definition (Security Hub ECS.1 to ECS.12).

The task definition's `containerDefinitions` is a JSON string. During a preview of a new
stack it is often unknown because it embeds the image digest, and the policy SDK then skips
the container rules for that resource. They still run during `pulumi up` and on the offline
plan.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from policy.context import RuleContext, violation
from policy.rules.base import ResourceRule
from policy.values import get_list, get_mapping, is_true, parse_json_document

CLUSTER = "aws:ecs/cluster:Cluster"
SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"

# Names ECS.8 looks for in plain environment variables (Security Hub user guide, ECS.8).
STATIC_CREDENTIAL_NAMES = frozenset({
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ECS_ENGINE_AUTH_DATA",
})

CREDENTIAL_NAME_PATTERN = re.compile(
    r"(^|_)(KEY|APIKEY|TOKEN|SECRET|PASSWORD|PASSWD|PWD|CREDENTIALS?|PRIVATE|AUTH)(_|$)"
)
"""A word in a variable name that marks it as a credential, which belongs in `secrets`."""

CREDENTIAL_VALUE_PATTERNS = (
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a PEM private key"),
    (re.compile(r"^[a-z][a-z0-9+.-]*://[^/:@\s]*:[^/@\s]+@"), "a URL with a password"),
)
"""Values that are credentials whatever the variable is called."""

ROOT_USERS = frozenset({"root", "0"})


def check_container_insights(resource_type: str, props: Mapping[str, Any],
                             context: RuleContext) -> list[str]:
    """Require Container Insights, so task CPU, memory and restarts are in CloudWatch."""
    for setting in get_list(props, "settings"):
        if (isinstance(setting, Mapping) and setting.get("name") == "containerInsights"
                and setting.get("value") in ("enabled", "enhanced")):
            return []
    return [violation("ECS.12", resource_type, context, "Container Insights is off",
                      'add settings [{name: "containerInsights", value: "enabled"}]')]


def check_service_no_public_ip(resource_type: str, props: Mapping[str, Any],
                               context: RuleContext) -> list[str]:
    """Reject a public IP on the service's tasks: they sit in private subnets behind the ALB."""
    if is_true(get_mapping(props, "networkConfiguration").get("assignPublicIp")):
        return [violation("ECS.2", resource_type, context, "tasks get a public IP address",
                          "set networkConfiguration.assignPublicIp to false and run the tasks "
                          "in private subnets")]
    return []


def check_platform_version(resource_type: str, props: Mapping[str, Any],
                           context: RuleContext) -> list[str]:
    """Require the Fargate platform version `LATEST` (or unset, which means LATEST)."""
    launch_type = props.get("launchType")
    version = props.get("platformVersion")
    if launch_type not in (None, "FARGATE") or version in (None, "LATEST"):
        return []
    return [violation("ECS.10", resource_type, context,
                      f"platformVersion is pinned to {version!r}, so security fixes in newer "
                      "Fargate platform versions never reach the tasks",
                      'remove platformVersion or set it to "LATEST"')]


def check_circuit_breaker(resource_type: str, props: Mapping[str, Any],
                          context: RuleContext) -> list[str]:
    """Require the deployment circuit breaker with rollback, so a bad image rolls back."""
    breaker = get_mapping(props, "deploymentCircuitBreaker")
    if is_true(breaker.get("enable")) and is_true(breaker.get("rollback")):
        return []
    return [violation(None, resource_type, context,
                      "the deployment circuit breaker with rollback is off, so a failing "
                      "rollout keeps replacing healthy tasks",
                      "set deploymentCircuitBreaker to {enable: true, rollback: true}")]


def _containers(props: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """Return the parsed container definitions, or None when the JSON is unreadable."""
    parsed = parse_json_document(props.get("containerDefinitions"))
    if not isinstance(parsed, list):
        return None
    return [c for c in parsed if isinstance(c, Mapping)]


def _unreadable(resource_type: str, context: RuleContext) -> list[str]:
    return [violation(None, resource_type, context,
                      "containerDefinitions is missing or not a JSON list, so its containers "
                      "cannot be checked", "pass a JSON array of container definitions")]


def check_host_namespaces(resource_type: str, props: Mapping[str, Any],
                          context: RuleContext) -> list[str]:
    """Reject the host's process namespace (ECS.3) and the host network mode (ECS.1)."""
    messages = []
    if props.get("pidMode") == "host":
        messages.append(violation("ECS.3", resource_type, context,
                                  "the task shares the host's process namespace",
                                  'remove pidMode or set it to "task"'))
    if props.get("networkMode") == "host":
        messages.append(violation("ECS.1", resource_type, context,
                                  "the task uses the host network mode",
                                  'set networkMode to "awsvpc"'))
    return messages


def check_not_privileged(resource_type: str, props: Mapping[str, Any],
                         context: RuleContext) -> list[str]:
    """Reject privileged containers (ECS.4)."""
    containers = _containers(props)
    if containers is None:
        return _unreadable(resource_type, context)
    return [violation("ECS.4", resource_type, context,
                      f"container {c.get('name')!r} is privileged",
                      "remove privileged or set it to false")
            for c in containers if is_true(c.get("privileged"))]


def check_read_only_root(resource_type: str, props: Mapping[str, Any],
                         context: RuleContext) -> list[str]:
    """Require a read-only root filesystem on every container (ECS.5)."""
    containers = _containers(props)
    if containers is None:
        return _unreadable(resource_type, context)
    return [violation("ECS.5", resource_type, context,
                      f"container {c.get('name')!r} can write to its root filesystem",
                      "set readonlyRootFilesystem to true and mount a task volume where the "
                      "app writes (for example /tmp)")
            for c in containers if not is_true(c.get("readonlyRootFilesystem"))]


def _credential_reason(name: str, value: Any) -> str | None:
    """Return why an environment variable looks like a credential, or None."""
    upper = name.upper()
    if upper in STATIC_CREDENTIAL_NAMES:
        return "is a static AWS credential name"
    if CREDENTIAL_NAME_PATTERN.search(upper):
        return "has a credential-like name"
    if isinstance(value, str):
        for pattern, what in CREDENTIAL_VALUE_PATTERNS:
            if pattern.search(value):
                return f"holds {what}"
    return None


def check_no_secrets_in_environment(resource_type: str, props: Mapping[str, Any],
                                    context: RuleContext) -> list[str]:
    """Reject credentials in plain `environment`: they belong in `secrets` (ECS.8)."""
    containers = _containers(props)
    if containers is None:
        return _unreadable(resource_type, context)
    messages = []
    for container in containers:
        for variable in get_list(container, "environment"):
            if not isinstance(variable, Mapping):
                continue
            name = str(variable.get("name", ""))
            reason = _credential_reason(name, variable.get("value"))
            if reason:
                messages.append(violation(
                    "ECS.8", resource_type, context,
                    f"container {container.get('name')!r} has plain environment variable "
                    f"{name!r} that {reason}",
                    "store the value in Secrets Manager and reference it under `secrets` "
                    "(valueFrom), or rename a variable that holds no credential"))
    return messages


def check_log_driver(resource_type: str, props: Mapping[str, Any],
                     context: RuleContext) -> list[str]:
    """Require a log driver on every container (ECS.9)."""
    containers = _containers(props)
    if containers is None:
        return _unreadable(resource_type, context)
    return [violation("ECS.9", resource_type, context,
                      f"container {c.get('name')!r} has no log driver",
                      'set logConfiguration.logDriver to "awslogs" with a log group')
            for c in containers
            if not get_mapping(c, "logConfiguration").get("logDriver")]


def check_non_root_user(resource_type: str, props: Mapping[str, Any],
                        context: RuleContext) -> list[str]:
    """Require every container to run as a non-root user (a numeric UID, not 0)."""
    containers = _containers(props)
    if containers is None:
        return _unreadable(resource_type, context)
    messages = []
    for container in containers:
        user = container.get("user")
        uid = str(user).split(":", 1)[0].strip() if user is not None else ""
        if not uid or uid in ROOT_USERS:
            shown = "no user, so the image's default (often root) applies" if not uid \
                else f"user {user!r}, which is root"
            messages.append(violation(
                "ECS.1", resource_type, context,
                f"container {container.get('name')!r} runs with {shown}",
                'set user to a non-root numeric UID:GID such as "10001:10001"'))
    return messages


def check_efs_volumes(resource_type: str, props: Mapping[str, Any],
                      context: RuleContext) -> list[str]:
    """Require TLS and IAM authorization on every EFS volume of the task."""
    messages = []
    for volume in get_list(props, "volumes"):
        if not isinstance(volume, Mapping):
            continue
        efs = get_mapping(volume, "efsVolumeConfiguration")
        if not efs:
            continue
        name = volume.get("name")
        if efs.get("transitEncryption") != "ENABLED":
            messages.append(violation(
                None, resource_type, context,
                f"EFS volume {name!r} is mounted without encryption in transit",
                'set efsVolumeConfiguration.transitEncryption to "ENABLED"'))
        if get_mapping(efs, "authorizationConfig").get("iam") != "ENABLED":
            messages.append(violation(
                None, resource_type, context,
                f"EFS volume {name!r} is mounted without IAM authorization, so the file "
                "system policy cannot tell this task from any other client",
                'set efsVolumeConfiguration.authorizationConfig.iam to "ENABLED" with an '
                "access point"))
    return messages


def check_separate_roles(resource_type: str, props: Mapping[str, Any],
                         context: RuleContext) -> list[str]:
    """Require a task role distinct from the execution role.

    The execution role pulls the image and reads the secrets for ECS; the app's code must not
    hold those permissions.
    """
    execution = props.get("executionRoleArn")
    task = props.get("taskRoleArn")
    if not task:
        return [violation(None, resource_type, context,
                          "the task has no task role, so the app cannot use AWS without "
                          "static keys", "set taskRoleArn to a role with only the app's grants")]
    if execution and task == execution:
        return [violation(None, resource_type, context,
                          "the task role is the execution role, so the app's code can pull "
                          "images and read every secret the task references",
                          "give taskRoleArn its own role, separate from executionRoleArn")]
    return []


RULES = (
    ResourceRule(id="ecs-container-insights", control="ECS.12",
                 description="ECS clusters have Container Insights on.",
                 resource_types=frozenset({CLUSTER}), check=check_container_insights),
    ResourceRule(id="ecs-service-no-public-ip", control="ECS.2",
                 description="ECS services give their tasks no public IP.",
                 resource_types=frozenset({SERVICE}), check=check_service_no_public_ip),
    ResourceRule(id="ecs-platform-latest", control="ECS.10",
                 description="Fargate services run on the LATEST platform version.",
                 resource_types=frozenset({SERVICE}), check=check_platform_version),
    ResourceRule(id="ecs-circuit-breaker", control=None,
                 description="ECS services roll back a failing deployment.",
                 resource_types=frozenset({SERVICE}), check=check_circuit_breaker),
    ResourceRule(id="ecs-no-host-namespaces", control="ECS.3",
                 description="Tasks share neither the host's PID namespace nor its network.",
                 resource_types=frozenset({TASK_DEFINITION}), check=check_host_namespaces),
    ResourceRule(id="ecs-not-privileged", control="ECS.4",
                 description="Containers are not privileged.",
                 resource_types=frozenset({TASK_DEFINITION}), check=check_not_privileged),
    ResourceRule(id="ecs-read-only-root", control="ECS.5",
                 description="Containers have a read-only root filesystem.",
                 resource_types=frozenset({TASK_DEFINITION}), check=check_read_only_root),
    ResourceRule(id="ecs-no-secrets-in-environment", control="ECS.8",
                 description="No credential is passed in a plain environment variable.",
                 resource_types=frozenset({TASK_DEFINITION}),
                 check=check_no_secrets_in_environment),
    ResourceRule(id="ecs-log-driver", control="ECS.9",
                 description="Every container has a log driver.",
                 resource_types=frozenset({TASK_DEFINITION}), check=check_log_driver),
    ResourceRule(id="ecs-non-root-user", control="ECS.1",
                 description="Containers run as a non-root user.",
                 resource_types=frozenset({TASK_DEFINITION}), check=check_non_root_user),
    ResourceRule(id="ecs-efs-tls-iam", control=None,
                 description="EFS volumes are mounted with TLS and IAM authorization.",
                 resource_types=frozenset({TASK_DEFINITION}), check=check_efs_volumes),
    ResourceRule(id="ecs-separate-task-role", control=None,
                 description="The task role is not the execution role.",
                 resource_types=frozenset({TASK_DEFINITION}), check=check_separate_roles),
)


