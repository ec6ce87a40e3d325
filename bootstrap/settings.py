"""Validated configuration of the bootstrap stack, read once before any resource is declared.

Every error names the stack file, the key, the value received, what is allowed and where
to find the right value, and is raised as `BootstrapConfigError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NAMESPACE = "webstack-bootstrap"
DEFAULT_PROJECT = "webstack"
DEFAULT_PREVIEW_STACKS = ("staging",)
DEFAULT_SESSION_SECONDS = 3600

UUID_PATTERN = re.compile(
    r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$"
)
WORKSPACE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,61}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
STACK_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
IAM_PRINCIPAL_PATTERN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$")
BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

UUID_HINT = ("copy it from Bitbucket: Repository settings > Pipelines > OpenID Connect")


class BootstrapConfigError(ValueError):
    """A bootstrap config value is missing or invalid; the message names it and the fix."""


@dataclass(frozen=True, kw_only=True)
class Environment:
    """One Bitbucket deployment environment and the Pulumi stack it deploys."""

    name: str
    """Bitbucket deployment environment name, e.g. `staging` or `production`."""
    stack: str
    """Pulumi stack of the webstack project that this environment deploys, e.g. `prod`."""
    deployment_environment_uuid: str
    """Deployment environment UUID without braces; the deploy role trusts only its steps."""
    preview_deployment_environment_uuid: str | None = None
    """UUID of a second environment (e.g. `production-preview`) whose steps get a read-only
    role for this stack, so an approver sees the diff. Default: none, no such role."""


@dataclass(frozen=True, kw_only=True)
class BootstrapSettings:
    """Everything the bootstrap program declares from, validated."""

    workspace: str
    """Bitbucket workspace slug, part of the OIDC issuer URL."""
    workspace_uuid: str
    """Workspace UUID without braces; the OIDC audience is `ari:cloud:bitbucket::workspace/<it>`."""
    repository_uuid: str
    """Repository UUID without braces; every trust policy requires it in the `sub` claim."""
    environments: tuple[Environment, ...]
    pull_request_preview_stacks: tuple[str, ...] = DEFAULT_PREVIEW_STACKS
    """Stacks the pull-request preview role may read. Default: staging only, never prod."""
    project: str = DEFAULT_PROJECT
    """Pulumi project whose state the roles may read and write. Default: webstack."""
    state_bucket_name: str | None = None
    """Physical name of the state bucket. Default: auto-named `webstack-state-<random>`."""
    key_user_arns: tuple[str, ...] = ()
    """Extra IAM principals (e.g. an admin role) allowed to use every stack's KMS key, so a
    person can run `pulumi up` by hand. Default: none, only the CI roles."""
    max_session_seconds: int = DEFAULT_SESSION_SECONDS
    """Maximum session of each CI role. Default: 3600 s, longer than the longest step."""
    existing_oidc_provider_arn: str | None = None
    """ARN of a Bitbucket OIDC provider that already exists in the account (IAM allows one
    per URL). Default: none, the provider is created."""

    @property
    def issuer_host_path(self) -> str:
        """Issuer URL without the scheme, as IAM condition keys and provider ARNs use it."""
        return f"api.bitbucket.org/2.0/workspaces/{self.workspace}/pipelines-config/identity/oidc"

    @property
    def issuer_url(self) -> str:
        return f"https://{self.issuer_host_path}"

    @property
    def audience(self) -> str:
        return f"ari:cloud:bitbucket::workspace/{self.workspace_uuid}"

    @property
    def stacks(self) -> tuple[str, ...]:
        """Every stack named by an environment, in declaration order, without repeats."""
        return tuple(dict.fromkeys(env.stack for env in self.environments))


def _fail(source: str, key: str, value: Any, allowed: str) -> BootstrapConfigError:
    return BootstrapConfigError(
        f"{source}: {NAMESPACE}:{key}: invalid value {value!r}; expected {allowed}"
    )


def _uuid(source: str, key: str, value: Any) -> str:
    match = UUID_PATTERN.match(value) if isinstance(value, str) else None
    if match is None:
        raise _fail(source, key, value, f"a UUID such as {{0f1e2d3c-...}}; {UUID_HINT}")
    return match.group(1).lower()


def _required(config: Mapping[str, Any], source: str, key: str) -> Any:
    if config.get(key) in (None, ""):
        raise BootstrapConfigError(
            f"{source}: {NAMESPACE}:{key} is missing; set it with "
            f"`pulumi config set {NAMESPACE}:{key} <value>` (docs/pipeline.md)"
        )
    return config[key]


def _string_list(source: str, key: str, value: Any, pattern: re.Pattern[str], what: str
                 ) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise _fail(source, key, value, f"a list of {what}")
    for item in value:
        if not isinstance(item, str) or not pattern.match(item):
            raise _fail(source, key, item, what)
    return tuple(value)


def _environments(source: str, value: Any) -> tuple[Environment, ...]:
    key = "environments"
    if not isinstance(value, Mapping) or not value:
        raise _fail(source, key, value, "a mapping of deployment environment name to "
                    "{stack, deploymentEnvironmentUuid}")
    environments = []
    allowed_fields = {"stack", "deploymentEnvironmentUuid", "previewDeploymentEnvironmentUuid"}
    for name, body in value.items():
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise _fail(source, key, name, "environment names of lowercase letters, digits and "
                        "dashes, at most 20 characters (they become role names)")
        where = f"{key}.{name}"
        if not isinstance(body, Mapping):
            raise _fail(source, where, body, "a mapping with stack and deploymentEnvironmentUuid")
        unknown = sorted(set(body) - allowed_fields)
        if unknown:
            raise _fail(source, where, unknown[0], f"one of {sorted(allowed_fields)}")
        stack = body.get("stack")
        if not isinstance(stack, str) or not STACK_PATTERN.match(stack):
            raise _fail(source, f"{where}.stack", stack, "a Pulumi stack name such as staging")
        preview = body.get("previewDeploymentEnvironmentUuid")
        environments.append(Environment(
            name=name,
            stack=stack,
            deployment_environment_uuid=_uuid(source, f"{where}.deploymentEnvironmentUuid",
                                              body.get("deploymentEnvironmentUuid")),
            preview_deployment_environment_uuid=(
                None if preview is None
                else _uuid(source, f"{where}.previewDeploymentEnvironmentUuid", preview)),
        ))
    uuids = [e.deployment_environment_uuid for e in environments] + [
        e.preview_deployment_environment_uuid for e in environments
        if e.preview_deployment_environment_uuid]
    duplicates = sorted({u for u in uuids if uuids.count(u) > 1})
    if duplicates:
        raise _fail(source, key, duplicates[0], "a different deployment environment UUID for "
                    "every role, otherwise one environment's steps could assume another's role")
    return tuple(environments)


def load_settings(config: Mapping[str, Any], source: str) -> BootstrapSettings:
    """Validate raw config values (keys without the namespace) and return the settings.

    `source` names the stack file in messages, e.g. `Pulumi.acme.yaml`.
    """
    workspace = _required(config, source, "workspace")
    if not isinstance(workspace, str) or not WORKSPACE_PATTERN.match(workspace):
        raise _fail(source, "workspace", workspace, "the workspace slug from the Bitbucket URL "
                    "(lowercase letters, digits, - and _)")
    workspace_uuid = _uuid(source, "workspaceUuid", _required(config, source, "workspaceUuid"))
    repository_uuid = _uuid(source, "repositoryUuid", _required(config, source, "repositoryUuid"))
    environments = _environments(source, _required(config, source, "environments"))

    stacks = {env.stack for env in environments}
    preview_stacks = _string_list(
        source, "pullRequestPreviewStacks",
        config.get("pullRequestPreviewStacks", list(DEFAULT_PREVIEW_STACKS)),
        STACK_PATTERN, "Pulumi stack names")
    for stack in preview_stacks:
        if stack not in stacks:
            raise _fail(source, "pullRequestPreviewStacks", stack,
                        f"a stack named in environments ({', '.join(sorted(stacks))})")

    project = config.get("project", DEFAULT_PROJECT)
    if not isinstance(project, str) or not STACK_PATTERN.match(project):
        raise _fail(source, "project", project, "a Pulumi project name such as webstack")

    bucket = config.get("stateBucketName")
    if bucket is not None and (not isinstance(bucket, str) or not BUCKET_PATTERN.match(bucket)
                               or ".." in bucket):
        raise _fail(source, "stateBucketName", bucket, "an S3 bucket name: 3 to 63 lowercase "
                    "letters, digits, dots and dashes")

    key_users = _string_list(source, "keyUserArns", config.get("keyUserArns", []),
                             IAM_PRINCIPAL_PATTERN, "IAM role or user ARNs")

    session = config.get("maxSessionSeconds", DEFAULT_SESSION_SECONDS)
    if isinstance(session, str) and session.isdigit():
        session = int(session)
    if not isinstance(session, int) or isinstance(session, bool) or not 3600 <= session <= 43200:
        # IAM's limits for MaxSessionDuration: 1 hour to 12 hours.
        raise _fail(source, "maxSessionSeconds", session, "an integer from 3600 to 43200")

    provider = config.get("existingOidcProviderArn")
    expected_suffix = f"oidc-provider/api.bitbucket.org/2.0/workspaces/{workspace}/" \
                      "pipelines-config/identity/oidc"
    if provider is not None and (not isinstance(provider, str)
                                 or not provider.startswith("arn:aws")
                                 or not provider.endswith(expected_suffix)):
        raise _fail(source, "existingOidcProviderArn", provider,
                    f"the ARN of the provider for this workspace, ending in {expected_suffix}")

    return BootstrapSettings(
        workspace=workspace,
        workspace_uuid=workspace_uuid,
        repository_uuid=repository_uuid,
        environments=environments,
        pull_request_preview_stacks=preview_stacks,
        project=project,
        state_bucket_name=bucket,
        key_user_arns=key_users,
        max_session_seconds=session,
        existing_oidc_provider_arn=provider,
    )


STRING_KEYS = ("workspace", "workspaceUuid", "repositoryUuid", "project", "stateBucketName",
               "maxSessionSeconds", "existingOidcProviderArn")
OBJECT_KEYS = ("environments", "pullRequestPreviewStacks", "keyUserArns")


def read_pulumi_config() -> BootstrapSettings:
    """Read the `webstack-bootstrap:*` config of the current stack and validate it."""
    import pulumi

    source = f"Pulumi.{pulumi.get_stack()}.yaml"
    config = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    for key in STRING_KEYS:
        value = config.get(key)
        if value is not None:
            raw[key] = value
    for key in OBJECT_KEYS:
        try:
            value = config.get_object(key)
        except pulumi.ConfigTypeError as error:
            raise BootstrapConfigError(f"{source}: {NAMESPACE}:{key}: invalid value; expected "
                                       f"YAML structure, not a string ({error})") from None
        if value is not None:
            raw[key] = value
    return load_settings(raw, source)
