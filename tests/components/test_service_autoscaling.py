"""Autoscaling settings: the policies chosen and the bounds checked."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.errors import ComponentInputError
from components.service_autoscaling import (
    ScalingSettings,
    TrackingPolicy,
    tracking_policies,
    validate_scaling,
)


def settings(**overrides) -> ScalingSettings:
    fields = {
        "min_tasks": 2,
        "max_tasks": 4,
        "cpu_target_percent": 60,
        "memory_target_percent": 75,
        "requests_per_target": None,
    }
    fields.update(overrides)
    return ScalingSettings(**fields)


def test_cpu_and_memory_policies_by_default():
    assert tracking_policies(settings()) == [
        TrackingPolicy(
            suffix="cpu", metric_type="ECSServiceAverageCPUUtilization", target_value=60
        ),
        TrackingPolicy(
            suffix="memory", metric_type="ECSServiceAverageMemoryUtilization", target_value=75
        ),
    ]


def test_request_policy_when_target_set():
    policies = tracking_policies(settings(requests_per_target=250))

    assert policies[-1] == TrackingPolicy(
        suffix="requests", metric_type="ALBRequestCountPerTarget", target_value=250
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"min_tasks": 1, "max_tasks": 1},
        {"min_tasks": 100, "max_tasks": 100},
        {"cpu_target_percent": 1},
        {"memory_target_percent": 100},
        {"requests_per_target": 1},
    ],
)
def test_boundaries_pass(overrides):
    validate_scaling(settings(**overrides), "FargateService")


@pytest.mark.parametrize(
    ("overrides", "argument"),
    [
        ({"min_tasks": 0}, "min_tasks"),
        ({"min_tasks": True}, "min_tasks"),
        ({"min_tasks": 5, "max_tasks": 4}, "max_tasks"),
        ({"max_tasks": 101}, "max_tasks"),
        ({"max_tasks": 4.0}, "max_tasks"),
        ({"cpu_target_percent": 0}, "cpu_target_percent"),
        ({"cpu_target_percent": 101}, "cpu_target_percent"),
        ({"memory_target_percent": 0}, "memory_target_percent"),
        ({"memory_target_percent": 101}, "memory_target_percent"),
        ({"requests_per_target": 0}, "requests_per_target"),
        ({"requests_per_target": 1.5}, "requests_per_target"),
    ],
)
def test_out_of_bounds_is_rejected(overrides, argument):
    with pytest.raises(ComponentInputError, match=rf"^FargateService: invalid {argument}="):
        validate_scaling(settings(**overrides), "FargateService")


@given(low=st.integers(-5, 110), high=st.integers(-5, 110))
def test_task_bounds_accepted_exactly_when_ordered(low, high):
    candidate = settings(min_tasks=low, max_tasks=high)
    if 1 <= low <= high <= 100:
        validate_scaling(candidate, "FargateService")
    else:
        with pytest.raises(ComponentInputError):
            validate_scaling(candidate, "FargateService")
