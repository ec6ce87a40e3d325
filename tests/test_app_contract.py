"""The task definition injects the settings and secrets the app's Settings declares, with
values the app accepts: a rendered task environment must start the app."""

import json

import pytest

from app.config import declared_environment, load_settings
from tools.plan import render

# Declared by the app but left to its default: the image ships the RDS CA bundle at the
# path the setting defaults to, so the task definition does not repeat it.
APP_DEFAULTS_ONLY = {"DATABASE_SSLROOTCERT"}
# Left out of the task when the stack leaves them empty, so the app uses its default.
EMPTY_IN_THESE_STACKS = {"OLLAMA_BASE_URL"}
SECRET_VALUES = {
    "OPENAI_API_KEY": "sk-test",
    "DATABASE_USER": "app_admin",
    "DATABASE_PASSWORD": "password-from-secrets-manager",  # pragma: allowlist secret
    "REDIS_AUTH_TOKEN": "token-from-secrets-manager",  # pragma: allowlist secret
}


def container(stack):
    plan = render(stack)
    task = next(r for r in plan.resources if r.type == "aws:ecs/taskDefinition:TaskDefinition")
    definitions = json.loads(task.inputs["containerDefinitions"])
    assert len(definitions) == 1
    return definitions[0]


@pytest.fixture(scope="module", params=["staging", "prod"])
def task_container(request):
    return container(request.param)


def test_plain_environment_matches_app_settings(task_container):
    plain, _ = declared_environment()
    injected = {item["name"] for item in task_container["environment"]}
    assert injected == plain - APP_DEFAULTS_ONLY - EMPTY_IN_THESE_STACKS


def test_secrets_match_app_secret_settings(task_container):
    _, secret = declared_environment()
    injected = {item["name"] for item in task_container["secrets"]}
    assert injected == secret


def test_no_secret_is_also_plain(task_container):
    plain = {item["name"] for item in task_container["environment"]}
    secret = {item["name"] for item in task_container["secrets"]}
    assert plain & secret == set()


def test_no_empty_value_is_injected(task_container):
    empty = [item["name"] for item in task_container["environment"] if item["value"] == ""]
    assert empty == []


def test_task_environment_starts_the_app(task_container, tmp_path):
    environment = {item["name"]: item["value"] for item in task_container["environment"]}
    environment.update({item["name"]: SECRET_VALUES[item["name"]]
                        for item in task_container["secrets"]})
    # The bundle is downloaded during the image build; here any readable file stands in.
    bundle = tmp_path / "rds-global-bundle.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    environment["DATABASE_SSLROOTCERT"] = str(bundle)
    settings = load_settings(environment)
    assert settings.app_env == environment["APP_ENV"]
    assert settings.port == 8000


def test_app_default_only_names_are_declared():
    plain, _ = declared_environment()
    assert plain >= APP_DEFAULTS_ONLY
