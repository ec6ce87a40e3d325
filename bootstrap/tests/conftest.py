"""Fixtures for the bootstrap tests: recording Pulumi mocks and the example stack's config."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from tools.mock_runtime import RecordingMocks, install

BOOTSTRAP_DIR = Path(__file__).resolve().parents[1]
EXAMPLE_STACK_FILE = BOOTSTRAP_DIR / "Pulumi.example.yaml"


@pytest.fixture(autouse=True)
def pulumi_event_loop() -> Iterator[None]:
    """Give Pulumi's synchronous helpers an open event loop in the main thread.

    An earlier test that ran `asyncio.run` (the app's async tests do) leaves the main thread
    without a current loop, and Pulumi's `_sync_await` then raises "There is no current
    event loop".
    """
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if loop.is_closed():
            raise RuntimeError("closed")
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
    yield


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
