"""The web container's definition, built from plain values by pure functions.

FargateService resolves its Outputs with `Output.all(...).apply(...)` and passes the plain
values here, so the JSON document can be tested without a Pulumi runtime. The checks on
variable names and mounts run before any resource is declared.
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from components.errors import ComponentInputError

COMPONENT = "FargateService"

HEALTH_CHECK_PATH = "/api/health"
"""Path the container health check requests; the app serves it without authentication."""

SCRATCH_VOLUME = "scratch"
"""Task volume mounted writable at `/tmp`, because the root filesystem is read-only."""
SCRATCH_PATH = "/tmp"

CONTAINER_USER = "10001:10001"
"""UID:GID the container runs as; the image creates this user."""

RESERVED_NAMES = frozenset({"PORT"})
"""Variables FargateService sets itself: `PORT` is always the container port."""

CREDENTIAL_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE")
"""Parts of a variable name (any case) that mark it as a credential, which belongs in `secrets`."""

AWS_STATIC_KEY_NAMES = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"})
"""Static AWS keys, which the task never needs because its task role supplies credentials."""

STOP_TIMEOUT_RANGE = (2, 120)
"""Seconds ECS waits after SIGTERM before SIGKILL; Fargate accepts at most 120."""

_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VOLUME_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class MountPoint:
    """A task volume mounted into the container."""

    source_volume: str
    container_path: str
    read_only: bool


# -- checks on names -----------------------------------------------------------------------


def merge_variables(
    sources: Sequence[tuple[str, Mapping[str, T]]], component: str = COMPONENT
) -> dict[str, T]:
    """Merge `(argument, variables)` pairs into one mapping.

    A name set twice raises ComponentInputError. `argument` names where the variables come
    from, such as `environment` or `attachments['database'].secrets`, so the message can
    point at both places.
    """
    merged: dict[str, T] = {}
    origin: dict[str, str] = {}
    for argument, variables in sources:
        for name, value in variables.items():
            if name in merged:
                raise ComponentInputError(
                    component,
                    argument,
                    name,
                    f"{name} is also set by {origin[name]}; set each variable in one place.",
                )
            merged[name] = value
            origin[name] = argument
    return merged


def _check_name(name: object, argument: str, component: str) -> str:
    if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
        raise ComponentInputError(
            component,
            argument,
            name,
            "variable names match ^[A-Za-z_][A-Za-z0-9_]*$ (letters, digits, '_', "
            "not starting with a digit); rename it.",
        )
    if name in RESERVED_NAMES:
        raise ComponentInputError(
            component,
            argument,
            name,
            f"{name} is set by FargateService from container_port; remove it.",
        )
    return name


def check_environment_name(name: object, argument: str, component: str = COMPONENT) -> None:
    """Raise ComponentInputError unless `name` is a valid plain (non-secret) variable name."""
    name = _check_name(name, argument, component)
    if name in AWS_STATIC_KEY_NAMES:
        raise ComponentInputError(
            component,
            argument,
            name,
            "static AWS keys are not allowed because the task role supplies AWS credentials; "
            "remove it, and grant the access through the task role.",
        )
    upper = name.upper()
    words = [word for word in CREDENTIAL_WORDS if word in upper]
    if words:
        raise ComponentInputError(
            component,
            argument,
            name,
            f"the name contains {', '.join(words)}, so it looks like a credential, and plain "
            "environment values are readable by anyone who can describe the task definition; "
            "move it to `secrets` as a Secrets Manager ARN.",
        )


def check_secret_name(name: object, argument: str, component: str = COMPONENT) -> None:
    """Raise ComponentInputError unless `name` is a valid name for a secret variable."""
    _check_name(name, argument, component)


def check_no_overlap(
    environment: Mapping[str, object], secrets: Mapping[str, object], component: str = COMPONENT
) -> None:
    """Raise ComponentInputError if a name is both a plain variable and a secret."""
    both = sorted(set(environment) & set(secrets))
    if both:
        raise ComponentInputError(
            component,
            "environment",
            both,
            "these names are also in secrets; ECS rejects a name set twice, so keep each "
            "one in secrets only.",
        )


def check_secret_sources(
    secrets: Mapping[str, str], secret_arns: Sequence[str], component: str = COMPONENT
) -> None:
    """Raise ComponentInputError if a secret's `valueFrom` is not among `secret_arns`.

    The execution role may read only `secret_arns`, so any other source would fail when
    ECS starts the task. A value may add a JSON key to an ARN (`ARN:username::`).
    """
    for name, value_from in sorted(secrets.items()):
        if not any(value_from == arn or value_from.startswith(f"{arn}:") for arn in secret_arns):
            raise ComponentInputError(
                component,
                f"secrets[{name!r}]",
                value_from,
                "the execution role may read only the ARNs in secret_arns and in each "
                "attachment's secret_arns; add this secret's ARN there.",
            )


def check_stop_timeout(seconds: object, component: str = COMPONENT) -> None:
    """Raise ComponentInputError unless `seconds` is within what Fargate accepts."""
    low, high = STOP_TIMEOUT_RANGE
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not low <= seconds <= high:
        raise ComponentInputError(
            component,
            "stop_timeout_seconds",
            seconds,
            f"Fargate accepts {low} to {high} seconds; pick a value in that range.",
        )


def check_mount_points(mount_points: Sequence[MountPoint], component: str = COMPONENT) -> None:
    """Raise ComponentInputError on a bad volume name or path, or one used twice.

    The scratch volume and its path `/tmp` are reserved, and each path must be absolute.
    """
    volumes = {SCRATCH_VOLUME}
    paths = {SCRATCH_PATH}
    for mount in mount_points:
        argument = f"efs_mounts[{mount.source_volume!r}]"
        if not _VOLUME_NAME.match(mount.source_volume):
            raise ComponentInputError(
                component,
                f"{argument}.volume_name",
                mount.source_volume,
                "volume names are 1 to 255 letters, digits, '_' or '-'; rename it.",
            )
        if mount.source_volume in volumes:
            raise ComponentInputError(
                component,
                f"{argument}.volume_name",
                mount.source_volume,
                f"volume names are unique within the task and {SCRATCH_VOLUME!r} is "
                "reserved; rename it.",
            )
        if not mount.container_path.startswith("/") or mount.container_path.rstrip("/") == "":
            raise ComponentInputError(
                component,
                f"{argument}.container_path",
                mount.container_path,
                "the container path is absolute and not '/', for example '/mnt/activity'.",
            )
        if mount.container_path in paths:
            raise ComponentInputError(
                component,
                f"{argument}.container_path",
                mount.container_path,
                f"each path is mounted once and {SCRATCH_PATH} is the scratch volume; "
                "pick another path.",
            )
        volumes.add(mount.source_volume)
        paths.add(mount.container_path)


# -- the document --------------------------------------------------------------------------


def health_check_command(port: int) -> list[str]:
    """Return the container health check command: an HTTP GET of the app's health path.

    `urlopen` raises on a connection error, a timeout and any status of 400 or more, and
    Python exits with status 1 on an uncaught exception, which marks the check failed.
    The image needs no curl for this.
    """
    url = f"http://127.0.0.1:{port}{HEALTH_CHECK_PATH}"
    script = f"import urllib.request; urllib.request.urlopen('{url}', timeout=2)"
    return ["CMD", "python", "-c", script]


def build_container_definition(
    *,
    name: str,
    image: str,
    port: int,
    environment: Mapping[str, str],
    secrets: Mapping[str, str],
    log_group_name: str,
    region: str,
    mount_points: Sequence[MountPoint],
    stop_timeout_seconds: int,
) -> dict[str, Any]:
    """Return the ECS container definition of the web container as a plain dict.

    `PORT` is added to `environment` here. Variables are sorted by name, so an unchanged
    input gives an unchanged document and no new task definition revision.
    """
    if "PORT" in environment:
        raise ComponentInputError(
            COMPONENT, "environment", "PORT", "PORT is set from container_port; remove it."
        )
    variables = {**environment, "PORT": str(port)}
    scratch = MountPoint(source_volume=SCRATCH_VOLUME, container_path=SCRATCH_PATH, read_only=False)
    return {
        "name": name,
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": port, "protocol": "tcp"}],
        "user": CONTAINER_USER,
        "readonlyRootFilesystem": True,
        "privileged": False,
        "mountPoints": [
            {
                "sourceVolume": mount.source_volume,
                "containerPath": mount.container_path,
                "readOnly": mount.read_only,
            }
            for mount in [scratch, *mount_points]
        ],
        "environment": [{"name": k, "value": variables[k]} for k in sorted(variables)],
        "secrets": [{"name": k, "valueFrom": secrets[k]} for k in sorted(secrets)],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group_name,
                "awslogs-region": region,
                # Streams are named <prefix>/<container>/<task id>, so `web/web/<task id>`.
                "awslogs-stream-prefix": name,
            },
        },
        "healthCheck": {
            "command": health_check_command(port),
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 30,
        },
        "stopTimeout": stop_timeout_seconds,
        # An init process reaps zombies and forwards SIGTERM to the app.
        "linuxParameters": {"initProcessEnabled": True},
    }


def container_definitions_json(**fields: Any) -> str:
    """Return the task definition's `containerDefinitions` JSON with one web container.

    Takes the keyword arguments of `build_container_definition`.
    """
    return json.dumps([build_container_definition(**fields)])
