"""The Fargate CPU/memory table and its validation, at the boundaries of each row."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.errors import ComponentInputError
from components.fargate_sizes import FARGATE_MEMORY_MIB_BY_CPU, validate_task_size

# (cpu, lowest memory, highest memory, step) as the AWS ECS developer guide lists them,
# written out independently of the table so a typo in either one fails.
DOCUMENTED_ROWS = [
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
]


def test_table_has_exactly_the_documented_cpu_values():
    assert list(FARGATE_MEMORY_MIB_BY_CPU) == [256, 512, 1024, 2048, 4096, 8192, 16384]


def test_256_cpu_row_is_512_1024_2048():
    assert FARGATE_MEMORY_MIB_BY_CPU[256] == (512, 1024, 2048)


@pytest.mark.parametrize(("cpu", "low", "high", "step"), DOCUMENTED_ROWS)
def test_row_bounds_and_step(cpu, low, high, step):
    values = FARGATE_MEMORY_MIB_BY_CPU[cpu]
    assert (values[0], values[-1]) == (low, high)
    assert all(b - a == step for a, b in itertools.pairwise(values))


@pytest.mark.parametrize(("cpu", "low", "high", "step"), DOCUMENTED_ROWS)
def test_boundaries_are_accepted(cpu, low, high, step):
    validate_task_size(cpu, low)
    validate_task_size(cpu, high)


@pytest.mark.parametrize(("cpu", "low", "high", "step"), DOCUMENTED_ROWS)
def test_one_step_outside_a_row_is_rejected(cpu, low, high, step):
    with pytest.raises(ComponentInputError, match=rf"with cpu={cpu} Fargate accepts"):
        validate_task_size(cpu, low - step)
    with pytest.raises(ComponentInputError, match=rf"with cpu={cpu} Fargate accepts"):
        validate_task_size(cpu, high + step)


@pytest.mark.parametrize(("cpu", "low", "high", "step"), DOCUMENTED_ROWS)
def test_memory_between_steps_is_rejected(cpu, low, high, step):
    with pytest.raises(ComponentInputError, match=r"memory_mib"):
        validate_task_size(cpu, low + step // 2)


def test_256_cpu_rejects_3_gib():
    with pytest.raises(ComponentInputError) as caught:
        validate_task_size(256, 3072)
    assert str(caught.value) == (
        "FargateService: invalid memory_mib=3072; with cpu=256 Fargate accepts memory_mib "
        "512, 1024, 2048; pick one of them or change cpu."
    )


def test_unknown_cpu_lists_the_allowed_cpu_values():
    with pytest.raises(ComponentInputError) as caught:
        validate_task_size(300, 512)
    assert str(caught.value) == (
        "FargateService: invalid cpu=300; Fargate accepts CPU units 256, 512, 1024, 2048, "
        "4096, 8192, 16384 (1024 = 1 vCPU); pick one of them."
    )


def test_error_names_the_calling_component():
    with pytest.raises(ComponentInputError, match=r"^OneOffTask: invalid cpu=128"):
        validate_task_size(128, 512, component="OneOffTask")


@pytest.mark.parametrize(("cpu", "memory"), [(True, 512), (256, True), ("256", 512), (256, 512.0)])
def test_non_integer_values_are_rejected(cpu, memory):
    with pytest.raises(ComponentInputError):
        validate_task_size(cpu, memory)


@given(cpu=st.sampled_from(sorted(FARGATE_MEMORY_MIB_BY_CPU)), memory=st.integers(0, 200_000))
def test_accepted_exactly_when_memory_is_in_the_row(cpu, memory):
    row = FARGATE_MEMORY_MIB_BY_CPU[cpu]
    if memory in row:
        validate_task_size(cpu, memory)
    else:
        with pytest.raises(ComponentInputError, match=r"memory_mib"):
            validate_task_size(cpu, memory)


@given(cpu=st.integers(-10, 40_000).filter(lambda c: c not in FARGATE_MEMORY_MIB_BY_CPU))
def test_any_other_cpu_is_rejected(cpu):
    with pytest.raises(ComponentInputError, match=r"invalid cpu="):
        validate_task_size(cpu, 2048)


@given(cpu=st.sampled_from(sorted(FARGATE_MEMORY_MIB_BY_CPU)))
def test_memory_per_vcpu_between_2_and_8_gib(cpu):
    # Every row of the guide's table keeps 2 GiB to 8 GiB of memory per vCPU.
    row = FARGATE_MEMORY_MIB_BY_CPU[cpu]
    vcpu = cpu / 1024
    assert min(row) >= 2048 * vcpu
    assert max(row) <= 8192 * vcpu
