"""Read resource properties the same way whether they come from the engine or the mock runtime.

A real `pulumi preview` hands the policy pack read-only proxies (`Mapping` and `Sequence`
subclasses) whose secrets are already unwrapped. The offline plan hands the rules plain dicts
from `tools.mock_runtime.Recorded.inputs`, where numbers are floats and secrets are still
wrapped in Pulumi's secret signature. The helpers here accept both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

# The signature Pulumi's wire format puts on a secret value (`pulumi.runtime.rpc`).
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"

UNKNOWN_SENTINELS = frozenset({
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UNKNOWN_ARCHIVE_VALUE,
})
"""Strings the engine sends for values that are known only after deployment."""


class Unknown:
    """A value known only after deployment (shown by `pulumi preview` as `output<T>`)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


def is_unknown(value: Any) -> bool:
    """Tell whether `value` is known only after deployment."""
    return value is UNKNOWN or (isinstance(value, str) and value in UNKNOWN_SENTINELS)


def is_wrapped_secret(value: Any) -> bool:
    """Tell whether `value` is the wire-format secret wrapper the mock runtime records."""
    return isinstance(value, Mapping) and value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE


def to_plain(value: Any) -> Any:
    """Copy `value` into plain dicts and lists, unwrapping secrets and marking unknowns.

    Accepts the policy SDK's proxies (read through their `__target`, so reading an unknown
    value does not raise) and the mock runtime's recorded inputs. Unknown values become
    `UNKNOWN`; integral floats stay floats (the rules compare numbers, not types).
    """
    if isinstance(value, Mapping):
        target = _proxy_target(value)
        if target is not None:
            return to_plain(target)
        if is_wrapped_secret(value):
            return to_plain(value.get("value"))
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        target = _proxy_target(value)
        if target is not None:
            return to_plain(target)
        return [to_plain(item) for item in value]
    if type(value).__name__ == "Secret" and hasattr(value, "value"):
        return to_plain(value.value)
    if is_unknown(value):
        return UNKNOWN
    return value


def _proxy_target(value: Mapping[str, Any] | Sequence[Any]) -> Any:
    """Return the wrapped object of a policy SDK proxy, or None for a plain container."""
    if type(value).__module__.startswith("pulumi_policy."):
        try:
            return value["__target"]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None
    return None


def get_mapping(props: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """Return `props[key]` if it is a mapping, else an empty mapping."""
    value = props.get(key)
    if isinstance(value, Mapping) and not is_wrapped_secret(value):
        return value
    return {}


def get_list(props: Mapping[str, Any], key: str) -> list[Any]:
    """Return `props[key]` as a list (a missing or scalar value gives an empty list)."""
    value = props.get(key)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return []


def is_true(value: Any) -> bool:
    """Tell whether a property is the boolean true (the string "true" counts too)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value: Any) -> bool:
    """Tell whether a property is explicitly the boolean false (the string "false" counts too)."""
    return value is False or (isinstance(value, str) and value.lower() == "false")


def as_number(value: Any) -> float | None:
    """Return a numeric property as a float (the engine sends numbers as floats), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def parse_json_document(value: Any) -> Any:
    """Parse a JSON document property (IAM policies, container definitions).

    Returns the parsed value, the value itself when it is already a mapping or list, or None
    when it is missing or not valid JSON (a rule then reports the document as unreadable).
    """
    if is_wrapped_secret(value):
        value = value.get("value")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    if isinstance(value, Mapping | Sequence) and not isinstance(value, bytes):
        return to_plain(value)
    return None
