"""Fargate task sizes: which memory values AWS accepts for each CPU value.

Source: AWS ECS developer guide, "Task size" for Fargate. The 8192 and 16384 CPU sizes need
Linux platform version 1.4.0 or later; FargateService uses `LATEST`, which satisfies that.
"""

from collections.abc import Mapping

from components.errors import ComponentInputError


def _steps(first: int, last: int, step: int) -> tuple[int, ...]:
    return tuple(range(first, last + 1, step))


FARGATE_MEMORY_MIB_BY_CPU: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}
"""CPU units (1024 = 1 vCPU) to the memory values in MiB that Fargate accepts with it."""


def validate_task_size(cpu: int, memory_mib: int, component: str = "FargateService") -> None:
    """Raise ComponentInputError unless Fargate accepts this CPU and memory pair.

    The message lists the CPU values when `cpu` is unknown, and the memory values allowed
    with that CPU when only `memory_mib` is wrong.
    """
    # bool is an int subclass; True would otherwise be looked up as 1.
    if isinstance(cpu, bool) or not isinstance(cpu, int) or cpu not in FARGATE_MEMORY_MIB_BY_CPU:
        allowed = ", ".join(str(c) for c in FARGATE_MEMORY_MIB_BY_CPU)
        raise ComponentInputError(
            component,
            "cpu",
            cpu,
            f"Fargate accepts CPU units {allowed} (1024 = 1 vCPU); pick one of them.",
        )
    memory_values = FARGATE_MEMORY_MIB_BY_CPU[cpu]
    if (
        isinstance(memory_mib, bool)
        or not isinstance(memory_mib, int)
        or memory_mib not in memory_values
    ):
        allowed = ", ".join(str(m) for m in memory_values)
        raise ComponentInputError(
            component,
            "memory_mib",
            memory_mib,
            f"with cpu={cpu} Fargate accepts memory_mib {allowed}; pick one of them or change cpu.",
        )
