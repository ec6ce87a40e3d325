"""Alembic environment: the URL comes from the app's settings (the same environment the
service gets), or from a connection handed over in `config.attributes` (the app does
that for its local SQLite file)."""

from __future__ import annotations

import logging
import sys

from alembic import context

from app.config import ConfigError, load_settings
from app.log_setup import configure_logging
from app.models import Base

config = context.config
target_metadata = Base.metadata


def run_with_connection(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with_connection(connection)
        return
    from app.services.db import create_db_engine

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(78) from None
    if not logging.getLogger().handlers:
        configure_logging(settings.log_level)
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            run_with_connection(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_online()
