"""Fixtures for the Pulumi unit tests: a fresh recording mock runtime per test."""

import pulumi
import pytest

from tools.mock_runtime import RecordingMocks, install


@pytest.fixture
def pulumi_mocks() -> RecordingMocks:
    """Install recording mocks (deploy mode, region us-east-1) and return them.

    Declare resources with `tools.mock_runtime.run(lambda: ...)`, then query the mocks with
    `find(type, name)`; every registration has finished when `run` returns.
    """
    mocks = RecordingMocks(region="us-east-1")
    pulumi.runtime.set_all_config({"aws:region": "us-east-1"})
    install(mocks, project="webstack", stack="test")
    return mocks
