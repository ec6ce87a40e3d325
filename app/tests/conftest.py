"""Fixtures: real PostgreSQL and Redis servers (session-scoped, started here), a fake LLM
API, moto for S3, and app clients built from explicit settings."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from app.config import Settings, Tuning, load_settings
from app.main import create_app
from app.tests.support import FakeLLM, PostgresServer, RedisServer

BUCKET = "app-files-test"
PREFIX = "public/"
REGION = "eu-west-1"
FAST = Tuning(
    llm_timeout_seconds=1.0,
    llm_connect_timeout_seconds=0.5,
    ready_timeout_seconds=1.0,
    redis_timeout_seconds=0.5,
)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLM]:
    server = FakeLLM()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLM) -> FakeLLM:
    fake_llm_server.reset()
    return fake_llm_server


@pytest.fixture(scope="session")
def migrated_postgres(postgres: PostgresServer) -> PostgresServer:
    from app.services import db

    settings = load_settings({"APP_ENV": "test", **postgres.env()})
    engine = db.create_db_engine(settings)
    try:
        db.migrate_to_head(engine)
    finally:
        engine.dispose()
    return postgres


@pytest.fixture
def clean_postgres(migrated_postgres: PostgresServer) -> PostgresServer:
    import psycopg

    with psycopg.connect(migrated_postgres.dsn(), autocommit=True) as conn:
        conn.execute("TRUNCATE events")
    return migrated_postgres


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, so nothing could ever reach a real account."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def s3(aws_env: None) -> Iterator[object]:
    """moto's S3 with the files bucket, one object inside the prefix and one outside."""
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        client.put_object(
            Bucket=BUCKET, Key=f"{PREFIX}hello.txt", Body=b"hello from s3", ContentType="text/plain"
        )
        client.put_object(Bucket=BUCKET, Key="private/secret.txt", Body=b"no")
        yield client


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings from an explicit environment (never the process's), local dirs in tmp."""

    def build(**env: str) -> Settings:
        base = {
            "APP_ENV": "test",
            "LOCAL_DATA_DIR": str(tmp_path / "data"),
            "TMPDIR": str(tmp_path),
        }
        return load_settings({**base, **env})

    return build


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(make_settings: SettingsFactory) -> Iterator[ClientFactory]:
    """`make_client(tuning=..., **env)` -> a started TestClient (lifespan run)."""
    clients: list[TestClient] = []

    def build(tuning: Tuning = FAST, **env: str) -> TestClient:
        client = TestClient(create_app(make_settings(**env), tuning), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def integrated_env(
    clean_postgres: PostgresServer,
    redis_server: RedisServer,
    fake_llm: FakeLLM,
    s3: object,
    tmp_path: Path,
) -> dict[str, str]:
    """Every real backend: PostgreSQL, Redis, S3 (moto), EFS stand-in dir, fake LLM."""
    activity = tmp_path / "activity"
    activity.mkdir()
    return {
        **clean_postgres.env(),
        **redis_server.env(),
        **fake_llm.env(),
        "FILES_BUCKET": BUCKET,
        "FILES_PREFIX": PREFIX,
        "AWS_REGION": REGION,
        "ACTIVITY_LOG_DIR": str(activity),
        "COMMIT_SHA": "abc1234",
    }


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every app test gets a time limit, so a hung server fails the test instead of CI.
    app_tests = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(app_tests):
            item.add_marker(pytest.mark.timeout(120))


os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
