"""Request and response bodies of the API."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_EVENT_DATA_BYTES = 16 * 1024


class ErrorResponse(BaseModel):
    detail: str


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class DependencyStatus(BaseModel):
    ok: bool
    backend: str
    latency_ms: float
    error: str | None = None


class ReadyResponse(BaseModel):
    status: Literal["ready", "not ready"]
    failed: list[str]
    checks: dict[str, DependencyStatus]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    """What happened, e.g. `user.login`: lower-case letters, digits, `_`, `.`, `-`."""
    actor: Annotated[str | None, Field(min_length=1, max_length=128)] = None
    """Who did it, if known."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Free-form details: a JSON object of at most 16 KiB."""

    @field_validator("data")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, separators=(",", ":"))) > MAX_EVENT_DATA_BYTES:
            raise ValueError(f"must be at most {MAX_EVENT_DATA_BYTES} bytes as JSON")
        return value


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    type: str
    actor: str | None
    data: dict[str, Any]
    request_id: str | None


class EventList(BaseModel):
    events: list[EventOut]


class FileLink(BaseModel):
    key: str
    url: str
    expires_in: int
    """Seconds the URL stays valid."""


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Annotated[str, Field(min_length=1, max_length=4000)]

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class AskOut(BaseModel):
    answer: str
    backend: Literal["openai", "ollama"]
    model: str
    cached: bool


class InfoResponse(BaseModel):
    app_env: str
    aws_region: str | None
    commit_sha: str | None
    llm_backend: Literal["openai", "ollama"]
    openai_model: str
    ollama_model: str
    database: Literal["postgresql", "sqlite"]
    cache: Literal["redis", "memory"]
    files: Literal["s3", "local"]
    files_prefix: str
    activity_log: Literal["volume", "local"]
