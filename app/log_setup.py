"""One JSON object per line on stdout, which the awslogs driver sends to CloudWatch.

Call sites pass structured fields with `extra={"fields": {...}}`. Nothing here ever sees a
request body or a setting's secret value: the request log is written by
`app.middleware.RequestLogMiddleware` from the method, path, status and duration only.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, fields, error."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure_logging(level: str) -> None:
    """Send every logger, uvicorn's included, to stdout as JSON at `level`."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # The request log below replaces uvicorn's access log (which has no request id).
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    access.disabled = True
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # botocore logs request details, including headers, at DEBUG.
    logging.getLogger("botocore").setLevel(max(logging.INFO, root.level))
