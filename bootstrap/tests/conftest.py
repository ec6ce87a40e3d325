"""Fixtures for the bootstrap tests: recording Pulumi mocks and the example stack's config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from tools.mock_runtime import RecordingMocks, install

BOOTSTRAP_DIR = Path(__file__).resolve().parents[1]
EXAMPLE_STACK_FILE = BOOTSTRAP_DIR / "Pulumi.example.yaml"


@pytest.fixture
def bootstrap_mocks() -> RecordingMocks:
    """Install recording mocks (deploy mode, us-east-1) for the webstack-bootstrap project."""
    mocks = RecordingMocks(region="us-east-1")
    pulumi.runtime.set_all_config({"aws:region": "us-east-1"})
    install(mocks, project="webstack-bootstrap", stack="example")
    return mocks


@pytest.fixture
def example_config() -> dict[str, Any]:
    """The example stack file's `webstack-bootstrap:*` values, keys without the namespace."""
    config = yaml.safe_load(EXAMPLE_STACK_FILE.read_text())["config"]
    prefix = "webstack-bootstrap:"
    return {key[len(prefix):]: value for key, value in config.items() if key.startswith(prefix)}
