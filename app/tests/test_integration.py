"""The app against real PostgreSQL and Redis servers and moto's S3: what runs in AWS."""

from __future__ import annotations

import urllib.parse
import uuid

import psycopg
import pytest
import requests

from app.tests.conftest import BUCKET, PREFIX

pytestmark = pytest.mark.integration


@pytest.fixture
def client(make_client, integrated_env):
    return make_client(**integrated_env)


def test_ready_with_every_real_backend(client):
    response = client.get("/api/ready")
    body = response.json()
    assert (response.status_code, body["failed"]) == (200, [])
    assert {name: check["backend"] for name, check in body["checks"].items()} == {
        "database": "postgresql",
        "cache": "redis",
        "activity_log": "volume",
        "files": "s3",
    }


def test_info_names_the_real_backends(client):
    body = client.get("/api/info").json()
    assert {
        k: body[k]
        for k in (
            "database",
            "cache",
            "files",
            "activity_log",
            "files_prefix",
            "aws_region",
            "commit_sha",
        )
    } == {
        "database": "postgresql",
        "cache": "redis",
        "files": "s3",
        "activity_log": "volume",
        "files_prefix": PREFIX,
        "aws_region": "eu-west-1",
        "commit_sha": "abc1234",
    }


def test_events_are_stored_in_postgresql(client, clean_postgres):
    created = client.post(
        "/api/events",
        json={"type": "order.paid", "actor": "bo", "data": {"amount": 12.5, "tags": ["a"]}},
    ).json()
    with psycopg.connect(clean_postgres.dsn()) as conn:
        row = conn.execute("SELECT id::text, type, actor, data, request_id FROM events").fetchone()
    listed = client.get("/api/events").json()["events"]
    assert row == (
        created["id"],
        "order.paid",
        "bo",
        {"amount": 12.5, "tags": ["a"]},
        created["request_id"],
    )
    assert listed == [created]


def test_database_down_is_503_and_named_by_ready(make_client, integrated_env):
    from app.tests.support import free_port

    client = make_client(**{**integrated_env, "DATABASE_PORT": str(free_port())})
    created = client.post("/api/events", json={"type": "x"})
    ready = client.get("/api/ready").json()
    assert (created.status_code, created.json()) == (503, {"detail": "database unavailable"})
    assert ready["failed"] == ["database"]


def test_cache_down_is_named_by_ready(make_client, integrated_env):
    from app.tests.support import free_port

    client = make_client(**{**integrated_env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    response = client.get("/api/ready")
    assert (response.status_code, response.json()["failed"]) == (503, ["cache"])


def test_presigned_link_for_a_file_in_the_prefix(client):
    response = client.get(f"/api/files/{PREFIX}hello.txt")
    body = response.json()
    url = urllib.parse.urlsplit(body["url"])
    query = urllib.parse.parse_qs(url.query)
    assert (response.status_code, body["key"], body["expires_in"]) == (
        200,
        f"{PREFIX}hello.txt",
        300,
    )
    assert (
        BUCKET in url.netloc + url.path,
        url.path.endswith("/public/hello.txt"),
        query["X-Amz-Expires"],
        query["X-Amz-Algorithm"],
    ) == (True, True, ["300"], ["AWS4-HMAC-SHA256"])
    assert requests.get(body["url"], timeout=5).content == b"hello from s3"


def test_streamed_file(client):
    response = client.get(f"/api/files/{PREFIX}hello.txt", params={"download": "true"})
    assert (response.status_code, response.content, response.headers["content-type"]) == (
        200,
        b"hello from s3",
        "text/plain; charset=utf-8",
    )


def test_missing_object_is_404(client):
    for params in ({}, {"download": "true"}):
        response = client.get(f"/api/files/{PREFIX}absent.txt", params=params)
        assert (response.status_code, response.json()) == (404, {"detail": "file not found"})


def test_object_outside_the_prefix_is_400(client):
    response = client.get("/api/files/private/secret.txt")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "key is outside the allowed prefix"},
    )


def test_missing_bucket_is_502_and_named_by_ready(make_client, integrated_env):
    client = make_client(**{**integrated_env, "FILES_BUCKET": "no-such-bucket"})
    response = client.get(f"/api/files/{PREFIX}hello.txt")
    ready = client.get("/api/ready").json()
    assert (response.status_code, response.json()) == (502, {"detail": "file storage unavailable"})
    assert ready["failed"] == ["files"]


def test_ask_uses_redis_and_the_fake_llm(client, fake_llm):
    question = f"integration {uuid.uuid4()}?"
    first = client.post("/api/ask", json={"question": question}).json()
    second = client.post("/api/ask", json={"question": question}).json()
    assert (first["cached"], second["cached"], len(fake_llm.calls)) == (False, True, 1)
