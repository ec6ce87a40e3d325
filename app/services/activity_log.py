"""The activity log: one JSON line per event, on the mounted volume (EFS in AWS)."""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class ActivityLog:
    """Appends JSON lines to `<dir>/activity-<yyyy-mm-dd>-<host>-<pid>.jsonl`.

    Each process writes its own file: NFS (EFS) does not make O_APPEND atomic between
    clients, so two tasks appending to one file could overwrite each other's lines.
    Every line is written with one write() and fsync()ed before `append` returns, so an
    event that got a 201 survives the task being killed right after.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._instance = f"{socket.gethostname()}-{os.getpid()}"
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._day = ""

    def _path_for(self, day: str) -> Path:
        return self.directory / f"activity-{day}-{self._instance}.jsonl"

    def append(self, record: dict[str, Any], now: datetime | None = None) -> None:
        line = (json.dumps(record, default=str, separators=(",", ":")) + "\n").encode()
        day = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
        with self._lock:
            if self._fd is None or day != self._day:
                self._close_locked()
                self.directory.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(
                    self._path_for(day), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640
                )
                self._day = day
            try:
                written = os.write(self._fd, line)
                if written != len(line):
                    raise OSError(f"short write to the activity log ({written} of {len(line)})")
                os.fsync(self._fd)
            except OSError:
                # Reopen next time: the mount may have come back.
                self._close_locked()
                raise

    def check(self) -> None:
        """Raise OSError unless a file can be created in the directory (a real write,
        which on EFS goes to the file system itself, not a permission-bit guess)."""
        if not self.directory.is_dir():
            raise OSError(f"{self.directory} is not a directory")
        with tempfile.NamedTemporaryFile(dir=self.directory, prefix=".ready-"):
            pass

    def _close_locked(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            finally:
                self._fd = None

    def close(self) -> None:
        with self._lock:
            self._close_locked()
