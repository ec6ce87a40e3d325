"""Read the value of an Output after `tools.mock_runtime.run` has returned."""

from typing import Any

import pulumi
from pulumi.runtime.sync_await import _sync_await


def resolve(value: pulumi.Input[Any]) -> Any:
    """Return the resolved value of an Output, or a plain value unchanged.

    Nested Outputs inside lists and dicts are resolved too, as `Output.from_input` does.
    """
    return _sync_await(pulumi.Output.from_input(value).future())
