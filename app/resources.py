"""What the routes use, opened once when the app starts and closed when it stops."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from app.config import Settings, Tuning
from app.services import db
from app.services.activity_log import ActivityLog
from app.services.cache import AnswerCache, create_cache
from app.services.llm import AskService, LLMClient
from app.services.storage import FileStore, create_store

logger = logging.getLogger("app")


@dataclass
class Resources:
    settings: Settings
    tuning: Tuning
    engine: Engine
    cache: AnswerCache
    activity_log: ActivityLog
    files: FileStore
    llm: LLMClient
    asker: AskService

    @property
    def database_backend(self) -> str:
        return "postgresql" if self.settings.uses_postgres else "sqlite"

    async def close(self) -> None:
        await self.llm.close()
        await self.cache.close()
        self.activity_log.close()
        self.engine.dispose()


def open_resources(settings: Settings, tuning: Tuning) -> Resources:
    """Open every dependency. PostgreSQL is migrated by the pipeline (`alembic upgrade
    head` as a one-off task); the local SQLite file is migrated here."""
    engine = db.create_db_engine(settings, tuning)
    if not settings.uses_postgres:
        db.migrate_to_head(engine)
    activity_log = ActivityLog(settings.activity_dir)
    if settings.activity_log_dir is None:
        settings.activity_dir.mkdir(parents=True, exist_ok=True)
    cache = create_cache(settings, tuning)
    llm = LLMClient(settings, tuning)
    resources = Resources(
        settings=settings,
        tuning=tuning,
        engine=engine,
        cache=cache,
        activity_log=activity_log,
        files=create_store(settings, tuning),
        llm=llm,
        asker=AskService(llm, cache, tuning),
    )
    logger.info(
        "started",
        extra={
            "fields": {
                "app_env": settings.app_env,
                "commit_sha": settings.commit_sha,
                "database": resources.database_backend,
                "cache": cache.backend,
                "files": resources.files.backend,
                "llm_backend": llm.backend,
                "llm_model": llm.model,
                "activity_log_dir": str(settings.activity_dir),
            }
        },
    )
    return resources
