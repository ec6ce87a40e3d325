"""Liveness (the load balancer's health check) and readiness (every dependency)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import ResourcesDep
from app.config import redact
from app.schemas import DependencyStatus, HealthResponse, ReadyResponse
from app.services import db

router = APIRouter(tags=["health"])
logger = logging.getLogger("app.ready")

_HEALTH = HealthResponse()


@router.get("/health", response_model=HealthResponse)
async def health() -> HealthResponse:
    """Liveness only: answers without touching any dependency."""
    return _HEALTH


async def _probe(
    name: str,
    backend: str,
    check: Callable[[], Awaitable[None]],
    timeout: float,
    secrets: list[str],
) -> tuple[str, DependencyStatus]:
    """Run `check`. The error it raises is reported by type name only, and logged with
    its message, from which the secret settings' values (the database user name among
    them) and anything that looks like a password or token are removed."""
    started = time.perf_counter()
    error: str | None = None
    try:
        async with asyncio.timeout(timeout):
            await check()
    except TimeoutError:
        error = "timed out"
    except Exception as exc:
        error = redact(type(exc).__name__, secrets)
        logger.warning(
            "dependency check failed",
            extra={
                "fields": {
                    "dependency": name,
                    "error": error,
                    "detail": redact(str(exc), secrets)[:300],
                }
            },
        )
    latency = round((time.perf_counter() - started) * 1000, 3)
    return name, DependencyStatus(
        ok=error is None, backend=backend, latency_ms=latency, error=error
    )


async def _not_configured(name: str, backend: str) -> tuple[str, DependencyStatus]:
    return name, DependencyStatus(ok=True, backend=backend, latency_ms=0.0, configured=False)


def _in_thread(function: Callable[[], object]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        # asyncio.to_thread is abandoned on timeout, so a hung NFS or TCP call cannot
        # hold the response past the timeout.
        await asyncio.to_thread(function)

    return run


@router.get(
    "/ready",
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse, "description": "A dependency failed"}},
)
async def ready(resources: ResourcesDep) -> JSONResponse:
    """Checks the database, cache, activity-log volume and file store, each with a short
    timeout: 200 when all respond, 503 naming those that did not. A deployed task without
    FILES_BUCKET has no file store, which is reported as not configured, not as failed."""
    timeout = resources.tuning.ready_timeout_seconds
    secrets = resources.settings.secret_values()
    files = resources.files
    if files.backend == "none":
        files_check = _not_configured("files", files.backend)
    else:
        files_check = _probe("files", files.backend, _in_thread(files.check), timeout, secrets)
    results = await asyncio.gather(
        _probe(
            "database",
            resources.database_backend,
            _in_thread(lambda: db.ping(resources.engine)),
            timeout,
            secrets,
        ),
        _probe("cache", resources.cache.backend, resources.cache.ping, timeout, secrets),
        _probe(
            "activity_log",
            "volume" if resources.settings.activity_log_dir else "local",
            _in_thread(resources.activity_log.check),
            timeout,
            secrets,
        ),
        files_check,
    )
    checks = dict(results)
    failed = sorted(name for name, status in checks.items() if not status.ok)
    body = ReadyResponse(status="not ready" if failed else "ready", failed=failed, checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=503 if failed else 200)
