"""CloudWatch Logs retention values: the accepted table and its check."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.errors import ComponentInputError
from components.log_retention import LOG_RETENTION_DAYS, validate_log_retention


def test_table_matches_put_retention_policy():
    assert LOG_RETENTION_DAYS == (
        1,
        3,
        5,
        7,
        14,
        30,
        60,
        90,
        120,
        150,
        180,
        365,
        400,
        545,
        731,
        1096,
        1827,
        2192,
        2557,
        2922,
        3288,
        3653,
    )


@pytest.mark.parametrize("days", [1, 30, 3653])
def test_listed_values_pass(days):
    validate_log_retention(days, "FargateService")


@pytest.mark.parametrize("days", [0, 2, 31, 3654, -1, True, 30.0, "30"])
def test_other_values_are_rejected(days):
    with pytest.raises(ComponentInputError, match=r"CloudWatch Logs accepts only these"):
        validate_log_retention(days, "FargateService")


def test_message_lists_values_and_fix():
    with pytest.raises(ComponentInputError) as caught:
        validate_log_retention(10, "FargateService")

    assert str(caught.value) == (
        "FargateService: invalid log_retention_days=10; CloudWatch Logs accepts only these "
        "retention periods in days: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, "
        "731, 1096, 1827, 2192, 2557, 2922, 3288, 3653; pick the nearest one."
    )


@given(st.integers(-100, 5000))
def test_accepted_exactly_when_listed(days):
    if days in LOG_RETENTION_DAYS:
        validate_log_retention(days, "FargateService")
    else:
        with pytest.raises(ComponentInputError):
            validate_log_retention(days, "FargateService")
