"""EcrRepo: the private image repository and the one image the service runs, by digest."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from components.errors import ComponentInputError
from components.tokens import type_token

COMPONENT = "EcrRepo"

PLATFORMS = ("linux/amd64", "linux/arm64")
"""The CPU architectures Fargate runs (X86_64 and ARM64)."""

# The repository is auto-named `<name>-repo-<7 random characters>`, and ECR names are
# lowercase words joined by single '.', '_' or '-' (ECR API reference, CreateRepository).
_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_MAX_NAME_LENGTH = 200
# A Docker tag: up to 128 word characters, dots and dashes, not starting with either
# (Docker CLI reference, `docker image tag`). A git SHA (7 to 40 hex digits) is one.
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_BUILD_ARG = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# `<registry host>[:port]/<repository path>@sha256:<64 hex digits>`, without a tag.
_IMAGE_BY_DIGEST = re.compile(
    r"^(?P<repository>[a-z0-9.-]+(?::[0-9]+)?/[a-z0-9]+(?:(?:[._-]|__|/)[a-z0-9]+)*)"
    r"@sha256:[0-9a-f]{64}$"
)
_MAX_KEPT_IMAGES = 1000


@dataclass(frozen=True, kw_only=True)
class ImageBuild:
    """How to build the image on `pulumi up`."""

    context: str
    """Build context directory, relative to the Pulumi project, for example `app`."""
    tag: str
    """Image tag, normally the git commit SHA. Tags are immutable, so each build needs a new
    one; `latest` is rejected for that reason."""
    dockerfile: str | None = None
    """Path of the Dockerfile. Default: `Dockerfile` in the build context."""
    platform: str = "linux/amd64"
    """Target platform, `linux/amd64` or `linux/arm64`; it must match the task's CPU
    architecture. Default: linux/amd64 (Fargate's X86_64)."""
    build_args: Mapping[str, str] = field(default_factory=dict)
    """`--build-arg` values. Default: none. Never a secret: build args stay in the image
    history."""


@dataclass(frozen=True, kw_only=True)
class EcrRepoArgs:
    """Arguments of `EcrRepo`: exactly one of `build` and `prebuilt_image_uri`."""

    build: ImageBuild | None = None
    """Build and push the image on `pulumi up`. Default: None."""
    prebuilt_image_uri: str | None = None
    """An image already pushed to this repository, as `<repository url>@sha256:<digest>`,
    for a pipeline that builds before it deploys. The deploy fails if it names another
    repository, which is checked once the repository URL is known. Default: None."""
    keep_tagged_images: int = 30
    """Images kept, newest first, 1 to 1000; older ones are expired. Default: 30, so a
    rollback can go back 30 builds."""
    untagged_expiry_days: int = 7
    """Days after which an untagged image (a layer left by a failed or replaced push) is
    expired, at least 1. Default: 7 days."""
    force_delete: bool = False
    """Delete the repository even if it contains images. Default: False, so destroying the
    stack keeps the images the running service may still pull."""
    repository_name: str | None = None
    """Physical repository name. Default: None, so Pulumi names it `<name>-repo-<suffix>`.
    Set a fixed name when a pipeline pushes images before the stack exists, because only
    then is the repository URL known in advance. Renaming replaces the repository."""


def _invalid(argument: str, value: object, allowed: str) -> ComponentInputError:
    return ComponentInputError(COMPONENT, argument, value, allowed)


def _check_int(argument: str, value: object, low: int, high: int | None) -> None:
    in_range = type(value) is int and value >= low and (high is None or value <= high)
    if not in_range:
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise _invalid(argument, value, f"expected a whole number {bound}")


def check_build(build: ImageBuild) -> None:
    """Raise `ComponentInputError` for an invalid build setting."""
    if not isinstance(build.context, str) or not build.context:
        raise _invalid("build.context", build.context, "expected a directory, for example 'app'")
    if not isinstance(build.tag, str) or not _TAG.match(build.tag):
        raise _invalid(
            "build.tag",
            build.tag,
            "expected a git SHA or a Docker tag: 1 to 128 letters, digits, '_', '.' and '-', "
            "not starting with '.' or '-'",
        )
    if build.tag == "latest":
        raise _invalid(
            "build.tag",
            build.tag,
            "the repository's tags are immutable, so 'latest' could be pushed only once; "
            "use the git commit SHA",
        )
    if build.dockerfile is not None and (
        not isinstance(build.dockerfile, str) or not build.dockerfile
    ):
        raise _invalid("build.dockerfile", build.dockerfile, "expected a path or None")
    if build.platform not in PLATFORMS:
        raise _invalid("build.platform", build.platform, f"expected one of {list(PLATFORMS)}")
    bad_args = [
        key
        for key, value in build.build_args.items()
        if not isinstance(key, str) or not _BUILD_ARG.match(key) or not isinstance(value, str)
    ]
    if bad_args:
        raise _invalid(
            "build.build_args",
            dict(build.build_args),
            f"expected names such as 'APP_VERSION' with string values; fix {bad_args}",
        )


def validate_args(name: str, args: EcrRepoArgs) -> None:
    """Raise `ComponentInputError` for the first invalid plain argument."""
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > _MAX_NAME_LENGTH:
        raise _invalid(
            "name",
            name,
            f"expected 1 to {_MAX_NAME_LENGTH} lowercase letters and digits joined by single "
            "'.', '_' or '-', because it starts the repository name",
        )
    if args.repository_name is not None and (
        not _NAME.match(args.repository_name) or len(args.repository_name) > _MAX_NAME_LENGTH
    ):
        raise _invalid(
            "repository_name",
            args.repository_name,
            f"expected 1 to {_MAX_NAME_LENGTH} lowercase letters and digits joined by single "
            "'.', '_' or '-'",
        )
    if (args.build is None) == (args.prebuilt_image_uri is None):
        raise _invalid(
            "build/prebuilt_image_uri",
            (args.build, args.prebuilt_image_uri),
            "set exactly one: build to build and push on deploy, or prebuilt_image_uri for "
            "an image already pushed",
        )
    if args.build is not None:
        check_build(args.build)
    elif not isinstance(args.prebuilt_image_uri, str) or not _IMAGE_BY_DIGEST.match(
        args.prebuilt_image_uri
    ):
        raise _invalid(
            "prebuilt_image_uri",
            args.prebuilt_image_uri,
            "expected '<registry>/<repository>@sha256:<64 hex digits>', without a tag",
        )
    _check_int("keep_tagged_images", args.keep_tagged_images, 1, _MAX_KEPT_IMAGES)
    _check_int("untagged_expiry_days", args.untagged_expiry_days, 1, None)
    if not isinstance(args.force_delete, bool):
        raise _invalid("force_delete", args.force_delete, "expected True or False")


def lifecycle_policy(keep_tagged_images: int, untagged_expiry_days: int) -> dict:
    """Return the ECR lifecycle policy document for the two expiry rules.

    The count rule selects `tagged` images with the pattern `*` rather than `any`, because
    a lower-priority rule cannot expire the images an earlier rule selects but still counts
    them (ECR user guide, "Lifecycle policies"). An `any` rule would therefore keep fewer
    tagged images whenever recent untagged ones exist. A `tagged` rule needs a
    `tagPatternList` or `tagPrefixList`.
    """
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire untagged images after {untagged_expiry_days} days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": untagged_expiry_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the newest {keep_tagged_images} tagged images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_tagged_images,
                },
                "action": {"type": "expire"},
            },
        ]
    }


def _registry_host(repository_url: str) -> str:
    return repository_url.split("/", 1)[0]


class EcrRepo(pulumi.ComponentResource):
    """The service's image repository and image.

    Creates `<name>-repo` (`aws.ecr.Repository`: immutable tags, scan on push, KMS
    encryption with the AWS-managed key), `<name>-lifecycle` (`aws.ecr.LifecyclePolicy`)
    and, in build mode, `<name>-image` (`pulumi_docker.Image`, built and pushed).
    `image_uri` is always `<repository url>@sha256:<digest>`, so a task definition names
    exactly one image and a deploy of the same digest changes nothing.
    """

    repository_url: pulumi.Output[str]
    repository_arn: pulumi.Output[str]
    repository_name: pulumi.Output[str]
    image_uri: pulumi.Output[str]

    def __init__(
        self, name: str, args: EcrRepoArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        validate_args(name, args)
        super().__init__(type_token("ecr", COMPONENT), name, None, opts)

        self.repository = aws.ecr.Repository(
            f"{name}-repo",
            name=args.repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=True
            ),
            # KMS rather than AES256: each use of the key is logged in CloudTrail, and
            # scanners such as Checkov (CKV_AWS_136) require it. Without `kms_key` ECR uses
            # the AWS-managed key `aws/ecr`. The setting cannot change after creation.
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS")
            ],
            force_delete=args.force_delete,
            opts=pulumi.ResourceOptions(parent=self),
        )
        """The repository; the main child."""

        self.lifecycle_policy = aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=self.repository.name,
            policy=json.dumps(lifecycle_policy(args.keep_tagged_images, args.untagged_expiry_days)),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.image: docker.Image | None = None
        """The built image; None with `prebuilt_image_uri`."""
        if args.build is not None:
            self.image = self._build_image(name, args.build)
            self.image_uri = self.image.repo_digest
        else:
            self.image_uri = self.repository.repository_url.apply(
                lambda url: _check_prebuilt_repository(str(args.prebuilt_image_uri), url)
            )

        self.repository_url = self.repository.repository_url
        self.repository_arn = self.repository.arn
        self.repository_name = self.repository.name
        self.register_outputs(
            {
                "repository_url": self.repository_url,
                "repository_arn": self.repository_arn,
                "repository_name": self.repository_name,
                "image_uri": self.image_uri,
            }
        )

    def _build_image(self, name: str, build: ImageBuild) -> docker.Image:
        # NOTE: `pulumi up` runs the build on this machine and pushes to ECR: it needs a
        # Docker daemon (with buildx or QEMU for a platform other than the host's) and AWS
        # credentials allowed ecr:GetAuthorizationToken and the push actions. The unit
        # tests check only the wiring.
        token = aws.ecr.get_authorization_token_output(
            registry_id=self.repository.registry_id,
            opts=pulumi.InvokeOptions(parent=self),
        )
        return docker.Image(
            f"{name}-image",
            image_name=pulumi.Output.concat(self.repository.repository_url, ":", build.tag),
            build=docker.DockerBuildArgs(
                context=build.context,
                dockerfile=build.dockerfile,
                platform=build.platform,
                args=dict(build.build_args),
            ),
            registry=docker.RegistryArgs(
                server=self.repository.repository_url.apply(_registry_host),
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            skip_push=False,
            opts=pulumi.ResourceOptions(parent=self),
        )


def _check_prebuilt_repository(image_uri: str, repository_url: str) -> str:
    """Return `image_uri` if it is in `repository_url`; raise otherwise.

    The task execution role may pull only from this repository, so an image elsewhere (for
    example the staging stack's repository) would fail when the task starts.
    """
    repository = image_uri.split("@", 1)[0]
    if repository != repository_url:
        raise _invalid(
            "prebuilt_image_uri",
            image_uri,
            f"expected an image in this stack's repository {repository_url}; push the image "
            "there and pass its digest",
        )
    return image_uri
