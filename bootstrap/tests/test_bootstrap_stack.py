"""The bootstrap stack under Pulumi's mock runtime: exact inputs of every security property."""

from __future__ import annotations

import json
import runpy
from typing import Any

import pulumi
import pytest
from pulumi.runtime.sync_await import _sync_await

from bootstrap import policies
from bootstrap.settings import load_settings
from bootstrap.stack import declare
from tools.mock_runtime import ACCOUNT_ID, run

from .conftest import BOOTSTRAP_DIR

ISSUER = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
AUDIENCE = "ari:cloud:bitbucket::workspace/00000000-0000-4000-8000-000000000001"
REPO = "00000000-0000-4000-8000-000000000002"
STAGING_ENV = "00000000-0000-4000-8000-000000000003"
PROD_ENV = "00000000-0000-4000-8000-000000000004"
PROD_PREVIEW_ENV = "00000000-0000-4000-8000-000000000005"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def resolve(value: Any) -> Any:
    """The plain value of an Output after `run` has finished."""
    if isinstance(value, pulumi.Output):
        return _sync_await(value.future())
    if isinstance(value, dict):
        return {key: resolve(item) for key, item in value.items()}
    return value


@pytest.fixture
def declared(bootstrap_mocks, example_config) -> dict[str, Any]:
    settings = load_settings(example_config, "Pulumi.example.yaml")
    exports: dict[str, Any] = {}
    run(lambda: exports.update(declare(settings)))
    return resolve(exports)


def policy_of(mocks, typ: str, name: str, key: str = "policy") -> dict[str, Any]:
    return json.loads(mocks.find(typ, name).inputs[key])


def test_oidc_provider_url_and_audience(bootstrap_mocks, declared):
    provider = bootstrap_mocks.find("aws:iam/openIdConnectProvider:OpenIdConnectProvider",
                                    "bitbucket-oidc")
    assert provider.inputs["url"] == f"https://{ISSUER}"
    assert provider.inputs["clientIdLists"] == [AUDIENCE]
    assert declared["oidcAudience"] == AUDIENCE


@pytest.mark.parametrize(
    ("role", "subject"),
    [
        ("ci-deploy-staging", f"{{{REPO}}}:{{{STAGING_ENV}}}:*"),
        ("ci-deploy-production", f"{{{REPO}}}:{{{PROD_ENV}}}:*"),
        ("ci-preview-production", f"{{{REPO}}}:{{{PROD_PREVIEW_ENV}}}:*"),
        ("ci-pr-preview", f"{{{REPO}}}:*"),
    ],
)
def test_role_trust_policy_exact(bootstrap_mocks, declared, role, subject):
    provider_arn = declared["oidcProviderArn"]
    assert policy_of(bootstrap_mocks, ROLE, role, "assumeRolePolicy") == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "BitbucketPipelinesOidc",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{ISSUER}:aud": AUDIENCE},
                "StringLike": {f"{ISSUER}:sub": subject},
            },
        }],
    }


def test_role_names_and_session(bootstrap_mocks, declared):
    names = sorted(record.inputs["name"] for record in bootstrap_mocks.of_type(ROLE))
    assert names == ["webstack-ci-deploy-production", "webstack-ci-deploy-staging",
                     "webstack-ci-pr-preview", "webstack-ci-preview-production"]
    for record in bootstrap_mocks.of_type(ROLE):
        assert record.inputs["maxSessionDuration"] == 3600.0


def test_deploy_role_state_scoped_to_stack(bootstrap_mocks, declared):
    bucket_arn = f"arn:aws:s3:::{declared['stateBucketName']}"
    document = policy_of(bootstrap_mocks, ROLE_POLICY, "ci-deploy-staging-permissions")
    statements = {statement["Sid"]: statement for statement in document["Statement"]}

    assert statements["WriteState"]["Resource"] == [
        f"{bucket_arn}/.pulumi/stacks/webstack/staging.json*",
        f"{bucket_arn}/.pulumi/history/webstack/staging/*",
        f"{bucket_arn}/.pulumi/backups/webstack/staging/*",
        f"{bucket_arn}/.pulumi/locks/*/webstack/staging/*",
    ]
    assert "prod" not in json.dumps(document)


def test_deploy_role_cannot_change_ci_access(bootstrap_mocks, declared):
    document = policy_of(bootstrap_mocks, ROLE_POLICY, "ci-deploy-production-permissions")
    statements = {statement["Sid"]: statement for statement in document["Statement"]}

    deny = statements["DenyChangesToCiAccess"]
    assert deny["Effect"] == "Deny"
    assert deny["Resource"] == [f"arn:aws:iam::{ACCOUNT_ID}:role/webstack-ci-*",
                                f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/*"]
    assert statements["PassRolesToEcsTasks"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert not any(action.startswith(("s3:*", "kms:*", "iam:*"))
                   for statement in document["Statement"] if statement["Effect"] == "Allow"
                   for action in ([statement["Action"]] if isinstance(statement["Action"], str)
                                  else statement["Action"]))


def test_preview_roles_read_only(bootstrap_mocks, declared):
    for name, stack in (("ci-pr-preview", "staging"), ("ci-preview-production", "prod")):
        document = policy_of(bootstrap_mocks, ROLE_POLICY, f"{name}-permissions")
        statements = {statement["Sid"]: statement for statement in document["Statement"]}
        assert "WriteState" not in statements
        assert statements["TakeStackLock"]["Resource"] == [
            f"arn:aws:s3:::{declared['stateBucketName']}/.pulumi/locks/*/webstack/{stack}/*"]
        attachment = bootstrap_mocks.find("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                                          f"{name}-view-only")
        assert attachment.inputs["policyArn"] == \
            "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"


def test_pr_preview_never_reads_prod(bootstrap_mocks, declared):
    document = policy_of(bootstrap_mocks, ROLE_POLICY, "ci-pr-preview-permissions")
    assert "/prod" not in json.dumps(document)
    key_policy = policy_of(bootstrap_mocks, "aws:kms/key:Key", "secrets-prod")
    principals = json.dumps(key_policy)
    assert declared["pullRequestPreviewRoleArn"] not in principals


def test_state_bucket_security(bootstrap_mocks, declared):
    bucket = bootstrap_mocks.find("aws:s3/bucket:Bucket", "state")
    assert bucket.inputs["bucketPrefix"] == "webstack-state-"
    assert bucket.inputs.get("forceDestroy") in (None, False)

    versioning = bootstrap_mocks.find("aws:s3/bucketVersioning:BucketVersioning",
                                      "state-versioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}

    encryption = bootstrap_mocks.find(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "state-encryption")
    assert encryption.inputs["rules"] == [{
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"},
        "bucketKeyEnabled": True}]

    block = bootstrap_mocks.find("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                                 "state-public-access")
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                 "restrictPublicBuckets"):
        assert block.inputs[flag] is True

    ownership = bootstrap_mocks.find("aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                                     "state-ownership")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_state_bucket_tls_only(bootstrap_mocks, declared):
    bucket_arn = f"arn:aws:s3:::{declared['stateBucketName']}"
    assert policy_of(bootstrap_mocks, "aws:s3/bucketPolicy:BucketPolicy", "state-tls-only") == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    }


def test_kms_keys_rotate_per_stack(bootstrap_mocks, declared):
    keys = bootstrap_mocks.of_type("aws:kms/key:Key")
    assert sorted(key.name for key in keys) == ["secrets-prod", "secrets-staging"]
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == 30.0
    aliases = {alias.name: alias.inputs["name"]
               for alias in bootstrap_mocks.of_type("aws:kms/alias:Alias")}
    assert aliases == {"secrets-staging": "alias/webstack-staging",
                       "secrets-prod": "alias/webstack-prod"}
    assert declared["secretsProviders"] == {
        "staging": "awskms://alias/webstack-staging?region=us-east-1",
        "prod": "awskms://alias/webstack-prod?region=us-east-1",
    }


def test_kms_key_policy_principals(bootstrap_mocks, declared):
    document = policy_of(bootstrap_mocks, "aws:kms/key:Key", "secrets-prod")
    statements = {statement["Sid"]: statement for statement in document["Statement"]}

    assert statements["AccountAdministersKey"]["Principal"] == {
        "AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}
    assert "kms:Decrypt" not in statements["AccountAdministersKey"]["Action"]
    assert statements["DeployersUseKey"]["Principal"] == {
        "AWS": [declared["deployRoleArns"]["production"]]}
    assert statements["PreviewersDecrypt"]["Principal"] == {
        "AWS": [declared["previewRoleArns"]["production"]]}
    assert statements["PreviewersDecrypt"]["Action"] == ["kms:Decrypt", "kms:DescribeKey"]


def test_protected_state_and_keys(bootstrap_mocks, declared):
    # Protection is a resource option, which the mock records only as a successful
    # registration; the declaration itself is checked by reading the source.
    source = (BOOTSTRAP_DIR / "stack.py").read_text()
    assert source.count("protect=True") == 2


def test_existing_provider_reused(bootstrap_mocks, example_config):
    arn = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{ISSUER}"
    settings = load_settings(example_config | {"existingOidcProviderArn": arn}, "P.yaml")
    exports: dict[str, Any] = {}
    run(lambda: exports.update(declare(settings)))

    assert bootstrap_mocks.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") == []
    assert resolve(exports["oidcProviderArn"]) == arn


def test_main_program_renders(bootstrap_mocks, example_config):
    pulumi.runtime.set_all_config(
        {"aws:region": "us-east-1"}
        | {f"webstack-bootstrap:{key}": value if isinstance(value, str) else json.dumps(value)
           for key, value in example_config.items()})

    run(lambda: runpy.run_path(str(BOOTSTRAP_DIR / "__main__.py"), run_name="__main__"))

    outputs = pulumi.runtime.settings.get_root_resource().outputs
    assert sorted(outputs) == sorted([
        "oidcProviderArn", "oidcAudience", "stateBucketName", "backendUrl", "secretsProviders",
        "secretsKeyArns", "pullRequestPreviewRoleArn", "deployRoleArns", "previewRoleArns"])
    assert len(bootstrap_mocks.of_type(ROLE)) == 4


def test_subject_helpers():
    assert policies.repository_subject("abc") == "{abc}:*"
    assert policies.environment_subject("abc", "def") == "{abc}:{def}:*"
