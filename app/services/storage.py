"""Files served by /api/files: an S3 bucket (FILES_BUCKET), a local directory in `local`
and `test`, or none in a deployed environment without FILES_BUCKET.

S3 is reached with boto3's default credential chain, which in ECS is the task role;
the app never reads static keys. The role needs s3:GetObject on `<prefix>*` and
s3:ListBucket on the bucket (limited to the prefix): without ListBucket, S3 answers a
missing key with 403 instead of 404, and the readiness probe lists the prefix.
"""

from __future__ import annotations

import errno
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.config import Settings, Tuning

# A key is "/"-separated segments; a segment is not empty, does not start with "." (so no
# "." or ".." and no hidden files) and has no control character or backslash. The same
# pattern, prefixed, documents the key parameter in the OpenAPI schema.
_SEGMENT = r"[^/.\\\u0000-\u001f\u007f][^/\\\u0000-\u001f\u007f]*"
_KEY = re.compile(rf"(?:{_SEGMENT}/)*{_SEGMENT}")
MAX_KEY_LENGTH = 1024
CHUNK_BYTES = 64 * 1024


class InvalidKey(ValueError):
    """The key is malformed or outside FILES_PREFIX (a 400)."""


class FileMissing(LookupError):
    """No object with that key (a 404)."""


class StorageUnavailable(RuntimeError):
    """The store did not answer as expected (a 502)."""


class StorageNotConfigured(LookupError):
    """No file store is configured, so no key exists (a 404)."""


def key_pattern(prefix: str) -> str:
    """The regular expression (Python and ECMA-262 alike) of the keys served under `prefix`."""
    return f"^{re.escape(prefix)}{_KEY.pattern}$"


def check_key(key: str, prefix: str) -> str:
    """Return `key` if it is a plain relative key under `prefix`, else raise InvalidKey."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise InvalidKey("invalid key")
    if not key.startswith(prefix):
        raise InvalidKey("key is outside the allowed prefix")
    return key


@dataclass(frozen=True)
class FileStream:
    chunks: Iterator[bytes]
    content_type: str
    length: int | None


class FileStore(Protocol):
    backend: str

    def link(self, key: str, expires_in: int) -> str: ...
    def open(self, key: str) -> FileStream: ...
    def check(self) -> None: ...


class S3Store:
    backend = "s3"

    def __init__(self, bucket: str, prefix: str, region: str | None, tuning: Tuning) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._client: Any = boto3.session.Session().client(
            "s3",
            region_name=region,
            config=Config(
                signature_version="s3v4",
                connect_timeout=tuning.ready_timeout_seconds,
                read_timeout=10,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )
        self._probe_client: Any = boto3.session.Session().client(
            "s3",
            region_name=region,
            config=Config(
                connect_timeout=tuning.ready_timeout_seconds,
                read_timeout=tuning.ready_timeout_seconds,
                retries={"max_attempts": 1},
            ),
        )

    def _head(self, key: str) -> dict[str, Any]:
        try:
            return self._client.head_object(Bucket=self.bucket, Key=key)  # type: ignore[no-any-return]
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                raise FileMissing(key) from None
            raise StorageUnavailable(f"S3 HeadObject failed: {code}") from None
        except BotoCoreError as exc:
            raise StorageUnavailable(f"S3 unreachable: {type(exc).__name__}") from None

    def link(self, key: str, expires_in: int) -> str:
        self._head(key)
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url

    def open(self, key: str) -> FileStream:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                raise FileMissing(key) from None
            raise StorageUnavailable(f"S3 GetObject failed: {code}") from None
        except BotoCoreError as exc:
            raise StorageUnavailable(f"S3 unreachable: {type(exc).__name__}") from None
        body = response["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK_BYTES)
            finally:
                body.close()

        return FileStream(
            chunks(),
            response.get("ContentType") or "application/octet-stream",
            response.get("ContentLength"),
        )

    def check(self) -> None:
        self._probe_client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)


class LocalStore:
    """A directory standing in for the bucket on a laptop. Its "presigned" link points
    back at this API, which streams the file."""

    backend = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        try:
            path = (self.root / key).resolve()
            if not path.is_relative_to(self.root.resolve()) or not path.is_file():
                raise FileMissing(key)
        except OSError as exc:
            # A segment longer than the file system allows (255 bytes on most) names no file.
            if exc.errno == errno.ENAMETOOLONG:
                raise FileMissing(key) from None
            raise StorageUnavailable(f"local file store failed: {exc.strerror}") from None
        return path

    def link(self, key: str, expires_in: int) -> str:
        self._path(key)
        return f"/api/files/{quote(key)}?download=true"

    def open(self, key: str) -> FileStream:
        path = self._path(key)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise StorageUnavailable(f"local file store failed: {exc.strerror}") from None

        def chunks() -> Iterator[bytes]:
            with path.open("rb") as handle:
                while block := handle.read(CHUNK_BYTES):
                    yield block

        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileStream(chunks(), content_type, size)

    def check(self) -> None:
        if not self.root.is_dir():
            raise OSError(f"{self.root} is not a directory")


class NoStore:
    """The store of a deployed task without FILES_BUCKET: every key is missing. It never
    falls back to a local directory, because the task's disk is ephemeral."""

    backend = "none"

    def link(self, key: str, expires_in: int) -> str:
        raise StorageNotConfigured(key)

    def open(self, key: str) -> FileStream:
        raise StorageNotConfigured(key)

    def check(self) -> None:
        """Do nothing: there is no store to reach."""


def create_store(settings: Settings, tuning: Tuning) -> FileStore:
    if settings.files_bucket is not None:
        return S3Store(settings.files_bucket, settings.files_prefix, settings.aws_region, tuning)
    if settings.files_backend == "none":
        return NoStore()
    settings.local_files_dir.mkdir(parents=True, exist_ok=True)
    return LocalStore(settings.local_files_dir)
