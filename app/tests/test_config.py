"""Settings: names, defaults, validation messages, secrets kept secret."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import Field, SecretStr, ValidationError

from app.config import ConfigError, Settings, declared_environment, load_settings
from app.tests.support import APP_DIR, REPO

DESIGN_PLAIN = {
    "PORT",
    "APP_ENV",
    "AWS_REGION",
    "COMMIT_SHA",
    "LOG_LEVEL",
    "USE_LOCAL_LLM",
    "OPENAI_MODEL",
    "OPENAI_BASE_URL",
    "OLLAMA_MODEL",
    "OLLAMA_BASE_URL",
    "FILES_BUCKET",
    "FILES_PREFIX",
    "TMPDIR",
    "DATABASE_HOST",
    "DATABASE_PORT",
    "DATABASE_NAME",
    "DATABASE_SSLMODE",
    "REDIS_URL",
    "ACTIVITY_LOG_DIR",
}
DESIGN_SECRET = {"OPENAI_API_KEY", "DATABASE_USER", "DATABASE_PASSWORD", "REDIS_AUTH_TOKEN"}
DEPLOYED = {
    "APP_ENV": "prod",
    "AWS_REGION": "eu-west-1",
    "COMMIT_SHA": "abc",
    "FILES_BUCKET": "my-files",
    "OPENAI_API_KEY": "sk-x",
}
# What the task definition of a stack named `qa` injects when the stack has no local LLM,
# no files bucket, no database and no cache (see `app_environment` in the Pulumi program).
TASK_ENVIRONMENT = {
    "PORT": "8000",
    "APP_ENV": "qa",
    "AWS_REGION": "us-east-1",
    "COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567",
    "LOG_LEVEL": "INFO",
    "USE_LOCAL_LLM": "false",
    "OPENAI_MODEL": "gpt-4o-mini",
    "OPENAI_BASE_URL": "https://api.openai.com/v1",
    "OLLAMA_MODEL": "llama3.1",
    "OLLAMA_BASE_URL": "",
    "FILES_PREFIX": "",
    "TMPDIR": "/tmp",
    "OPENAI_API_KEY": "sk-test",
}


def test_declared_environment_is_the_design_plus_the_ca_bundle_path():
    plain, secret = declared_environment()
    assert (plain, secret) == (
        frozenset(DESIGN_PLAIN | {"DATABASE_SSLROOTCERT"}),
        frozenset(DESIGN_SECRET),
    )


def test_declared_environment_leaves_out_local_settings():
    plain, secret = declared_environment()
    assert "LOCAL_DATA_DIR" in {name.upper() for name in Settings.model_fields}
    assert not any(name.startswith("LOCAL_") for name in plain | secret)


def test_declared_environment_follows_the_model(monkeypatch):
    fields = dict(Settings.model_fields)
    fields["extra_secret"] = fields["redis_auth_token"]
    monkeypatch.setattr(Settings, "model_fields", fields)
    assert "EXTRA_SECRET" in declared_environment()[1]


def test_every_secret_field_is_a_secret_str():
    for name in DESIGN_SECRET:
        assert SecretStr in (Settings.model_fields[name.lower()].annotation.__args__)


def test_nothing_configured_runs_locally():
    settings = load_settings({})
    assert (
        settings.port,
        settings.app_env,
        settings.uses_postgres,
        settings.redis_url,
        settings.files_bucket,
        settings.activity_log_dir,
    ) == (8000, "local", False, None, None, None)


def test_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("USE_LOCAL_LLM", "true")
    settings = load_settings()
    assert (settings.port, settings.use_local_llm) == (9001, True)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"PORT": "eighty"},
            "invalid configuration: PORT: Input should be a valid integer, "
            "unable to parse string as an integer (got 'eighty')",
        ),
        (
            {"PORT": "70000"},
            "invalid configuration: PORT: Input should be less than or equal "
            "to 65535 (got '70000')",
        ),
        (
            {"APP_ENV": "Prod_EU"},
            "invalid configuration: APP_ENV: must be 'local', 'test' or a deployed "
            "environment's name, which is a lower-case letter followed by up to 39 "
            "lower-case letters, digits or '-' (got 'Prod_EU')",
        ),
        (
            {"LOG_LEVEL": "loud"},
            "invalid configuration: LOG_LEVEL: Input should be 'DEBUG', "
            "'INFO', 'WARNING' or 'ERROR' (got 'LOUD')",
        ),
        (
            {"REDIS_URL": "rediss://:pw@cache:6379/0"},
            "invalid configuration: REDIS_URL: must not carry credentials (use "
            "REDIS_AUTH_TOKEN) (got 'rediss://***@cache:6379/0')",
        ),
        (
            {"REDIS_URL": "redis://admin:hunter2@cache:abc/0"},  # pragma: allowlist secret
            "invalid configuration: REDIS_URL: must not carry credentials (use "
            "REDIS_AUTH_TOKEN) (got 'redis://***@cache:abc/0')",
        ),
        (
            {"OPENAI_BASE_URL": "https://admin:hunter2@llm.example/v1"},  # pragma: allowlist secret
            "invalid configuration: OPENAI_BASE_URL: must not carry credentials (use "
            "OPENAI_API_KEY) (got 'https://***@llm.example/v1')",
        ),
        (
            {"REDIS_URL": "redis://cache:99999/0"},
            "invalid configuration: REDIS_URL: port must be a number from 0 to 65535 "
            "(got 'redis://cache:99999/0')",
        ),
        (
            {"REDIS_URL": "redis://cache:abc/0"},
            "invalid configuration: REDIS_URL: port must be a number from 0 to 65535 "
            "(got 'redis://cache:abc/0')",
        ),
        (
            {"OPENAI_BASE_URL": "http://llm:abc/v1"},
            "invalid configuration: OPENAI_BASE_URL: port must be a number from 0 to 65535 "
            "(got 'http://llm:abc/v1')",
        ),
        (
            {"OLLAMA_BASE_URL": "http://llm:70000"},
            "invalid configuration: OLLAMA_BASE_URL: port must be a number from 0 to 65535 "
            "(got 'http://llm:70000')",
        ),
        (
            {"OPENAI_API_KEY": "sk-clé"},
            "invalid configuration: OPENAI_API_KEY: must be printable ASCII characters "
            "without spaces",
        ),
        (
            {"OPENAI_API_KEY": "sk-a b"},
            "invalid configuration: OPENAI_API_KEY: must be printable ASCII characters "
            "without spaces",
        ),
        (
            {"AWS_REGION": "_"},
            "invalid configuration: AWS_REGION: must be an AWS region name such as "
            "'eu-west-1' (got '_')",
        ),
        (
            {"AWS_REGION": "../../x"},
            "invalid configuration: AWS_REGION: must be an AWS region name such as "
            "'eu-west-1' (got '../../x')",
        ),
        (
            {**DEPLOYED, "AWS_REGION": " \t"},
            "invalid configuration: AWS_REGION is required when APP_ENV=prod",
        ),
        (
            {**DEPLOYED, "COMMIT_SHA": "  "},
            "invalid configuration: COMMIT_SHA is required when APP_ENV=prod",
        ),
        (
            {**DEPLOYED, "OPENAI_API_KEY": " "},
            "invalid configuration: OPENAI_API_KEY is required when APP_ENV=prod and "
            "USE_LOCAL_LLM is false",
        ),
        (
            {
                "DATABASE_HOST": "db",
                "DATABASE_USER": "  ",
                "DATABASE_PASSWORD": "p",
                "DATABASE_SSLMODE": "disable",
            },
            "invalid configuration: DATABASE_USER is required when DATABASE_HOST is set",
        ),
        (
            {"OPENAI_BASE_URL": "ftp://x"},
            "invalid configuration: OPENAI_BASE_URL: must be an http(s) URL (got 'ftp://x')",
        ),
        (
            {"OLLAMA_BASE_URL": "localhost:11434"},
            "invalid configuration: OLLAMA_BASE_URL: must be an http(s) URL "
            "(got 'localhost:11434')",
        ),
        (
            {"FILES_PREFIX": "/abs"},
            "invalid configuration: FILES_PREFIX: must be a relative "
            "key prefix such as 'public/' (got '/abs')",
        ),
        (
            {"FILES_BUCKET": "Bad_Bucket"},
            "invalid configuration: FILES_BUCKET: String should match pattern "
            "'^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' (got 'Bad_Bucket')",
        ),
        (
            {"DATABASE_HOST": "db", "DATABASE_USER": "u", "DATABASE_SSLMODE": "disable"},
            "invalid configuration: DATABASE_PASSWORD is required when DATABASE_HOST is set",
        ),
        (
            {
                "DATABASE_HOST": "db",
                "DATABASE_USER": "u",
                "DATABASE_PASSWORD": "p",
                "DATABASE_SSLROOTCERT": "/nope.pem",
            },
            "invalid configuration: DATABASE_SSLROOTCERT points to '/nope.pem', which is not a "
            "file (DATABASE_SSLMODE needs a CA bundle)",
        ),
        (
            {**DEPLOYED, "COMMIT_SHA": ""},
            "invalid configuration: COMMIT_SHA is required when APP_ENV=prod",
        ),
        (
            {**DEPLOYED, "OPENAI_API_KEY": ""},
            "invalid configuration: OPENAI_API_KEY is required when APP_ENV=prod and "
            "USE_LOCAL_LLM is false",
        ),
        (
            {**DEPLOYED, "REDIS_URL": "redis://cache:6379/0"},
            "invalid configuration: REDIS_URL must use rediss:// when APP_ENV=prod",
        ),
        (
            {
                **DEPLOYED,
                "DATABASE_HOST": "db",
                "DATABASE_USER": "u",
                "DATABASE_PASSWORD": "p",
                "DATABASE_SSLMODE": "require",
            },
            "invalid configuration: DATABASE_SSLMODE must be verify-full or verify-ca when "
            "APP_ENV=prod, got 'require'",
        ),
    ],
)
def test_invalid_settings_fail_with_one_line_naming_the_variable(env, message):
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "region", ["eu-west-1", "us-east-1", "us-gov-west-1", "ap-southeast-2", "eusc-de-east-1"]
)
def test_aws_region_accepts_region_names(region):
    assert load_settings({"AWS_REGION": region}).aws_region == region


def test_whitespace_aws_region_means_unset():
    assert load_settings({"AWS_REGION": "   "}).aws_region is None


def test_local_data_dir_that_is_a_file_is_rejected(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    for env, message in [
        (
            {"LOCAL_DATA_DIR": str(a_file)},
            f"LOCAL_DATA_DIR: the data directory {str(a_file)!r} is not a directory",
        ),
        (
            {"LOCAL_DATA_DIR": str(a_file / "data")},
            f"LOCAL_DATA_DIR: the data directory {str(a_file / 'data')!r} cannot be "
            "created: Not a directory",
        ),
        (
            {"TMPDIR": str(a_file)},
            f"TMPDIR: the data directory {str(a_file / 'webstack-app')!r} cannot be "
            "created: Not a directory",
        ),
    ]:
        with pytest.raises(ConfigError) as caught:
            load_settings(env)
        assert str(caught.value) == "invalid configuration: " + message


def test_local_data_dir_is_created(tmp_path):
    settings = load_settings({"LOCAL_DATA_DIR": str(tmp_path / "a" / "b")})
    assert settings.data_dir.is_dir()


def test_local_data_dir_unused_is_not_checked(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    settings = load_settings(
        {
            "LOCAL_DATA_DIR": str(a_file),
            "DATABASE_HOST": "db",
            "DATABASE_USER": "u",
            "DATABASE_PASSWORD": "p",
            "DATABASE_SSLMODE": "disable",
            "ACTIVITY_LOG_DIR": str(tmp_path),
            "FILES_BUCKET": "my-files",
        }
    )
    assert settings.uses_data_dir is False


def test_a_bad_secret_is_named_but_not_shown():
    with pytest.raises(ConfigError) as caught:
        load_settings({"OPENAI_API_KEY": ["not", "a", "string"]})  # type: ignore[dict-item]
    assert (
        str(caught.value) == "invalid configuration: OPENAI_API_KEY: Input should be a valid string"
    )


def test_empty_optional_values_mean_unset():
    settings = load_settings({"REDIS_URL": "", "DATABASE_HOST": "", "FILES_BUCKET": ""})
    assert (settings.redis_url, settings.uses_postgres, settings.files_bucket) == (
        None,
        False,
        None,
    )


_DEFAULTED_FIELDS = [
    name for name, field in Settings.model_fields.items() if not field.is_required()
]


@pytest.mark.parametrize("value", ["", " ", "\t\n"])
@pytest.mark.parametrize("field", _DEFAULTED_FIELDS)
def test_empty_value_means_the_default(field, value):
    settings = load_settings({field.upper(): value})
    assert getattr(settings, field) == getattr(load_settings({}), field)


class _SettingsWithRequired(Settings):
    """Settings has no required field today; this one adds two."""

    team: str
    owner: str = Field(min_length=1)


def test_empty_required_setting_stays_required():
    settings = _SettingsWithRequired.model_validate({"team": "", "owner": "ana"})
    assert settings.team == ""
    with pytest.raises(ValidationError) as caught:
        _SettingsWithRequired.model_validate({"team": "web", "owner": ""})
    assert [error["type"] for error in caught.value.errors()] == ["string_too_short"]
    with pytest.raises(ValidationError) as caught:
        _SettingsWithRequired.model_validate({"owner": "ana"})
    assert [error["type"] for error in caught.value.errors()] == ["missing"]


def _use_only(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Make `env` the only settings in the process environment."""
    names = {field.upper() for field in Settings.model_fields}
    for key in list(os.environ):
        if key.upper() in names:
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_task_environment_without_bucket_loads(monkeypatch):
    _use_only(monkeypatch, TASK_ENVIRONMENT)
    for settings in (Settings(), load_settings(), load_settings(TASK_ENVIRONMENT)):
        assert settings.app_env == "qa"
        assert settings.deployed is True
        assert settings.aws_region == "us-east-1"
        assert settings.commit_sha == TASK_ENVIRONMENT["COMMIT_SHA"]
        assert settings.ollama_model == "llama3.1"
        assert settings.ollama_base_url == "http://127.0.0.1:11434"
        assert settings.files_bucket is None
        assert settings.files_prefix == ""
        assert settings.files_backend == "none"
        assert settings.uses_postgres is False
        assert settings.redis_url is None
        assert str(settings.tmpdir) == "/tmp"
        assert settings.openai_api_key is not None
        assert settings.openai_api_key.get_secret_value() == "sk-test"


@pytest.mark.parametrize(
    ("app_env", "deployed"),
    [
        ("local", False),
        ("test", False),
        ("staging", True),
        ("prod", True),
        ("qa", True),
        ("prod-eu", True),
        ("p2", True),
        ("a" * 40, True),
    ],
)
def test_app_env_accepts_stack_names(app_env, deployed):
    settings = load_settings({**DEPLOYED, "APP_ENV": app_env})
    assert settings.app_env == app_env
    assert settings.deployed is deployed


@pytest.mark.parametrize(
    "app_env", ["QA", "prod_eu", "prod.eu", "1prod", "-qa", "prod eu", "qa\n", "a" * 41]
)
def test_app_env_rejects_other_names(app_env):
    with pytest.raises(ConfigError) as caught:
        load_settings({**DEPLOYED, "APP_ENV": app_env})
    assert str(caught.value).startswith("invalid configuration: APP_ENV: must be 'local', ")


@pytest.mark.parametrize("app_env", ["qa", "prod-eu"])
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AWS_REGION": ""}, "AWS_REGION is required when APP_ENV={}"),
        ({"COMMIT_SHA": ""}, "COMMIT_SHA is required when APP_ENV={}"),
        (
            {"OPENAI_API_KEY": ""},
            "OPENAI_API_KEY is required when APP_ENV={} and USE_LOCAL_LLM is false",
        ),
        ({"REDIS_URL": "redis://cache:6379/0"}, "REDIS_URL must use rediss:// when APP_ENV={}"),
        (
            {
                "DATABASE_HOST": "db",
                "DATABASE_USER": "u",
                "DATABASE_PASSWORD": "p",
                "DATABASE_SSLMODE": "require",
            },
            "DATABASE_SSLMODE must be verify-full or verify-ca when APP_ENV={}, got 'require'",
        ),
    ],
)
def test_any_deployed_name_gets_deployed_rules(app_env, env, message):
    with pytest.raises(ConfigError) as caught:
        load_settings({**DEPLOYED, "APP_ENV": app_env, **env})
    assert str(caught.value) == "invalid configuration: " + message.format(app_env)


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        ({"APP_ENV": "local"}, "local"),
        ({"APP_ENV": "test"}, "local"),
        ({"APP_ENV": "test", "FILES_BUCKET": "my-files"}, "s3"),
        ({**DEPLOYED, "FILES_BUCKET": ""}, "none"),
        ({**DEPLOYED, "APP_ENV": "qa", "FILES_BUCKET": ""}, "none"),
        (DEPLOYED, "s3"),
    ],
)
def test_files_backend_per_bucket_and_env(env, backend):
    assert load_settings(env).files_backend == backend


def test_prefix_gets_a_trailing_slash():
    assert load_settings({"FILES_PREFIX": "public"}).files_prefix == "public/"


def test_deployed_settings_are_accepted():
    settings = load_settings({**DEPLOYED, "REDIS_URL": "rediss://cache:6379/0"})
    assert (settings.app_env, settings.redis_url) == ("prod", "rediss://cache:6379/0")


def test_secrets_do_not_show_in_repr_or_dump():
    settings = load_settings(
        {
            "OPENAI_API_KEY": "sk-very-secret",
            "DATABASE_PASSWORD": "pw-9",
            "REDIS_AUTH_TOKEN": "tok-7",
            "DATABASE_USER": "admin-5",
        }
    )
    text = repr(settings) + str(settings) + settings.model_dump_json()
    for secret in ("sk-very-secret", "pw-9", "tok-7", "admin-5"):
        assert secret not in text


def test_bad_setting_stops_the_entry_command_with_one_line():
    env = {key: value for key, value in os.environ.items() if not key.startswith("DATABASE_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "PORT": "not-a-port",
            "PYTHONSAFEPATH": "1",
            "OPENAI_API_KEY": "sk-never-printed",
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        cwd=APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = result.stdout.strip().splitlines()
    assert (result.returncode, len(lines), result.stderr) == (78, 1, "")
    assert "PORT: Input should be a valid integer" in lines[0]
    assert "sk-never-printed" not in result.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"REDIS_URL": "redis://127.0.0.1:99999/0"}, "REDIS_URL: port must be a number"),
        ({"REDIS_URL": "redis://127.0.0.1:abc/0"}, "REDIS_URL: port must be a number"),
        ({"AWS_REGION": "../../x"}, "AWS_REGION: must be an AWS region name"),
        ({"OPENAI_BASE_URL": "http://127.0.0.1:abc/v1"}, "OPENAI_BASE_URL: port must be"),
        ({"OPENAI_API_KEY": "sk-clé-never-printed"}, "OPENAI_API_KEY: must be printable"),
        ({"LOCAL_DATA_DIR": "/proc/version"}, "LOCAL_DATA_DIR: the data directory"),
    ],
)
def test_start_up_errors_exit_78_with_one_line(env, expected):
    base = {key: value for key, value in os.environ.items() if key.upper() not in _SETTING_NAMES}
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        cwd=APP_DIR,
        env={**base, "PYTHONPATH": str(REPO), "PYTHONSAFEPATH": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = result.stdout.strip().splitlines()
    assert (result.returncode, len(lines), result.stderr) == (78, 1, "")
    assert expected in lines[0]
    assert "never-printed" not in lines[0]


_SETTING_NAMES = {field.upper() for field in Settings.model_fields}
