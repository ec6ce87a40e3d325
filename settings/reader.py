"""Typed reads of one stack file's values, with errors that name the file, key and value.

Every read goes through `SectionReader`, which remembers the keys it consumed, so a key
that nothing reads (a typo such as `memoryMib` for `memoryMiB`) is reported instead of
silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

_MISSING: Any = object()


class SettingsError(pulumi.RunError):
    """An invalid stack setting. Pulumi prints a `RunError` without a traceback."""


_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]*@")


def describe(value: object) -> str:
    """Render a received value for an error message, with URL credentials masked.

    Secret config keys never reach this function; a password written into a URL of a
    plain key would, so `user:password@` is shown as `***@`.
    """
    text = repr(value)
    return _URL_CREDENTIALS.sub("***@", text)


class SectionReader:
    """Reads and checks the keys of one mapping in a stack file.

    `source` is the stack file name (for example `Pulumi.prod.yaml`) and `path` the dotted
    key of the mapping (for example `webstack:service`).
    """

    def __init__(
        self, source: str, path: str, raw: Mapping[str, Any] | None, separator: str = "."
    ) -> None:
        if raw is not None and not isinstance(raw, Mapping):
            raise SettingsError(
                f"{source}: {path} must be a mapping of keys to values, got {describe(raw)}."
            )
        self.source = source
        self.path = path
        self.separator = separator
        self.raw: Mapping[str, Any] = raw or {}
        self.consumed: set[str] = set()

    def key(self, name: str) -> str:
        """The full dotted key of `name`, as the user would write it in an error search."""
        return f"{self.path}{self.separator}{name}"

    def fail(self, name: str, value: object, allowed: str) -> SettingsError:
        """Build the error for an invalid value of `name` (returned so callers `raise` it)."""
        return SettingsError(
            f"{self.source}: invalid value for {self.key(name)}: {describe(value)}. "
            f"Allowed: {allowed}."
        )

    def _get(self, name: str, default: Any) -> Any:
        self.consumed.add(name)
        if name in self.raw and self.raw[name] is None:
            # An explicit null is more likely a mistake than a request for the default.
            raise SettingsError(
                f"{self.source}: {self.key(name)} has no value (null). "
                "Set a value, or remove the key to use its default."
            )
        if name in self.raw:
            return self.raw[name]
        if default is _MISSING:
            raise SettingsError(
                f"{self.source}: missing required key {self.key(name)}. "
                f"Set it with `pulumi config set --path '{self.key(name)}' VALUE`."
            )
        return default

    def integer(
        self,
        name: str,
        default: int = _MISSING,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        allowed: Sequence[int] | None = None,
    ) -> int:
        """Read a whole number; YAML integers and decimal strings are accepted."""
        value = self._get(name, default)
        number: int | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip())
        ):
            number = int(value)
        if allowed is not None:
            if number not in allowed:
                raise self.fail(name, value, "one of " + ", ".join(str(a) for a in allowed))
            return number  # type: ignore[return-value]
        low = "" if minimum is None else f"{minimum}"
        high = "" if maximum is None else f"{maximum}"
        bounds = f"a whole number from {low or '-inf'} to {high or 'inf'}"
        if number is None:
            raise self.fail(name, value, bounds)
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise self.fail(name, value, bounds)
        return number

    def boolean(self, name: str, default: bool = _MISSING) -> bool:
        """Read `true` or `false` (the CLI stores `pulumi config set` values as strings)."""
        value = self._get(name, default)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise self.fail(name, value, "true or false")

    def string(
        self,
        name: str,
        default: str = _MISSING,
        *,
        pattern: str | None = None,
        allowed: Sequence[str] | None = None,
        hint: str = "",
    ) -> str:
        """Read a string, optionally checked against a full-match regex or a list of values."""
        value = self._get(name, default)
        if allowed is not None and isinstance(value, int | float) and not isinstance(value, bool):
            # A version such as 7.0 or 16 written without quotes arrives as a number.
            value = str(value)
        if not isinstance(value, str):
            raise self.fail(name, value, hint or "a string")
        if allowed is not None and value not in allowed:
            raise self.fail(name, value, "one of " + ", ".join(allowed))
        if pattern is not None and not re.fullmatch(pattern, value):
            raise self.fail(name, value, hint or f"a string matching {pattern}")
        return value

    def optional_string(
        self, name: str, *, pattern: str | None = None, hint: str = ""
    ) -> str | None:
        """Read a string that may be absent or empty (both give None)."""
        value = self._get(name, None)
        if value is None or value == "":
            return None
        return self.string(name, pattern=pattern, hint=hint)

    def string_list(
        self, name: str, *, item_pattern: str, hint: str, minimum: int = 0
    ) -> list[str]:
        """Read a list of strings, each matching `item_pattern`, with at least `minimum` items."""
        value = self._get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(name, value, f"a list of {hint}")
        bad = [v for v in value if not re.fullmatch(item_pattern, v)]
        if bad or len(value) < minimum:
            raise self.fail(name, value, f"a list of at least {minimum} {hint}")
        return list(value)

    def section(self, name: str) -> SectionReader:
        """A reader for a nested mapping; an absent one reads as empty (all defaults)."""
        self.consumed.add(name)
        return SectionReader(self.source, self.key(name), self.raw.get(name))

    def finish(self, elsewhere: Mapping[str, str] | None = None) -> None:
        """Reject keys that no read consumed, so a misspelt key cannot be ignored silently.

        `elsewhere` maps keys that are valid only in another mode of this mapping to that
        mode, so the message can say why such a key does not apply.
        """
        unknown = sorted(set(self.raw) - self.consumed)
        for name in unknown:
            if elsewhere and name in elsewhere:
                raise SettingsError(
                    f"{self.source}: {self.key(name)} applies only {elsewhere[name]}; "
                    "remove it here."
                )
        if unknown:
            known = ", ".join(sorted(self.consumed)) or "none"
            raise SettingsError(
                f"{self.source}: unknown key {self.key(unknown[0])}. "
                f"Allowed keys under {self.path}: {known}."
            )
