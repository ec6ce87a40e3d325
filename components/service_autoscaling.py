"""Target tracking autoscaling of an ECS service's task count.

The settings are checked by pure functions. `create_service_autoscaling` declares the
scalable target and its policies as children of the calling component.
"""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.errors import ComponentInputError

MAX_TASKS_LIMIT = 100
"""Upper bound on `max_tasks`, so a typo cannot start thousands of tasks."""

SCALE_IN_COOLDOWN_SECONDS = 300
"""Wait after a scale-in before the next one, so a short dip does not drain capacity."""
SCALE_OUT_COOLDOWN_SECONDS = 60
"""Wait after a scale-out before the next one, so a surge is met within minutes."""

ECS_NAMESPACE = "ecs"
DESIRED_COUNT_DIMENSION = "ecs:service:DesiredCount"


@dataclass(frozen=True, kw_only=True)
class ScalingSettings:
    """Task count bounds and the targets the policies track."""

    min_tasks: int
    max_tasks: int
    cpu_target_percent: int
    memory_target_percent: int
    requests_per_target: int | None


@dataclass(frozen=True, kw_only=True)
class TrackingPolicy:
    """One target tracking policy: child name suffix, predefined metric and target value."""

    suffix: str
    metric_type: str
    target_value: int


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_scaling(settings: ScalingSettings, component: str) -> None:
    """Raise ComponentInputError unless 1 <= min <= max <= 100, targets are 1-100 %
    and `requests_per_target` is None or at least 1."""
    if not _is_int(settings.min_tasks) or settings.min_tasks < 1:
        raise ComponentInputError(
            component,
            "min_tasks",
            settings.min_tasks,
            "at least 1 task keeps the service reachable; use 2 or more for two zones.",
        )
    if not _is_int(settings.max_tasks) or not settings.min_tasks <= settings.max_tasks:
        raise ComponentInputError(
            component,
            "max_tasks",
            settings.max_tasks,
            f"max_tasks is an integer of at least min_tasks={settings.min_tasks}; raise it.",
        )
    if settings.max_tasks > MAX_TASKS_LIMIT:
        raise ComponentInputError(
            component,
            "max_tasks",
            settings.max_tasks,
            f"at most {MAX_TASKS_LIMIT} tasks; lower it.",
        )
    for argument in ("cpu_target_percent", "memory_target_percent"):
        value = getattr(settings, argument)
        if not _is_int(value) or not 1 <= value <= 100:
            raise ComponentInputError(
                component, argument, value, "a utilization target is 1 to 100 percent."
            )
    requests = settings.requests_per_target
    if requests is not None and (not _is_int(requests) or requests < 1):
        raise ComponentInputError(
            component,
            "requests_per_target",
            requests,
            "requests per target per minute is at least 1, or None to scale on CPU and "
            "memory only.",
        )


def tracking_policies(settings: ScalingSettings) -> list[TrackingPolicy]:
    """Return the policies to create: CPU, memory, and ALB requests when a target is set."""
    policies = [
        TrackingPolicy(
            suffix="cpu",
            metric_type="ECSServiceAverageCPUUtilization",
            target_value=settings.cpu_target_percent,
        ),
        TrackingPolicy(
            suffix="memory",
            metric_type="ECSServiceAverageMemoryUtilization",
            target_value=settings.memory_target_percent,
        ),
    ]
    if settings.requests_per_target is not None:
        policies.append(
            TrackingPolicy(
                suffix="requests",
                metric_type="ALBRequestCountPerTarget",
                target_value=settings.requests_per_target,
            )
        )
    return policies


def create_service_autoscaling(
    name: str,
    *,
    settings: ScalingSettings,
    cluster_name: pulumi.Input[str],
    service_name: pulumi.Input[str],
    load_balancer_arn_suffix: pulumi.Input[str],
    target_group_arn_suffix: pulumi.Input[str],
    parent: pulumi.Resource,
) -> tuple[aws.appautoscaling.Target, dict[str, aws.appautoscaling.Policy]]:
    """Declare `<name>-scaling` and one `<name>-scaling-<metric>` policy per tracked metric.

    Returns the scalable target and the policies by metric suffix (`cpu`, `memory`,
    `requests`). With several policies, Application Auto Scaling scales out when any of
    them calls for it and scales in only when all of them allow it.
    """
    target = aws.appautoscaling.Target(
        f"{name}-scaling",
        service_namespace=ECS_NAMESPACE,
        scalable_dimension=DESIRED_COUNT_DIMENSION,
        resource_id=pulumi.Output.format("service/{0}/{1}", cluster_name, service_name),
        min_capacity=settings.min_tasks,
        max_capacity=settings.max_tasks,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    # The label ties the request count to one target group behind one load balancer.
    resource_label = pulumi.Output.format(
        "{0}/{1}", load_balancer_arn_suffix, target_group_arn_suffix
    )

    policies: dict[str, aws.appautoscaling.Policy] = {}
    for policy in tracking_policies(settings):
        metric: dict[str, pulumi.Input[str]] = {"predefined_metric_type": policy.metric_type}
        if policy.metric_type == "ALBRequestCountPerTarget":
            metric["resource_label"] = resource_label
        policies[policy.suffix] = aws.appautoscaling.Policy(
            f"{name}-scaling-{policy.suffix}",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": policy.target_value,
                "predefined_metric_specification": metric,
                "scale_in_cooldown": SCALE_IN_COOLDOWN_SECONDS,
                "scale_out_cooldown": SCALE_OUT_COOLDOWN_SECONDS,
            },
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return target, policies
