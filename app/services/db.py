"""The events database: PostgreSQL when DATABASE_HOST is set, else a local SQLite file."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from app.config import Settings, Tuning
from app.models import Event

EVENTS = Event.__table__

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def database_url(settings: Settings, tuning: Tuning | None = None) -> URL:
    """The SQLAlchemy URL for the configured database (credentials included: never log it)."""
    tuning = tuning or Tuning()
    if not settings.uses_postgres:
        return URL.create("sqlite+pysqlite", database=str(settings.sqlite_path))
    query = {
        "sslmode": settings.database_sslmode,
        "connect_timeout": str(tuning.db_connect_timeout_seconds),
        "application_name": "webstack-app",
    }
    if settings.database_sslmode in ("verify-ca", "verify-full"):
        query["sslrootcert"] = str(settings.database_sslrootcert)
    assert settings.database_user is not None and settings.database_password is not None
    return URL.create(
        "postgresql+psycopg",
        username=settings.database_user.get_secret_value(),
        password=settings.database_password.get_secret_value(),
        host=settings.database_host,
        port=settings.database_port,
        database=settings.database_name,
        query=query,
    )


def create_db_engine(settings: Settings, tuning: Tuning | None = None) -> Engine:
    """An engine with a small pool; statement parameters are kept out of error messages,
    because they hold request data that must not reach the logs."""
    tuning = tuning or Tuning()
    url = database_url(settings, tuning)
    if not settings.uses_postgres:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, hide_parameters=True, connect_args={"timeout": 5, "check_same_thread": False}
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        return engine
    return sa.create_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=tuning.db_pool_size,
        max_overflow=tuning.db_pool_size,
        pool_timeout=tuning.db_connect_timeout_seconds,
        pool_recycle=1800,
        # A statement that runs this long is a bug or a lock: fail the request instead.
        connect_args={"options": "-c statement_timeout=5000"},
    )


def migrate_to_head(engine: Engine) -> None:
    """Run `alembic upgrade head` on `engine` (used for the local SQLite file only; in AWS
    the pipeline runs the same command as a one-off task before deploying)."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(ALEMBIC_INI))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


def insert_event(engine: Engine, event: dict[str, Any]) -> None:
    """Insert one row of `events` (keys: the table's columns)."""
    with engine.begin() as connection:
        connection.execute(sa.insert(EVENTS).values(**event))


def recent_events(engine: Engine, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` events, newest first, with timezone-aware times (SQLite keeps
    them naive, in UTC as written)."""
    query = sa.select(EVENTS).order_by(EVENTS.c.created_at.desc()).limit(limit)
    with engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(query).mappings()]
    for row in rows:
        if row["created_at"].tzinfo is None:
            row["created_at"] = row["created_at"].replace(tzinfo=UTC)
    return rows
