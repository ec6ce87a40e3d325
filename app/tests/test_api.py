"""The API with its laptop defaults: SQLite, in-process cache, local directories."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from app.config import Tuning
from app.tests.support import live_server


@pytest.fixture
def client(make_client):
    return make_client()


def test_health_is_ok(client):
    response = client.get("/api/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_request_id_is_returned_and_a_caller_id_kept(client):
    generated = client.get("/api/health").headers["x-request-id"]
    kept = client.get("/api/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
    assert (len(generated), kept) == (32, "abc-123")


def test_a_strange_request_id_is_replaced(client):
    response = client.get("/api/health", headers={"X-Request-ID": "x" * 300})
    assert response.headers["x-request-id"] != "x" * 300


def test_ready_lists_every_dependency(client):
    response = client.get("/api/ready")
    body = response.json()
    assert (response.status_code, body["status"], body["failed"]) == (200, "ready", [])
    assert {name: check["backend"] for name, check in body["checks"].items()} == {
        "database": "sqlite",
        "cache": "memory",
        "activity_log": "local",
        "files": "local",
    }


def test_ready_names_the_failed_dependency(make_client, tmp_path):
    client = make_client(ACTIVITY_LOG_DIR=str(tmp_path / "activity"))
    (tmp_path / "activity").mkdir()
    (tmp_path / "activity").rmdir()  # the volume went away
    response = client.get("/api/ready")
    body = response.json()
    assert (response.status_code, body["status"], body["failed"]) == (
        503,
        "not ready",
        ["activity_log"],
    )
    assert body["checks"]["activity_log"]["error"] == "OSError"


def test_event_round_trip(client):
    created = client.post(
        "/api/events", json={"type": "user.login", "actor": "ana", "data": {"ip": "10.0.0.1"}}
    )
    listed = client.get("/api/events", params={"limit": 5})
    event = created.json()
    assert (created.status_code, event["type"], event["actor"], event["data"]) == (
        201,
        "user.login",
        "ana",
        {"ip": "10.0.0.1"},
    )
    assert (listed.status_code, listed.json()["events"]) == (200, [event])


def test_events_come_back_newest_first_and_limited(client):
    for number in range(3):
        client.post("/api/events", json={"type": "n", "data": {"n": number}})
    response = client.get("/api/events", params={"limit": 2})
    assert [e["data"]["n"] for e in response.json()["events"]] == [2, 1]


def test_event_is_appended_to_the_activity_log(make_client, tmp_path):
    activity = tmp_path / "activity"
    activity.mkdir()
    client = make_client(ACTIVITY_LOG_DIR=str(activity))
    event = client.post(
        "/api/events",
        json={"type": "file.read", "data": {"k": 1}},
        headers={"X-Request-ID": "req-1"},
    ).json()
    (log_file,) = activity.glob("activity-*.jsonl")
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert lines == [
        {
            "id": event["id"],
            "created_at": lines[0]["created_at"],
            "type": "file.read",
            "actor": None,
            "data": {"k": 1},
            "request_id": "req-1",
        }
    ]


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"type": "Not Valid"}, ["body", "type"]),
        ({"type": "ok", "extra": 1}, ["body", "extra"]),
        ({"type": "ok", "data": {"x": "y" * 17000}}, ["body", "data"]),
        ({"type": "ok", "actor": ""}, ["body", "actor"]),
        ({}, ["body", "type"]),
    ],
)
def test_invalid_events_are_422(client, body, location):
    response = client.post("/api/events", json=body)
    assert (response.status_code, response.json()["detail"][0]["loc"]) == (422, location)


@pytest.mark.parametrize("limit", [0, 101, "x"])
def test_invalid_limit_is_422(client, limit):
    assert client.get("/api/events", params={"limit": limit}).status_code == 422


def test_event_write_failure_is_a_clear_503(make_client, tmp_path):
    activity = tmp_path / "activity"
    activity.mkdir()
    client = make_client(ACTIVITY_LOG_DIR=str(activity))
    activity.rmdir()
    activity.write_text("the mount is gone and a file stands in its place")
    response = client.post("/api/events", json={"type": "x"})
    assert (response.status_code, response.json()) == (503, {"detail": "activity log unavailable"})


def test_info_shows_settings_but_no_secrets(make_client):
    client = make_client(
        OPENAI_API_KEY="sk-do-not-show",
        COMMIT_SHA="c0ffee",
        AWS_REGION="eu-west-1",
        OPENAI_MODEL="gpt-x",
    )
    response = client.get("/api/info")
    assert (response.status_code, response.json()) == (
        200,
        {
            "app_env": "test",
            "aws_region": "eu-west-1",
            "commit_sha": "c0ffee",
            "llm_backend": "openai",
            "openai_model": "gpt-x",
            "ollama_model": "llama3.2",
            "database": "sqlite",
            "cache": "memory",
            "files": "local",
            "files_prefix": "",
            "activity_log": "local",
        },
    )
    assert "sk-do-not-show" not in response.text


def _local_file(tmp_path: Path, key: str, content: bytes) -> None:
    path = tmp_path / "data" / "files" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def test_local_file_link_then_download(client, tmp_path):
    _local_file(tmp_path, "docs/a.txt", b"local bytes")
    link = client.get("/api/files/docs/a.txt")
    body = link.json()
    download = client.get(body["url"])
    assert (link.status_code, body) == (
        200,
        {"key": "docs/a.txt", "url": "/api/files/docs/a.txt?download=true", "expires_in": 300},
    )
    assert (download.status_code, download.content, download.headers["content-type"]) == (
        200,
        b"local bytes",
        "text/plain; charset=utf-8",
    )


def test_missing_file_is_404(client):
    response = client.get("/api/files/nothing-here.txt")
    assert (response.status_code, response.json()) == (404, {"detail": "file not found"})


@pytest.mark.parametrize(
    "key", ["a%2F..%2F..%2Fetc%2Fpasswd", "a//b", ".%2Fa", "a/%2e%2e/b", "a%5Cb"]
)
def test_malformed_keys_are_400(client, key):
    response = client.get(f"/api/files/{key}")
    assert (response.status_code, response.json()) == (400, {"detail": "invalid key"})


def test_key_outside_prefix_is_400(make_client, tmp_path):
    client = make_client(FILES_PREFIX="public/")
    _local_file(tmp_path, "private/x.txt", b"x")
    response = client.get("/api/files/private/x.txt")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "key is outside the allowed prefix"},
    )


@pytest.fixture
def deployed_without_bucket(make_client):
    """A deployed task (APP_ENV=qa) whose stack sets no FILES_BUCKET."""
    return make_client(
        APP_ENV="qa",
        AWS_REGION="us-east-1",
        COMMIT_SHA="0123456789abcdef0123456789abcdef01234567",
        OPENAI_API_KEY="sk-test",
    )


def test_deployed_without_bucket_files_are_404(deployed_without_bucket, tmp_path):
    _local_file(tmp_path, "docs/a.txt", b"never served from the task's disk")
    for params in ({}, {"download": "true"}):
        response = deployed_without_bucket.get("/api/files/docs/a.txt", params=params)
        assert (response.status_code, response.json()) == (
            404,
            {"detail": "file storage is not configured: FILES_BUCKET is not set"},
        )


def test_deployed_without_bucket_still_checks_keys(deployed_without_bucket):
    response = deployed_without_bucket.get("/api/files/a%5Cb")
    assert (response.status_code, response.json()) == (400, {"detail": "invalid key"})


def test_deployed_without_bucket_is_ready(deployed_without_bucket):
    response = deployed_without_bucket.get("/api/ready")
    body = response.json()
    assert (response.status_code, body["status"], body["failed"]) == (200, "ready", [])
    assert body["checks"]["files"] == {
        "ok": True,
        "configured": False,
        "backend": "none",
        "latency_ms": 0.0,
        "error": None,
    }
    assert body["checks"]["database"]["configured"] is True


def test_deployed_without_bucket_info_and_disk(deployed_without_bucket, tmp_path):
    body = deployed_without_bucket.get("/api/info").json()
    assert (body["app_env"], body["files"]) == ("qa", "none")
    assert not (tmp_path / "data" / "files").exists()


def test_ask_without_api_key_is_503(client):
    response = client.post("/api/ask", json={"question": "hi"})
    assert (response.status_code, response.json()) == (
        503,
        {"detail": "LLM backend is not configured: OPENAI_API_KEY is not set"},
    )


@pytest.mark.parametrize(
    "body", [{}, {"question": ""}, {"question": "   "}, {"question": "x" * 4001}, {"question": 5}]
)
def test_invalid_questions_are_422(client, body):
    assert client.post("/api/ask", json=body).status_code == 422


def test_request_log_is_one_json_line_without_body_or_query(make_client, capsys):
    from app.log_setup import configure_logging

    configure_logging("INFO")
    try:
        client = make_client(OPENAI_API_KEY="sk-secret-in-env")
        client.post(
            "/api/events?token=hidden",
            json={"type": "x", "data": {"pii": "alice"}},
            headers={"X-Request-ID": "log-test"},
        )
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        lines = [line for line in lines if line["logger"] != "httpx"]  # the test's client
    finally:
        logging.getLogger().handlers.clear()
    (entry,) = [line for line in lines if line.get("request_id") == "log-test"]
    assert {k: entry[k] for k in ("level", "message", "method", "path", "status")} == {
        "level": "INFO",
        "message": "request",
        "method": "POST",
        "path": "/api/events",
        "status": 201,
    }
    assert isinstance(entry["duration_ms"], float)
    text = json.dumps(lines)
    assert ("alice" not in text, "hidden" not in text, "sk-secret-in-env" not in text) == (
        True,
        True,
        True,
    )


def test_unexpected_errors_are_a_json_500_without_internals(make_client, monkeypatch):
    from app.services import db

    client = make_client()

    def explode(engine, limit):
        raise ZeroDivisionError("internal detail")

    monkeypatch.setattr(db, "recent_events", explode)
    response = client.get("/api/events", headers={"X-Request-ID": "boom-1"})
    # The route turns database errors into 503; a bug outside it would be a 500:
    assert (response.status_code, response.json()) == (503, {"detail": "database unavailable"})
    monkeypatch.setattr("app.api.routes.info.InfoResponse", None)
    response = client.get("/api/info", headers={"X-Request-ID": "boom-2"})
    assert (response.status_code, response.json()) == (
        500,
        {"detail": "internal server error", "request_id": "boom-2"},
    )


TOO_LARGE = {"detail": "request body is larger than 65536 bytes"}


def test_body_over_the_limit_is_413(client):
    body = json.dumps({"type": "x", "data": {"pad": "z" * 70_000}}).encode()
    response = client.post(
        "/api/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()) == (413, TOO_LARGE)
    assert "x-request-id" in response.headers


def test_chunked_body_over_the_limit_is_413(client):
    def chunks():
        yield b'{"question": "'
        for _ in range(100):
            yield b"q" * 1024
        yield b'"}'

    response = client.post(
        "/api/ask", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert (response.status_code, response.json()) == (413, TOO_LARGE)


def test_chunked_body_under_the_limit_is_read(client):
    def chunks():
        yield b'{"type": "chunked", '
        yield b'"data": {"k": 1}}'

    response = client.post(
        "/api/events", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["data"]) == (201, {"k": 1})


def test_body_limit_over_http(make_settings):
    """Through uvicorn: a large Content-Length is answered before the body is read."""
    from app.main import create_app

    with live_server(create_app(make_settings(), Tuning())) as base:
        response = httpx.post(
            f"{base}/api/events",
            content=b"{" + b" " * (1024 * 1024) + b"}",
            headers={"Content-Type": "application/json"},
        )
    assert (response.status_code, response.json()) == (413, TOO_LARGE)


def test_validation_errors_do_not_echo_input(client):
    response = client.post("/api/events", json={"type": "Not Valid " + "v" * 1000})
    assert (response.status_code, response.json()) == (
        422,
        {
            "detail": [
                {
                    "loc": ["body", "type"],
                    "msg": "String should match pattern '^[a-z0-9][a-z0-9_.-]{0,63}$'",
                    "type": "string_pattern_mismatch",
                }
            ]
        },
    )


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_in_data_are_422(client, number):
    body = f'{{"type": "x", "data": {{"n": {number}}}}}'
    response = client.post(
        "/api/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()) == (
        422,
        {
            "detail": [
                {
                    "loc": ["body", "data"],
                    "msg": "Value error, numbers must be finite",
                    "type": "value_error",
                }
            ]
        },
    )


SURROGATE = "Value error, must be valid Unicode (no lone surrogates)"
NOT_UNICODE = "Input should be a valid string, unable to parse raw data as a unicode string"


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (
            "/api/events",
            '{"type": "x", "data": {"k": "\\ud800"}}',
            [{"loc": ["body", "data"], "msg": SURROGATE, "type": "value_error"}],
        ),
        (
            "/api/events",
            '{"type": "x", "data": {"\\ud800": 1}}',
            [{"loc": ["body", "data"], "msg": SURROGATE, "type": "value_error"}],
        ),
        (
            "/api/events",
            '{"type": "x", "actor": "\\udfff"}',
            [{"loc": ["body", "actor"], "msg": NOT_UNICODE, "type": "string_unicode"}],
        ),
        (
            "/api/events",
            '{"type": "\\ud800"}',
            [{"loc": ["body", "type"], "msg": NOT_UNICODE, "type": "string_unicode"}],
        ),
        (
            "/api/events",
            '{"type": "x", "\\ud800": 1}',
            [{"loc": ["body"], "msg": NOT_UNICODE, "type": "string_unicode"}],
        ),
        (
            "/api/ask",
            '{"question": "why \\ud800"}',
            [{"loc": ["body", "question"], "msg": NOT_UNICODE, "type": "string_unicode"}],
        ),
        (
            "/api/ask",
            '{"question": "why", "\\udc00": "x"}',
            [{"loc": ["body"], "msg": NOT_UNICODE, "type": "string_unicode"}],
        ),
    ],
)
def test_lone_surrogates_are_422(make_client, path, body, expected):
    client = make_client(OPENAI_API_KEY="sk-x")
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (422, {"detail": expected})


@pytest.mark.parametrize("key", ["a" * 300, "docs/" + "é" * 200])
def test_file_segment_too_long_for_the_disk_is_404(client, tmp_path, key):
    _local_file(tmp_path, "docs/a.txt", b"makes docs/ exist")
    response = client.get(f"/api/files/{key}")
    assert (response.status_code, response.json()) == (404, {"detail": "file not found"})


@pytest.mark.parametrize("suffix", ["%0a", "%0A", "%0d%0a", "%00"])
def test_file_key_with_trailing_control_character_is_400(client, tmp_path, suffix):
    _local_file(tmp_path, "docs/a.txt", b"local bytes")
    response = client.get(f"/api/files/docs/a.txt{suffix}")
    assert (response.status_code, response.json()) == (400, {"detail": "invalid key"})


def test_unexpected_error_500_carries_the_request_id(make_client, monkeypatch):
    client = make_client()
    monkeypatch.setattr("app.api.routes.info.InfoResponse", None)
    supplied = client.get("/api/info", headers={"X-Request-ID": "boom-3"})
    generated = client.get("/api/info")
    assert (supplied.status_code, supplied.json()) == (
        500,
        {"detail": "internal server error", "request_id": "boom-3"},
    )
    assert supplied.headers["x-request-id"] == "boom-3"
    assert generated.status_code == 500
    assert generated.headers["x-request-id"] == generated.json()["request_id"]
    assert len(generated.headers["x-request-id"]) == 32


def test_ready_failure_log_hides_secrets(make_client, tmp_path, caplog):
    from app.api.routes import health

    client = make_client(OPENAI_API_KEY="sk-hidden-key")

    def fail() -> None:
        raise OSError('open failed for user "sk-hidden-key" password=hunter2 token: abc')

    client.app.state.resources.activity_log.check = fail
    with caplog.at_level(logging.WARNING, logger=health.logger.name):
        body = client.get("/api/ready").json()
    (record,) = [r for r in caplog.records if r.getMessage() == "dependency check failed"]
    assert record.fields["detail"] == 'open failed for user "***" password=*** token: ***'
    assert (body["failed"], body["checks"]["activity_log"]["error"]) == (
        ["activity_log"],
        "OSError",
    )
