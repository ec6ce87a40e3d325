"""Read one value from the JSON of `pulumi stack output --json`, for the CI shell scripts.

    pulumi stack output --stack staging --json > outputs.json
    python3 -m tools.stack_outputs outputs.json clusterName
    python3 -m tools.stack_outputs outputs.json privateSubnetIds     # prints a,b (comma-joined)

A missing or empty export is an error that names the export and lists the ones present, so
a renamed export fails the step at once instead of passing an empty argument along.
Exit codes: 0 printed, 1 missing or unusable value, 2 unreadable file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SECRET_MARK = "[secret]"
"""What `pulumi stack output --json` prints for a secret value without --show-secrets."""


class OutputError(Exception):
    """The requested export is missing, empty, secret or not a string/list of strings."""


def load_outputs(path: Path) -> dict[str, Any]:
    """Parse the outputs file; raise ValueError when it is not a JSON object."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path} holds JSON {type(document).__name__}, expected an object")
    return document


def format_value(outputs: Mapping[str, Any], key: str) -> str:
    """Return the export as one shell word: strings as is, lists of strings comma-joined."""
    if key not in outputs:
        raise OutputError(f"stack output {key!r} is missing; the stack exports: "
                          f"{', '.join(sorted(outputs)) or 'nothing'}")
    value = outputs[key]
    if value == SECRET_MARK:
        raise OutputError(f"stack output {key!r} is a secret; the pipeline reads no secrets")
    if isinstance(value, list):
        if not value or not all(isinstance(item, str) and item for item in value):
            raise OutputError(f"stack output {key!r} must be a non-empty list of strings, "
                              f"got {value!r}")
        return ",".join(value)
    if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value):
        return str(value)
    raise OutputError(f"stack output {key!r} must be a non-empty string, got {value!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the requested export; return the exit code (0, 1 or 2)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python3 -m tools.stack_outputs OUTPUTS_JSON EXPORT_NAME", file=sys.stderr)
        return 2
    path, key = Path(args[0]), args[1]
    try:
        outputs = load_outputs(path)
    except (OSError, ValueError) as error:
        print(f"stack_outputs: cannot read {path}: {error}", file=sys.stderr)
        return 2
    try:
        print(format_value(outputs, key))
    except OutputError as error:
        print(f"stack_outputs: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
