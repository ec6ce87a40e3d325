"""Files from the configured bucket (or local directory): a presigned link or the bytes.

A deployed task without FILES_BUCKET has no file store, and every key is a 404."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import StreamingResponse
from starlette.convertors import PathConvertor, register_url_convertor

from app.api.deps import ResourcesDep
from app.schemas import ErrorResponse, FileLink
from app.services.storage import (
    FileMissing,
    InvalidKey,
    StorageNotConfigured,
    StorageUnavailable,
    check_key,
)

router = APIRouter(tags=["files"])
logger = logging.getLogger("app.files")


class FileKeyConvertor(PathConvertor):
    """Starlette's `path` convertor, but its `.` also matches newlines. With `.*`, a
    key with a trailing newline (`docs/a.txt%0A`) lost it before `check_key` saw it."""

    regex = "(?s:.*)"


register_url_convertor("file_key", FileKeyConvertor())


@router.get(
    "/files/{key:file_key}",
    response_model=FileLink,
    responses={
        200: {
            "description": "A presigned link, or the file itself with `download=true`",
            "content": {"application/octet-stream": {}},
        },
        400: {"model": ErrorResponse, "description": "Malformed key or outside FILES_PREFIX"},
        404: {
            "model": ErrorResponse,
            "description": "No such file, or no file storage is configured",
        },
        502: {"model": ErrorResponse, "description": "The file store failed"},
    },
)
def get_file(
    key: str,
    resources: ResourcesDep,
    download: Annotated[bool, Query(description="Stream the bytes instead of a link")] = False,
) -> FileLink | StreamingResponse:
    """A short-lived presigned URL for `key`, or the object streamed with `download=true`."""
    try:
        check_key(key, resources.settings.files_prefix)
    except InvalidKey as exc:
        raise HTTPException(400, str(exc)) from None
    store = resources.files
    try:
        if download:
            stream = store.open(key)
            headers = {"Content-Length": str(stream.length)} if stream.length is not None else {}
            return StreamingResponse(stream.chunks, media_type=stream.content_type, headers=headers)
        expires_in = resources.tuning.presign_expiry_seconds
        return FileLink(key=key, url=store.link(key, expires_in), expires_in=expires_in)
    except FileMissing:
        raise HTTPException(404, "file not found") from None
    except StorageNotConfigured:
        raise HTTPException(
            404, "file storage is not configured: FILES_BUCKET is not set"
        ) from None
    except StorageUnavailable as exc:
        logger.error("file store failed", extra={"fields": {"error": str(exc)}})
        raise HTTPException(502, "file storage unavailable") from None
