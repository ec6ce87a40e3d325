"""The FastAPI application. `app` is what uvicorn serves; `create_app` builds one."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.api.main import api_router
from app.config import Settings, Tuning, load_settings
from app.middleware import RequestLogMiddleware
from app.resources import open_resources
from app.services.storage import MAX_KEY_LENGTH, key_pattern

logger = logging.getLogger("app")


def create_app(settings: Settings | None = None, tuning: Tuning | None = None) -> FastAPI:
    """Build the app. Settings are read here, once (from the environment when not given);
    dependencies are opened when the server starts the app, and closed when it stops."""
    settings = settings if settings is not None else load_settings()
    tuning = tuning if tuning is not None else Tuning()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = open_resources(settings, tuning)
        app.state.resources = resources
        try:
            yield
        finally:
            await resources.close()
            logger.info("stopped")

    app = FastAPI(
        title="webstack app",
        version="1.0.0",
        summary="A small service that exercises the stack: database, cache, volume, "
        "bucket and LLM.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.include_router(api_router)
    _document_file_keys(app, settings.files_prefix)

    @app.exception_handler(Exception)
    async def unhandled(request: Request, exc: Exception) -> JSONResponse:
        # The traceback goes to the log (uvicorn logs it); the caller gets no internals.
        return JSONResponse(
            {
                "detail": "internal server error",
                "request_id": getattr(request.state, "request_id", None),
            },
            status_code=500,
        )

    app.add_middleware(RequestLogMiddleware)
    return app


def _document_file_keys(app: FastAPI, prefix: str) -> None:
    """Put the served keys' pattern (FILES_PREFIX included, a runtime setting) into the
    OpenAPI schema of GET /api/files/{key}. The route checks keys itself, so that a key
    outside the prefix is a 400 naming the prefix rather than a generic 422."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for parameter in schema["paths"]["/api/files/{key}"]["get"]["parameters"]:
                if parameter["name"] == "key":
                    parameter["schema"].update(
                        pattern=key_pattern(prefix), maxLength=MAX_KEY_LENGTH
                    )
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]


app = create_app()
