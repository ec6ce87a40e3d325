"""The container definition builder and its name and mount checks, without Pulumi."""

import http.server
import json
import socket
import subprocess
import sys
import threading

import pytest

from components.container_definition import (
    MountPoint,
    build_container_definition,
    check_environment_name,
    check_mount_points,
    check_no_overlap,
    check_secret_name,
    check_secret_sources,
    check_stop_timeout,
    container_definitions_json,
    health_check_command,
    merge_variables,
)
from components.errors import ComponentInputError

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:openai-AbCdEf"


def build(**overrides):
    fields = {
        "name": "web",
        "image": "repo@sha256:abc",
        "port": 8000,
        "environment": {"APP_ENV": "prod"},
        "secrets": {},
        "log_group_name": "web-logs",
        "region": "us-east-1",
        "mount_points": [],
        "stop_timeout_seconds": 30,
    }
    fields.update(overrides)
    return build_container_definition(**fields)


# -- the document --------------------------------------------------------------------------


def test_environment_sorted_with_port():
    definition = build(environment={"ZED": "1", "APP_ENV": "prod", "LOG_LEVEL": "info"})

    assert definition["environment"] == [
        {"name": "APP_ENV", "value": "prod"},
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "PORT", "value": "8000"},
        {"name": "ZED", "value": "1"},
    ]


def test_secrets_sorted_as_value_from():
    definition = build(secrets={"OPENAI_API_KEY": SECRET_ARN, "DATABASE_USER": "arn:x:username::"})

    assert definition["secrets"] == [
        {"name": "DATABASE_USER", "valueFrom": "arn:x:username::"},
        {"name": "OPENAI_API_KEY", "valueFrom": SECRET_ARN},
    ]


def test_mount_points_start_with_scratch():
    mount = MountPoint(source_volume="activity", container_path="/mnt/activity", read_only=True)

    definition = build(mount_points=[mount])

    assert definition["mountPoints"] == [
        {"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": False},
        {"sourceVolume": "activity", "containerPath": "/mnt/activity", "readOnly": True},
    ]


def test_port_in_environment_is_rejected():
    with pytest.raises(ComponentInputError, match=r"PORT is set from container_port"):
        build(environment={"PORT": "80"})


def test_same_input_gives_same_json():
    first = container_definitions_json(**_fields(environment={"B": "2", "A": "1"}))
    second = container_definitions_json(**_fields(environment={"A": "1", "B": "2"}))

    assert first == second
    assert json.loads(first)[0]["name"] == "web"


def _fields(**overrides):
    fields = {
        "name": "web",
        "image": "img",
        "port": 8000,
        "environment": {},
        "secrets": {},
        "log_group_name": "g",
        "region": "us-east-1",
        "mount_points": [],
        "stop_timeout_seconds": 30,
    }
    fields.update(overrides)
    return fields


# -- the health check command, run for real ------------------------------------------------


class _HealthHandler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        code = self.status if self.path == "/api/health" else 404
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args):
        pass


def _serve(status: int) -> tuple[http.server.HTTPServer, int]:
    handler = type("Handler", (_HealthHandler,), {"status": status})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def _run_check(port: int) -> int:
    command = health_check_command(port)
    assert command[:3] == ["CMD", "python", "-c"]
    # The image's `python`; here the interpreter running the tests.
    return subprocess.run(
        [sys.executable, "-c", command[3]], capture_output=True, timeout=10
    ).returncode


def test_health_check_passes_on_200():
    server, port = _serve(200)
    try:
        assert _run_check(port) == 0
    finally:
        server.shutdown()


def test_health_check_fails_on_500():
    server, port = _serve(500)
    try:
        assert _run_check(port) == 1
    finally:
        server.shutdown()


def test_health_check_fails_when_nothing_listens():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    assert _run_check(port) == 1


def test_health_check_requests_health_path_with_timeout():
    script = health_check_command(8000)[3]

    assert "'http://127.0.0.1:8000/api/health'" in script
    assert "timeout=2" in script


# -- name checks ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["APP_ENV", "_X", "a1", "DATABASE_HOST", "REDIS_URL"])
def test_valid_environment_names_pass(name):
    check_environment_name(name, "environment")


@pytest.mark.parametrize("name", ["1ABC", "APP-ENV", "APP ENV", "", "ÄPFEL", 5])
def test_malformed_names_are_rejected(name):
    with pytest.raises(ComponentInputError, match=r"variable names match \^\[A-Za-z_\]"):
        check_environment_name(name, "environment")
    with pytest.raises(ComponentInputError, match=r"variable names match"):
        check_secret_name(name, "secrets")


@pytest.mark.parametrize(
    "name",
    [
        "OPENAI_API_KEY",
        "api_key",
        "GITHUB_TOKEN",
        "CLIENT_SECRET",
        "DB_PASSWORD",
        "DB_PASSWD",
        "GOOGLE_CREDENTIALS",
        "PRIVATE_PEM",
        "keycloak_url",
    ],
)
def test_credential_like_names_are_rejected(name):
    with pytest.raises(ComponentInputError) as caught:
        check_environment_name(name, "environment")

    message = str(caught.value)
    assert message.startswith(f"FargateService: invalid environment={name!r}; the name contains")
    assert message.endswith("move it to `secrets` as a Secrets Manager ARN.")


@pytest.mark.parametrize("name", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
def test_static_aws_keys_are_rejected(name):
    with pytest.raises(ComponentInputError, match=r"static AWS keys are not allowed"):
        check_environment_name(name, "environment")


def test_credential_names_allowed_as_secrets():
    check_secret_name("OPENAI_API_KEY", "secrets")


@pytest.mark.parametrize("check", [check_environment_name, check_secret_name])
def test_port_name_is_reserved(check):
    with pytest.raises(ComponentInputError) as caught:
        check("PORT", "environment")

    assert str(caught.value) == (
        "FargateService: invalid environment='PORT'; PORT is set by FargateService from "
        "container_port; remove it."
    )


def test_merge_rejects_name_set_twice():
    sources = [("environment", {"A": "1"}), ("attachments['database'].environment", {"A": "2"})]

    with pytest.raises(ComponentInputError) as caught:
        merge_variables(sources)

    assert str(caught.value) == (
        "FargateService: invalid attachments['database'].environment='A'; A is also set by "
        "environment; set each variable in one place."
    )


def test_merge_keeps_every_distinct_name():
    merged = merge_variables([("environment", {"A": "1"}), ("x", {"B": "2"})])

    assert merged == {"A": "1", "B": "2"}


def test_overlap_of_environment_and_secrets_is_rejected():
    with pytest.raises(ComponentInputError, match=r"invalid environment=\['DB_USER'\]; these"):
        check_no_overlap({"DB_USER": "x", "A": "1"}, {"DB_USER": SECRET_ARN})


# -- secret sources ------------------------------------------------------------------------


def test_secret_source_with_json_key_passes():
    check_secret_sources({"DB_USER": f"{SECRET_ARN}:username::"}, [SECRET_ARN])


def test_secret_source_outside_arns_is_rejected():
    other = "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-XyZ123"

    with pytest.raises(ComponentInputError, match=r"invalid secrets\['TOKEN'\]='arn:.*other"):
        check_secret_sources({"TOKEN": other}, [SECRET_ARN])


def test_secret_source_sharing_a_prefix_is_rejected():
    # `...openai-AbCdEf2` starts with the allowed ARN but is another secret.
    with pytest.raises(ComponentInputError, match=r"add this secret's ARN there"):
        check_secret_sources({"TOKEN": f"{SECRET_ARN}2"}, [SECRET_ARN])


# -- stop timeout --------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [2, 120])
def test_stop_timeout_bounds_pass(seconds):
    check_stop_timeout(seconds)


@pytest.mark.parametrize("seconds", [1, 121, 0, True, 30.0])
def test_stop_timeout_outside_range_is_rejected(seconds):
    with pytest.raises(ComponentInputError, match=r"Fargate accepts 2 to 120 seconds"):
        check_stop_timeout(seconds)


# -- mount points --------------------------------------------------------------------------


def mount(volume="activity", path="/mnt/activity"):
    return MountPoint(source_volume=volume, container_path=path, read_only=False)


@pytest.mark.parametrize(
    ("mounts", "expected"),
    [
        ([mount(volume="bad name")], r"volume_name='bad name'; volume names are 1 to 255"),
        ([mount(volume="scratch")], r"'scratch' is reserved"),
        ([mount(), mount(path="/mnt/other")], r"volume names are unique"),
        ([mount(path="mnt/activity")], r"the container path is absolute"),
        ([mount(path="/")], r"the container path is absolute and not '/'"),
        ([mount(path="/tmp")], r"/tmp is the scratch volume"),
        ([mount(), mount(volume="other")], r"each path is mounted once"),
    ],
)
def test_bad_mount_point_is_rejected(mounts, expected):
    with pytest.raises(ComponentInputError, match=expected):
        check_mount_points(mounts)


def test_distinct_mounts_pass():
    check_mount_points([mount(), mount(volume="uploads", path="/mnt/uploads")])
