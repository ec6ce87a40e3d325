"""Validation of the bootstrap config: every rule has a negative case matching its message."""

from __future__ import annotations

from typing import Any

import pytest

from bootstrap.settings import BootstrapConfigError, load_settings

SOURCE = "Pulumi.acme.yaml"


def with_changes(config: dict[str, Any], **changes: Any) -> dict[str, Any]:
    updated = dict(config)
    for key, value in changes.items():
        if value is None:
            updated.pop(key, None)
        else:
            updated[key] = value
    return updated


def test_settings_example_valid(example_config):
    settings = load_settings(example_config, SOURCE)

    assert settings.workspace == "acme"
    assert settings.workspace_uuid == "00000000-0000-4000-8000-000000000001"
    assert settings.repository_uuid == "00000000-0000-4000-8000-000000000002"
    assert settings.audience == (
        "ari:cloud:bitbucket::workspace/00000000-0000-4000-8000-000000000001")
    assert settings.issuer_url == (
        "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc")
    assert [env.name for env in settings.environments] == ["staging", "production"]
    assert settings.stacks == ("staging", "prod")
    assert settings.pull_request_preview_stacks == ("staging",)
    assert settings.environments[1].preview_deployment_environment_uuid == \
        "00000000-0000-4000-8000-000000000005"


def test_settings_uuid_without_braces(example_config):
    settings = load_settings(
        with_changes(example_config, repositoryUuid="ABCDEF01-2345-4678-9ABC-DEF012345678"),
        SOURCE)
    assert settings.repository_uuid == "abcdef01-2345-4678-9abc-def012345678"


@pytest.mark.parametrize("key", ["workspace", "workspaceUuid", "repositoryUuid", "environments"])
def test_settings_missing_key(example_config, key):
    with pytest.raises(BootstrapConfigError) as raised:
        load_settings(with_changes(example_config, **{key: None}), SOURCE)
    assert str(raised.value) == (
        f"Pulumi.acme.yaml: webstack-bootstrap:{key} is missing; set it with "
        f"`pulumi config set webstack-bootstrap:{key} <value>` (docs/pipeline.md)")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"workspace": "Acme Corp"},
         "webstack-bootstrap:workspace: invalid value 'Acme Corp'; expected the workspace slug "
         "from the Bitbucket URL (lowercase letters, digits, - and _)"),
        ({"workspaceUuid": "acme"},
         "webstack-bootstrap:workspaceUuid: invalid value 'acme'; expected a UUID such as "
         "{0f1e2d3c-...}; copy it from Bitbucket: Repository settings > Pipelines > "
         "OpenID Connect"),
        ({"pullRequestPreviewStacks": ["prod-eu"]},
         "webstack-bootstrap:pullRequestPreviewStacks: invalid value 'prod-eu'; expected a "
         "stack named in environments (prod, staging)"),
        ({"pullRequestPreviewStacks": "staging"},
         "webstack-bootstrap:pullRequestPreviewStacks: invalid value 'staging'; expected a list "
         "of Pulumi stack names"),
        ({"stateBucketName": "State_Bucket"},
         "webstack-bootstrap:stateBucketName: invalid value 'State_Bucket'; expected an S3 "
         "bucket name: 3 to 63 lowercase letters, digits, dots and dashes"),
        ({"keyUserArns": ["admin"]},
         "webstack-bootstrap:keyUserArns: invalid value 'admin'; expected IAM role or user ARNs"),
        ({"maxSessionSeconds": "600"},
         "webstack-bootstrap:maxSessionSeconds: invalid value 600; expected an integer from "
         "3600 to 43200"),
        ({"project": "web stack"},
         "webstack-bootstrap:project: invalid value 'web stack'; expected a Pulumi project name "
         "such as webstack"),
        ({"existingOidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/token.example"},
         "webstack-bootstrap:existingOidcProviderArn: invalid value "
         "'arn:aws:iam::123456789012:oidc-provider/token.example'; expected the ARN of the "
         "provider for this workspace, ending in oidc-provider/api.bitbucket.org/2.0/"
         "workspaces/acme/pipelines-config/identity/oidc"),
    ],
)
def test_settings_invalid_value(example_config, changes, message):
    with pytest.raises(BootstrapConfigError) as raised:
        load_settings(with_changes(example_config, **changes), SOURCE)
    assert str(raised.value) == f"{SOURCE}: {message}"


@pytest.mark.parametrize(
    ("environments", "message"),
    [
        ({}, "webstack-bootstrap:environments: invalid value {}; expected a mapping of "
             "deployment environment name to {stack, deploymentEnvironmentUuid}"),
        ({"Prod": {"stack": "prod", "deploymentEnvironmentUuid":
                   "00000000-0000-4000-8000-000000000004"}},
         "webstack-bootstrap:environments: invalid value 'Prod'; expected environment names of "
         "lowercase letters, digits and dashes, at most 20 characters (they become role names)"),
        ({"prod": {"stack": "prod", "deploymentEnvironmentUUID": "x"}},
         "webstack-bootstrap:environments.prod: invalid value 'deploymentEnvironmentUUID'; "
         "expected one of ['deploymentEnvironmentUuid', 'previewDeploymentEnvironmentUuid', "
         "'stack']"),
        ({"prod": {"deploymentEnvironmentUuid": "00000000-0000-4000-8000-000000000004"}},
         "webstack-bootstrap:environments.prod.stack: invalid value None; expected a Pulumi "
         "stack name such as staging"),
        ({"prod": {"stack": "prod", "deploymentEnvironmentUuid": "production"}},
         "webstack-bootstrap:environments.prod.deploymentEnvironmentUuid: invalid value "
         "'production'; expected a UUID such as {0f1e2d3c-...}; copy it from Bitbucket: "
         "Repository settings > Pipelines > OpenID Connect"),
        ({"staging": {"stack": "staging", "deploymentEnvironmentUuid":
                      "00000000-0000-4000-8000-000000000004"},
          "prod": {"stack": "prod", "deploymentEnvironmentUuid":
                   "{00000000-0000-4000-8000-000000000004}"}},
         "webstack-bootstrap:environments: invalid value '00000000-0000-4000-8000-000000000004'; "
         "expected a different deployment environment UUID for every role, otherwise one "
         "environment's steps could assume another's role"),
    ],
)
def test_settings_invalid_environments(example_config, environments, message):
    config = with_changes(example_config, environments=environments,
                          pullRequestPreviewStacks=["prod"] if environments else None)
    with pytest.raises(BootstrapConfigError) as raised:
        load_settings(config, SOURCE)
    assert str(raised.value) == f"{SOURCE}: {message}"
