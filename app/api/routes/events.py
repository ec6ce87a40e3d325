"""Activity events: appended to the activity log and stored in the database."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from app.api.deps import RequestIdDep, ResourcesDep
from app.schemas import ErrorResponse, EventIn, EventList, EventOut
from app.services import db

router = APIRouter(tags=["events"])
logger = logging.getLogger("app.events")

_UNAVAILABLE = {503: {"model": ErrorResponse, "description": "Storage unavailable"}}


@router.post(
    "/events",
    status_code=status.HTTP_201_CREATED,
    response_model=EventOut,
    responses=_UNAVAILABLE,
)
def record_event(body: EventIn, resources: ResourcesDep, request_id: RequestIdDep) -> EventOut:
    """Appends the event to the activity log (flushed and fsynced), then stores it."""
    event = {
        "id": uuid.uuid4(),
        "created_at": datetime.now(UTC),
        "type": body.type,
        "actor": body.actor,
        "data": body.data,
        "request_id": request_id,
    }
    try:
        resources.activity_log.append(event)
    except OSError as exc:
        logger.error("activity log write failed", extra={"fields": {"error": type(exc).__name__}})
        raise HTTPException(503, "activity log unavailable") from None
    try:
        db.insert_event(resources.engine, event)
    except Exception as exc:
        logger.error("event insert failed", extra={"fields": {"error": type(exc).__name__}})
        raise HTTPException(503, "database unavailable") from None
    return EventOut.model_validate(event)


@router.get("/events", response_model=EventList, responses=_UNAVAILABLE)
def list_events(
    resources: ResourcesDep,
    limit: Annotated[int, Query(ge=1, le=100, description="How many, newest first")] = 20,
) -> EventList:
    """The most recent events, newest first."""
    try:
        rows = db.recent_events(resources.engine, limit)
    except Exception as exc:
        logger.error("event query failed", extra={"fields": {"error": type(exc).__name__}})
        raise HTTPException(503, "database unavailable") from None
    return EventList(events=[EventOut.model_validate(row) for row in rows])
