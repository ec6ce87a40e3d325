"""The task definition injects exactly the settings and secrets the app's Settings declares."""

import json

import pytest

from app.config import declared_environment
from tools.plan import render

# Declared by the app but left to its default: the image ships the RDS CA bundle at the
# path the setting defaults to, so the task definition does not repeat it.
APP_DEFAULTS_ONLY = {"DATABASE_SSLROOTCERT"}


@pytest.fixture(scope="module")
def container():
    plan = render("prod")
    task = next(r for r in plan.resources if r.type == "aws:ecs/taskDefinition:TaskDefinition")
    definitions = json.loads(task.inputs["containerDefinitions"])
    assert len(definitions) == 1
    return definitions[0]


def test_plain_environment_matches_app_settings(container):
    plain, _ = declared_environment()
    injected = {item["name"] for item in container["environment"]}
    assert injected == plain - APP_DEFAULTS_ONLY


def test_secrets_match_app_secret_settings(container):
    _, secret = declared_environment()
    injected = {item["name"] for item in container["secrets"]}
    assert injected == secret


def test_no_secret_is_also_plain(container):
    plain = {item["name"] for item in container["environment"]}
    secret = {item["name"] for item in container["secrets"]}
    assert plain & secret == set()


def test_app_default_only_names_are_declared():
    plain, _ = declared_environment()
    assert plain >= APP_DEFAULTS_ONLY
