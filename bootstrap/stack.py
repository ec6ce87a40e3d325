"""Declare the bootstrap resources from validated settings; `__main__.py` only calls this.

Creates the Bitbucket Pipelines OIDC provider (unless one exists), one read-only role for
pull-request previews, one deploy role per deployment environment (plus an optional
read-only preview role for it), the S3 state bucket and one KMS key per stack for
Pulumi's `awskms://` secrets provider.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from bootstrap import policies
from bootstrap.settings import BootstrapSettings

VIEW_ONLY_POLICY = "policy/job-function/ViewOnlyAccess"
NONCURRENT_STATE_DAYS = 90
"""Days an overwritten state file version is kept. 90 days covers a quarter of rollbacks."""
TAGS = {"project": "webstack", "managed-by": "webstack-bootstrap"}


@dataclass
class CiRoles:
    """The roles created for the pipeline, by purpose."""

    pull_request_preview: aws.iam.Role
    deploy: dict[str, aws.iam.Role] = field(default_factory=dict)
    """Deploy role per deployment environment name."""
    preview: dict[str, aws.iam.Role] = field(default_factory=dict)
    """Read-only role per deployment environment name, where one is configured."""


def _json(value: pulumi.Input[Any]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(value).apply(lambda plain: json.dumps(plain, sort_keys=True))


def declare_oidc_provider(settings: BootstrapSettings) -> pulumi.Output[str]:
    """Return the provider ARN: the configured existing one, or a new provider."""
    if settings.existing_oidc_provider_arn:
        return pulumi.Output.from_input(settings.existing_oidc_provider_arn)
    # NOTE: no thumbprint is given; IAM fetches and trusts the issuer's certificate chain
    # itself for providers created without one. Checked only against AWS, not offline.
    provider = aws.iam.OpenIdConnectProvider(
        "bitbucket-oidc",
        url=settings.issuer_url,
        client_id_lists=[settings.audience],
        tags=TAGS,
    )
    return provider.arn


def _role(resource_name: str, role_name: str, description: str, provider_arn: pulumi.Output[str],
          settings: BootstrapSettings, subject: str) -> aws.iam.Role:
    trust = provider_arn.apply(lambda arn: policies.trust_policy(
        arn, settings.issuer_host_path, settings.audience, subject))
    return aws.iam.Role(
        resource_name,
        name=f"{policies.ROLE_NAME_PREFIX}{role_name}",
        description=description,
        assume_role_policy=_json(trust),
        max_session_duration=settings.max_session_seconds,
        tags=TAGS,
    )


def declare_state_bucket(settings: BootstrapSettings) -> aws.s3.Bucket:
    """Declare the versioned, encrypted, private, TLS-only bucket holding Pulumi state."""
    protect = pulumi.ResourceOptions(protect=True)
    if settings.state_bucket_name:
        bucket = aws.s3.Bucket("state", bucket=settings.state_bucket_name, tags=TAGS, opts=protect)
    else:
        bucket = aws.s3.Bucket("state", bucket_prefix="webstack-state-", tags=TAGS, opts=protect)
    child = pulumi.ResourceOptions(parent=bucket)

    aws.s3.BucketOwnershipControls(
        "state-ownership", bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
    public_access = aws.s3.BucketPublicAccessBlock(
        "state-public-access", bucket=bucket.id, block_public_acls=True,
        block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True,
        opts=child)
    aws.s3.BucketVersioning(
        "state-versioning", bucket=bucket.id,
        versioning_configuration={"status": "Enabled"}, opts=child)
    # SSE-S3 encrypts every object at rest; the secret values inside a state file are in
    # addition encrypted by that stack's KMS key (the awskms:// secrets provider).
    aws.s3.BucketServerSideEncryptionConfiguration(
        "state-encryption", bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"},
                "bucket_key_enabled": True}], opts=child)
    aws.s3.BucketLifecycleConfiguration(
        "state-lifecycle", bucket=bucket.id,
        rules=[{
            "id": "expire-old-state-versions",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_STATE_DAYS},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        }], opts=child)
    # The policy waits for the public access block, as AWS applies both to the same bucket.
    aws.s3.BucketPolicy(
        "state-tls-only", bucket=bucket.id,
        policy=_json(bucket.arn.apply(policies.tls_only_bucket_policy)),
        opts=pulumi.ResourceOptions(parent=bucket, depends_on=[public_access]))
    return bucket


def declare_roles(settings: BootstrapSettings, provider_arn: pulumi.Output[str],
                  bucket: aws.s3.Bucket, account_id: str, partition: str) -> CiRoles:
    """Declare every CI role with its trust policy and permissions."""
    view_only = f"arn:{partition}:iam::aws:{VIEW_ONLY_POLICY}"
    pr_role = _role(
        "ci-pr-preview", "pr-preview",
        "Read-only pulumi preview from any Bitbucket Pipelines step of the repository",
        provider_arn, settings, policies.repository_subject(settings.repository_uuid))
    roles = CiRoles(pull_request_preview=pr_role)
    _attach_preview_permissions("ci-pr-preview", pr_role, bucket, settings,
                                list(settings.pull_request_preview_stacks), view_only)

    for env in settings.environments:
        deploy = _role(
            f"ci-deploy-{env.name}", f"deploy-{env.name}",
            f"pulumi up of stack {env.stack} from the Bitbucket deployment environment "
            f"{env.name}",
            provider_arn, settings,
            policies.environment_subject(settings.repository_uuid,
                                         env.deployment_environment_uuid))
        aws.iam.RolePolicy(
            f"ci-deploy-{env.name}-permissions", role=deploy.id,
            policy=_json(bucket.arn.apply(lambda arn, stack=env.stack: policies.deploy_policy(
                account_id=account_id, partition=partition, bucket_arn=arn,
                project=settings.project, stack=stack))),
            opts=pulumi.ResourceOptions(parent=deploy))
        roles.deploy[env.name] = deploy

        if env.preview_deployment_environment_uuid:
            preview = _role(
                f"ci-preview-{env.name}", f"preview-{env.name}",
                f"Read-only pulumi preview of stack {env.stack} before a manual deployment",
                provider_arn, settings,
                policies.environment_subject(settings.repository_uuid,
                                             env.preview_deployment_environment_uuid))
            _attach_preview_permissions(f"ci-preview-{env.name}", preview, bucket, settings,
                                        [env.stack], view_only)
            roles.preview[env.name] = preview
    return roles


def _attach_preview_permissions(name: str, role: aws.iam.Role, bucket: aws.s3.Bucket,
                                settings: BootstrapSettings, stacks: list[str],
                                view_only_arn: str) -> None:
    child = pulumi.ResourceOptions(parent=role)
    aws.iam.RolePolicyAttachment(f"{name}-view-only", role=role.name, policy_arn=view_only_arn,
                                 opts=child)
    aws.iam.RolePolicy(
        f"{name}-permissions", role=role.id,
        policy=_json(bucket.arn.apply(lambda arn: policies.preview_policy(
            bucket_arn=arn, project=settings.project, stacks=stacks))),
        opts=child)


def declare_secrets_keys(settings: BootstrapSettings, roles: CiRoles, account_id: str,
                         partition: str) -> dict[str, aws.kms.Key]:
    """Declare one rotating KMS key (and alias) per stack, usable only by that stack's roles."""
    keys: dict[str, aws.kms.Key] = {}
    key_users = list(settings.key_user_arns)
    for stack in settings.stacks:
        writers = [roles.deploy[env.name].arn for env in settings.environments
                   if env.stack == stack]
        readers = [roles.preview[env.name].arn for env in settings.environments
                   if env.stack == stack and env.name in roles.preview]
        if stack in settings.pull_request_preview_stacks:
            readers.append(roles.pull_request_preview.arn)
        policy = pulumi.Output.all(writers, readers).apply(
            lambda arns: policies.key_policy(
                account_id=account_id, partition=partition,
                writer_arns=[*arns[0], *key_users], reader_arns=list(arns[1])))
        key = aws.kms.Key(
            f"secrets-{stack}",
            description=f"Pulumi secrets provider of stack {settings.project}/{stack}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=_json(policy),
            tags=TAGS,
            opts=pulumi.ResourceOptions(protect=True),
        )
        aws.kms.Alias(f"secrets-{stack}", name=f"alias/{settings.project}-{stack}",
                      target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=key))
        keys[stack] = key
    return keys


def declare(settings: BootstrapSettings) -> dict[str, Any]:
    """Declare everything and return the stack exports (names the pipeline docs refer to)."""
    identity = aws.get_caller_identity()
    partition = aws.get_partition().partition
    region = aws.get_region().region

    provider_arn = declare_oidc_provider(settings)
    bucket = declare_state_bucket(settings)
    roles = declare_roles(settings, provider_arn, bucket, identity.account_id, partition)
    keys = declare_secrets_keys(settings, roles, identity.account_id, partition)

    return {
        "oidcProviderArn": provider_arn,
        "oidcAudience": settings.audience,
        "stateBucketName": bucket.bucket,
        "backendUrl": bucket.bucket.apply(lambda name: f"s3://{name}?region={region}&awssdk=v2"),
        "secretsProviders": {
            stack: f"awskms://alias/{settings.project}-{stack}?region={region}" for stack in keys
        },
        "secretsKeyArns": {stack: key.arn for stack, key in keys.items()},
        "pullRequestPreviewRoleArn": roles.pull_request_preview.arn,
        "deployRoleArns": {name: role.arn for name, role in roles.deploy.items()},
        "previewRoleArns": {name: role.arn for name, role in roles.preview.items()},
    }
