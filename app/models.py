"""Database tables. Migrations in app/migrations must match these (a test compares them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


JsonDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class Event(Base):
    """One activity event; the same id is written to the activity log."""

    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    actor: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDocument, nullable=False)
    request_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)

    __table_args__ = (sa.Index("ix_events_created_at", "created_at"),)
