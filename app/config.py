"""Settings: read once from the environment at start, validated, then passed around.

The environment variable of each field is its name in upper case (`aws_region` ->
`AWS_REGION`). Three groups:

- plain settings the task definition injects (`PORT`, `APP_ENV`, ...);
- secrets the task definition injects from Secrets Manager, typed `SecretStr` so they are
  never printed, logged or returned (`OPENAI_API_KEY`, `DATABASE_USER`, ...);
- local-only settings, named `LOCAL_*`, that the infrastructure never injects: they only
  matter on a laptop or in tests.

`declared_environment()` reads the first two groups off the model, so the infrastructure
test that compares them with the task definition cannot drift from this file.

Tuning constants that no deployment needs to change (timeouts, TTLs) are not settings:
they live in `Tuning`, which tests may replace.
"""

from __future__ import annotations

import re
import tempfile
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_PREFIX = "LOCAL_"
"""Env names with this prefix are local-only and left out of `declared_environment()`."""

APP_ENV_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,39}")
"""Valid APP_ENV values (matched whole): the Pulumi stack name, such as `qa` or `prod-eu`."""

LOCAL_ENVS = frozenset({"local", "test"})
"""APP_ENV values of a laptop or a test run. Every other value is a deployed environment."""

DEFAULT_SSL_ROOT_CERT = Path(__file__).resolve().parent / "certs" / "rds-global-bundle.pem"
"""Where the image keeps the AWS RDS global CA bundle (see app/certs/README.md)."""

_S3_BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"

AWS_REGION_PATTERN = re.compile(r"[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2}")
"""Region-shaped names (matched whole), such as `eu-west-1`, `us-gov-west-1` or
`eusc-de-east-1`. boto3 puts the region into endpoint host names unchecked."""

_URL_CREDENTIALS = re.compile(r"(?<=//)[^/?#@\s]*@")
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b(password|passwd|pwd|token|secret|api[_-]?key)(\s*[=:]\s*)"
    r"(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
)
REDACTED = "***"


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one line naming the variable."""


class Settings(BaseSettings):
    """Everything the app reads from its environment. Field `x_y` is env var `X_Y`."""

    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", frozen=True, validate_default=True
    )

    # ---- plain, injected by the task definition --------------------------------------
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    """TCP port the server listens on (on 0.0.0.0). Default: 8000."""
    app_env: str = "local"
    """Environment name: `local`, `test` or the name of a deployed environment (the stack
    name, such as `staging`, `qa` or `prod-eu`). A deployed environment makes AWS_REGION,
    COMMIT_SHA and (unless USE_LOCAL_LLM) OPENAI_API_KEY required, forbids unverified TLS,
    and serves no files without FILES_BUCKET."""
    aws_region: str | None = None
    """AWS region (boto3 reads it too). Default: none (boto3's own chain decides)."""
    commit_sha: str | None = None
    """Git commit the image was built from, shown by /api/info. Default: none."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Lowest level written to stdout. Default: INFO."""
    use_local_llm: bool = False
    """Ask an Ollama-compatible API (OLLAMA_*) instead of an OpenAI-compatible one."""
    openai_model: Annotated[str, Field(min_length=1, max_length=200)] = "gpt-4o-mini"
    openai_base_url: str = "https://api.openai.com/v1"
    """Base of an OpenAI-compatible API; `/chat/completions` is appended."""
    ollama_model: Annotated[str, Field(min_length=1, max_length=200)] = "llama3.2"
    ollama_base_url: str = "http://127.0.0.1:11434"
    """Base of an Ollama-compatible API; `/api/chat` is appended."""
    files_bucket: Annotated[str | None, Field(pattern=_S3_BUCKET_PATTERN)] = None
    """S3 bucket served by /api/files. Default: none, so files come from a local directory
    in `local` and `test`, and /api/files returns 404 in a deployed environment."""
    files_prefix: str = ""
    """Only keys under this prefix are served (a trailing `/` is added). Default: all keys."""
    tmpdir: Path = Field(default_factory=lambda: Path(tempfile.gettempdir()))
    """Scratch directory (the task's writable /tmp volume). Default: the system's."""
    database_host: str | None = None
    """PostgreSQL host. Default: none, so events go to a local SQLite file."""
    database_port: Annotated[int, Field(ge=1, le=65535)] = 5432
    database_name: Annotated[str, Field(min_length=1, max_length=63)] = "app"
    database_sslmode: Literal[
        "disable", "allow", "prefer", "require", "verify-ca", "verify-full"
    ] = "verify-full"
    """libpq sslmode. Default: verify-full (RDS forces TLS; this also checks the host)."""
    database_sslrootcert: Path = DEFAULT_SSL_ROOT_CERT
    """CA bundle for verify-ca/verify-full. Default: the RDS bundle shipped in the image."""
    redis_url: str | None = None
    """`redis://` or `rediss://host:port/db`, without credentials. Default: none, so the
    answer cache lives in the process."""
    activity_log_dir: Path | None = None
    """Directory (the EFS mount) that receives the activity log. Default: a local one."""

    # ---- secrets, injected from Secrets Manager ----------------------------------------
    openai_api_key: SecretStr | None = None
    database_user: SecretStr | None = None
    database_password: SecretStr | None = None
    redis_auth_token: SecretStr | None = None

    # ---- local only: never injected by the infrastructure --------------------------------
    local_data_dir: Path | None = None
    """Holds the SQLite file, the local activity log and local files when the real
    services are not configured. Default: `$TMPDIR/webstack-app` (writable in the image)."""

    @model_validator(mode="before")
    @classmethod
    def _empty_means_unset(cls, values: object) -> object:
        """Drop empty and whitespace-only values of settings that have a default (say
        `OLLAMA_BASE_URL=`), so the default applies, and a setting that a deployment
        requires (say `AWS_REGION=" "`) is reported as missing. An empty setting without
        a default stays and is validated as given."""
        if not isinstance(values, dict):
            return values
        defaulted = {name for name, field in cls.model_fields.items() if not field.is_required()}
        return {
            k: v
            for k, v in values.items()
            if not (k in defaulted and isinstance(v, str) and v.strip() == "")
        }

    @field_validator("app_env")
    @classmethod
    def _app_env(cls, value: str) -> str:
        if not APP_ENV_PATTERN.fullmatch(value):
            raise ValueError(
                "must be 'local', 'test' or a deployed environment's name, which is a "
                "lower-case letter followed by up to 39 lower-case letters, digits or '-'"
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("aws_region")
    @classmethod
    def _aws_region(cls, value: str | None) -> str | None:
        if value is not None and not AWS_REGION_PATTERN.fullmatch(value):
            raise ValueError("must be an AWS region name such as 'eu-west-1'")
        return value

    @field_validator("openai_base_url", "ollama_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials (use OPENAI_API_KEY)")
        _check_port(value)
        return value.rstrip("/")

    @field_validator("openai_api_key")
    @classmethod
    def _api_key(cls, value: SecretStr | None) -> SecretStr | None:
        # It is sent as an HTTP header value, which httpx encodes as ASCII.
        if value is not None and not re.fullmatch(r"[\x21-\x7e]+", value.get_secret_value()):
            raise ValueError("must be printable ASCII characters without spaces")
        return value

    @field_validator("files_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError("must be a relative key prefix such as 'public/'")
        return value if value == "" or value.endswith("/") else value + "/"

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError("must look like rediss://host:6379/0")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials (use REDIS_AUTH_TOKEN)")
        _check_port(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        deployed = self.deployed
        if deployed:
            for name in ("aws_region", "commit_sha"):
                if not getattr(self, name):
                    raise ValueError(f"{name.upper()} is required when APP_ENV={self.app_env}")
            if not self.use_local_llm and self.openai_api_key is None:
                raise ValueError(
                    f"OPENAI_API_KEY is required when APP_ENV={self.app_env} "
                    "and USE_LOCAL_LLM is false"
                )
            if self.redis_url and not self.redis_url.startswith("rediss://"):
                raise ValueError(f"REDIS_URL must use rediss:// when APP_ENV={self.app_env}")
        if self.database_host:
            for name in ("database_user", "database_password"):
                if getattr(self, name) is None:
                    raise ValueError(f"{name.upper()} is required when DATABASE_HOST is set")
            if deployed and self.database_sslmode not in ("verify-ca", "verify-full"):
                raise ValueError(
                    f"DATABASE_SSLMODE must be verify-full or verify-ca when "
                    f"APP_ENV={self.app_env}, got {self.database_sslmode!r}"
                )
            if (
                self.database_sslmode in ("verify-ca", "verify-full")
                and not self.database_sslrootcert.is_file()
            ):
                raise ValueError(
                    f"DATABASE_SSLROOTCERT points to {str(self.database_sslrootcert)!r}, "
                    "which is not a file (DATABASE_SSLMODE needs a CA bundle)"
                )
        if self.uses_data_dir:
            name = "LOCAL_DATA_DIR" if self.local_data_dir is not None else "TMPDIR"
            problem = _directory_problem(self.data_dir)
            if problem:
                raise ValueError(f"{name}: the data directory {problem}")
        return self

    # ---- derived values ----------------------------------------------------------------
    @property
    def deployed(self) -> bool:
        """True for every APP_ENV except `local` and `test`."""
        return self.app_env not in LOCAL_ENVS

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_host)

    @property
    def uses_data_dir(self) -> bool:
        """True when SQLite, the activity log or the files live in `data_dir`."""
        return (
            not self.uses_postgres or self.activity_log_dir is None or self.files_backend == "local"
        )

    @property
    def data_dir(self) -> Path:
        return self.local_data_dir or self.tmpdir / "webstack-app"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "app.sqlite3"

    @property
    def activity_dir(self) -> Path:
        return self.activity_log_dir or self.data_dir / "activity"

    @property
    def local_files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def files_backend(self) -> Literal["s3", "local", "none"]:
        """File store behind /api/files. A deployed task without FILES_BUCKET has none,
        because its disk is ephemeral and not shared with the other tasks."""
        if self.files_bucket is not None:
            return "s3"
        return "none" if self.deployed else "local"

    @property
    def llm_backend(self) -> Literal["ollama", "openai"]:
        return "ollama" if self.use_local_llm else "openai"

    @property
    def llm_model(self) -> str:
        return self.ollama_model if self.use_local_llm else self.openai_model

    def secret_values(self) -> list[str]:
        """Return the values of the secret settings that are set, longest first."""
        values = [
            value.get_secret_value()
            for name, field in type(self).model_fields.items()
            if _is_secret(field.annotation) and (value := getattr(self, name)) is not None
        ]
        return sorted({value for value in values if value}, key=len, reverse=True)


@dataclass(frozen=True, kw_only=True)
class Tuning:
    """Timeouts and limits that no deployment sets; tests pass smaller ones."""

    llm_connect_timeout_seconds: float = 3.0
    """Connecting to the LLM API. Past it: 504."""
    llm_timeout_seconds: float = 25.0
    """Whole LLM request, under the ALB's 60 s idle timeout. Past it: 504."""
    answer_cache_ttl_seconds: int = 7 * 24 * 3600
    """How long a cached answer is reused: a week."""
    presign_expiry_seconds: int = 300
    """Lifetime of a presigned S3 URL: 5 minutes."""
    ready_timeout_seconds: float = 2.0
    """Per dependency in /api/ready; the whole check takes at most this long."""
    db_connect_timeout_seconds: int = 3
    db_pool_size: int = 5
    redis_timeout_seconds: float = 1.0
    keep_alive_seconds: int = 65
    """Idle keep-alive, longer than the ALB's 60 s idle timeout, so the ALB (not the app)
    closes idle connections and never sends on one the app just closed (a 502)."""
    shutdown_grace_seconds: int = 25
    """After SIGTERM, how long in-flight requests may take; under ECS's 30 s stop timeout."""
    max_request_body_bytes: int = 64 * 1024
    """Largest request body accepted; larger ones get a 413 before they are read whole.
    Four times the 16 KiB event data limit, for JSON escapes and whitespace."""
    llm_max_response_bytes: int = 1024 * 1024
    """Largest LLM response body read; a larger one is a 502 and is not cached."""


def _check_port(url: str) -> int | None:
    """Return the URL's port; raise ValueError when it is not a number from 0 to 65535."""
    try:
        return urlsplit(url).port
    except ValueError:
        raise ValueError("port must be a number from 0 to 65535") from None


def _directory_problem(path: Path) -> str | None:
    """Create `path` (with its parents) unless it exists; return why that failed, or
    None. Creating it here, not later when the app opens its resources, turns a bad path
    into a configuration error. Whether the directory is writable is left to the
    readiness check, because `os.access` misjudges it under capabilities."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f"{str(path)!r} is not a directory"
    except OSError as exc:
        return f"{str(path)!r} cannot be created: {exc.strerror or exc}"
    return None


def mask_url_credentials(text: str) -> str:
    """Replace the `user:password@` part of any URL in `text` with `***@`."""
    return _URL_CREDENTIALS.sub(REDACTED + "@", text)


def redact(text: str, secrets: typing.Iterable[str]) -> str:
    """Replace with `***` each of `secrets` (such as the database user name), the value
    of any `password=`, `token:` or similar assignment, and URL credentials in `text`.

    For error messages of dependencies, which name the user they tried."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = _SECRET_ASSIGNMENT.sub(rf"\1\2{REDACTED}", text)
    return mask_url_credentials(text)


def _env_name(field_name: str) -> str:
    return field_name.upper()


def _is_secret(annotation: object) -> bool:
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def declared_environment() -> tuple[frozenset[str], frozenset[str]]:
    """Return (plain env names, secret env names) the app reads in a deployment.

    Derived from the `Settings` fields: a field typed `SecretStr` (optional or not) is a
    secret, any other is plain. Fields whose env name starts with `LOCAL_` are local-only
    (laptop and test conveniences such as the SQLite location) and are left out, because
    the task definition never sets them. An infrastructure test compares the result with
    the `environment` and `secrets` of the task definition.
    """
    plain: set[str] = set()
    secret: set[str] = set()
    for name, field in Settings.model_fields.items():
        env = _env_name(name)
        if env.startswith(LOCAL_PREFIX):
            continue
        (secret if _is_secret(field.annotation) else plain).add(env)
    return frozenset(plain), frozenset(secret)


def _describe(error: dict[str, typing.Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if not str(part).isdigit()]
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if not loc:
        return message  # model-level checks name their variables themselves
    field = loc[0]
    env = _env_name(field)
    field_info = Settings.model_fields.get(field)
    # The value is shown here, once, so field validators leave it out of their messages.
    shown = ""
    if field_info is not None and not _is_secret(field_info.annotation) and "input" in error:
        shown = f" (got {mask_url_credentials(repr(error['input']))})"
    return f"{env}: {message}{shown}"


def load_settings(environ: typing.Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raise `ConfigError` with one line on failure.

    With `environ`, read from that mapping instead of `os.environ` (tests).
    """
    try:
        if environ is None:
            return Settings()
        # Only the given mapping: build from keyword values, not the process environment.
        known = {
            name: environ[_env_name(name)]
            for name in Settings.model_fields
            if _env_name(name) in environ
        }
        return Settings.model_validate(known)
    except ValidationError as exc:
        details = "; ".join(_describe(e) for e in exc.errors(include_url=False))
        raise ConfigError(f"invalid configuration: {details}") from None
