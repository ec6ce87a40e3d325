"""Request and response bodies of the API."""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_EVENT_DATA_BYTES = 16 * 1024
MAX_EVENT_DATA_DEPTH = 32
NO_NUL = r"^[^\u0000]*$"
"""PostgreSQL text cannot hold NUL; saying so in the schema tells clients up front."""
SOME_TEXT = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
"""Not blank, and no NUL."""


def storable(value: Any, depth: int = 0) -> Any:
    """Reject what JSON parsing lets through but PostgreSQL, Redis keys or UTF-8 cannot
    hold: NUL characters, lone surrogates, NaN/Infinity, and very deep nesting."""
    if depth > MAX_EVENT_DATA_DEPTH:
        raise ValueError(f"must not nest deeper than {MAX_EVENT_DATA_DEPTH} levels")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode (no lone surrogates)") from None
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key, depth + 1)
            storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            storable(item, depth + 1)
    return value


class ErrorResponse(BaseModel):
    detail: str


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class DependencyStatus(BaseModel):
    ok: bool
    backend: str
    latency_ms: float
    error: str | None = None
    configured: bool = True
    """False for a dependency the settings leave out, which is not checked and not failed."""


class ReadyResponse(BaseModel):
    status: Literal["ready", "not ready"]
    failed: list[str]
    checks: dict[str, DependencyStatus]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    """What happened, e.g. `user.login`: lower-case letters, digits, `_`, `.`, `-`."""
    actor: Annotated[str | None, Field(min_length=1, max_length=128, pattern=NO_NUL)] = None
    """Who did it, if known."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Free-form details: a JSON object of at most 16 KiB."""

    @field_validator("actor")
    @classmethod
    def _storable_actor(cls, value: str | None) -> str | None:
        return storable(value)  # type: ignore[no-any-return]

    @field_validator("data")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        storable(value)
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

    question: Annotated[str, Field(min_length=1, max_length=4000, pattern=SOME_TEXT)]

    @field_validator("question")
    @classmethod
    def _storable(cls, value: str) -> str:
        return storable(value)  # type: ignore[no-any-return]


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
    files: Literal["s3", "local", "none"]
    files_prefix: str
    activity_log: Literal["volume", "local"]
