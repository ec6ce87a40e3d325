"""Retention periods that CloudWatch Logs accepts for a log group.

Source: CloudWatch Logs API reference, PutRetentionPolicy, parameter `retentionInDays`.
"""

from components.errors import ComponentInputError

# fmt: off
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)
# fmt: on
"""Every value of `retentionInDays` that CloudWatch Logs accepts, in days, ascending."""


def validate_log_retention(
    days: object, component: str, argument: str = "log_retention_days"
) -> None:
    """Raise ComponentInputError unless CloudWatch Logs accepts `days` as a retention."""
    if isinstance(days, bool) or not isinstance(days, int) or days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
        raise ComponentInputError(
            component,
            argument,
            days,
            f"CloudWatch Logs accepts only these retention periods in days: {allowed}; "
            "pick the nearest one.",
        )
