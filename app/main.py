"""The FastAPI application. `app` is what uvicorn serves; `create_app` builds one."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp

from app.api.main import api_router
from app.config import Settings, Tuning, load_settings
from app.middleware import BodySizeLimitMiddleware, RequestLogMiddleware
from app.resources import open_resources
from app.services.storage import MAX_KEY_LENGTH, key_pattern

logger = logging.getLogger("app")


class WebApp(FastAPI):
    """FastAPI with the request id and request log outside Starlette's
    ServerErrorMiddleware, which `add_middleware` cannot reach: so the 500 it sends for
    an unexpected exception carries `X-Request-ID` and is logged like any response."""

    def build_middleware_stack(self) -> ASGIApp:
        return RequestLogMiddleware(super().build_middleware_stack())


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

    app = WebApp(
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

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_errors(exc)}, status_code=422)

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

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=tuning.max_request_body_bytes)
    return app


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Return FastAPI's field errors with only `loc`, `msg` and `type`.

    The rejected `input` (and `ctx`) is left out: echoing it would send a large body
    back whole, and a NaN in it made the response unserialisable (a 500). Strings are
    escaped where they hold a lone surrogate, which UTF-8 cannot encode."""
    return [
        {
            "loc": [_printable(part) for part in error.get("loc", ())],
            "msg": _printable(str(error.get("msg", ""))),
            "type": _printable(str(error.get("type", ""))),
        }
        for error in exc.errors()
    ]


def _printable(value: object) -> object:
    if not isinstance(value, str):
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


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
