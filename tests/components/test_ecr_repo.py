"""Unit tests of the EcrRepo component under the recording mocks."""

import dataclasses
import json

import pytest

from components.ecr_repo import EcrRepo, EcrRepoArgs, ImageBuild, lifecycle_policy
from components.errors import ComponentInputError
from tests.components.resolve import resolve
from tools.mock_runtime import ACCOUNT_ID, is_secret, run

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
IMAGE = "docker:index/image:Image"
COMPONENT = "webstack:ecr:EcrRepo"
SHA = "0123456789abcdef0123456789abcdef01234567"
BUILD = ImageBuild(context="app", tag=SHA)
DIGEST = "sha256:" + "a" * 64


def build(args: EcrRepoArgs, name: str = "web") -> EcrRepo:
    box: list[EcrRepo] = []
    run(lambda: box.append(EcrRepo(name, args)))
    return box[0]


def unwrap(value):
    """Return the plain value inside Pulumi's secret wrapper."""
    assert is_secret(value)
    return value["value"]


# -- repository --------------------------------------------------------------------------------


def test_ecr_repo_is_immutable_scanned_and_kms_encrypted(pulumi_mocks):
    build(EcrRepoArgs(build=BUILD))

    inputs = pulumi_mocks.find(REPOSITORY, "web-repo").inputs
    assert inputs["imageTagMutability"] == "IMMUTABLE"
    assert inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert inputs["encryptionConfigurations"] == [{"encryptionType": "KMS"}]
    assert "kmsKey" not in inputs["encryptionConfigurations"][0]
    assert inputs["forceDelete"] is False
    assert "name" not in inputs


def test_ecr_repo_force_delete_comes_from_args(pulumi_mocks):
    build(EcrRepoArgs(build=BUILD, force_delete=True))

    assert pulumi_mocks.find(REPOSITORY, "web-repo").inputs["forceDelete"] is True


def test_ecr_repo_outputs_are_the_repository(pulumi_mocks):
    repo = build(EcrRepoArgs(build=BUILD))

    outputs = pulumi_mocks.find(REPOSITORY, "web-repo").outputs
    assert resolve(repo.repository_url) == outputs["repositoryUrl"]
    assert resolve(repo.repository_arn) == outputs["arn"]
    assert resolve(repo.repository_name) == outputs["name"]


def test_ecr_repo_children_have_the_component_as_parent(pulumi_mocks):
    build(EcrRepoArgs(build=BUILD))

    children = {(r.type, r.name) for r in pulumi_mocks.children_of(COMPONENT, "web")}
    assert children == {
        (REPOSITORY, "web-repo"),
        (LIFECYCLE, "web-lifecycle"),
        (IMAGE, "web-image"),
    }


# -- lifecycle policy --------------------------------------------------------------------------


def test_ecr_repo_lifecycle_policy_on_the_repository(pulumi_mocks):
    build(EcrRepoArgs(build=BUILD, keep_tagged_images=12, untagged_expiry_days=3))

    policy = pulumi_mocks.find(LIFECYCLE, "web-lifecycle").inputs
    repository = pulumi_mocks.find(REPOSITORY, "web-repo").outputs
    assert policy["repository"] == repository["name"]
    assert json.loads(policy["policy"]) == lifecycle_policy(12, 3)


def test_lifecycle_expires_untagged_first():
    untagged, _ = lifecycle_policy(30, 7)["rules"]

    assert untagged["rulePriority"] == 1
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 7,
    }
    assert untagged["action"] == {"type": "expire"}


def test_lifecycle_keeps_newest_tagged_images():
    untagged, tagged = lifecycle_policy(30, 7)["rules"]

    assert tagged["rulePriority"] > untagged["rulePriority"]
    assert tagged["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": ["*"],
        "countType": "imageCountMoreThan",
        "countNumber": 30,
    }
    assert tagged["action"] == {"type": "expire"}


# -- build mode --------------------------------------------------------------------------------


def test_ecr_repo_builds_and_pushes_to_the_repository(pulumi_mocks):
    build(
        EcrRepoArgs(
            build=ImageBuild(
                context="app",
                tag=SHA,
                dockerfile="app/Dockerfile",
                platform="linux/arm64",
                build_args={"APP_VERSION": "1.2.3"},
            )
        )
    )

    image = pulumi_mocks.find(IMAGE, "web-image").inputs
    url = pulumi_mocks.find(REPOSITORY, "web-repo").outputs["repositoryUrl"]
    assert image["imageName"] == f"{url}:{SHA}"
    assert image["build"] == {
        "context": "app",
        "dockerfile": "app/Dockerfile",
        "platform": "linux/arm64",
        "args": {"APP_VERSION": "1.2.3"},
    }
    assert image["skipPush"] is False


def test_ecr_repo_build_defaults(pulumi_mocks):
    build(EcrRepoArgs(build=BUILD))

    image = pulumi_mocks.find(IMAGE, "web-image").inputs
    assert image["build"]["platform"] == "linux/amd64"
    assert "dockerfile" not in image["build"]
    assert image["build"].get("args", {}) == {}


def test_ecr_repo_registry_login(pulumi_mocks):
    build(EcrRepoArgs(build=BUILD))

    registry = unwrap(pulumi_mocks.find(IMAGE, "web-image").inputs["registry"])
    url = pulumi_mocks.find(REPOSITORY, "web-repo").outputs["repositoryUrl"]
    assert registry["server"] == url.split("/")[0]
    assert registry["server"] == f"{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com"
    assert registry["username"] == "AWS"
    assert registry["password"] == "ecr-token"


def test_ecr_repo_token_is_for_the_repository_registry(pulumi_mocks, monkeypatch):
    calls: list[tuple[str, dict]] = []
    answer = pulumi_mocks.call

    def call(args):
        calls.append((args.token, dict(args.args)))
        return answer(args)

    monkeypatch.setattr(pulumi_mocks, "call", call)
    build(EcrRepoArgs(build=BUILD))

    registry_id = pulumi_mocks.find(REPOSITORY, "web-repo").outputs["registryId"]
    assert calls == [
        ("aws:ecr/getAuthorizationToken:getAuthorizationToken", {"registryId": registry_id})
    ]


def test_ecr_repo_registry_credentials_are_secret(pulumi_mocks):
    build(EcrRepoArgs(build=BUILD))

    assert is_secret(pulumi_mocks.find(IMAGE, "web-image").inputs["registry"])


def test_ecr_repo_image_uri_is_the_pushed_digest(pulumi_mocks):
    repo = build(EcrRepoArgs(build=BUILD))

    digest = pulumi_mocks.find(IMAGE, "web-image").outputs["repoDigest"]
    url = pulumi_mocks.find(REPOSITORY, "web-repo").outputs["repositoryUrl"]
    assert resolve(repo.image_uri) == digest
    assert digest.startswith(f"{url}@sha256:")


# -- prebuilt mode -----------------------------------------------------------------------------


def repository_url(mocks) -> str:
    """Return the URL the mock gives the repository of component `web`, then forget the run."""
    url = resolve(build(EcrRepoArgs(build=BUILD)).repository_url)
    mocks.records.clear()
    return url


def test_ecr_repo_prebuilt_uri_is_passed_through(pulumi_mocks):
    uri = f"{repository_url(pulumi_mocks)}@{DIGEST}"

    repo = build(EcrRepoArgs(prebuilt_image_uri=uri))

    assert resolve(repo.image_uri) == uri
    assert pulumi_mocks.of_type(IMAGE) == []


def test_ecr_repo_rejects_prebuilt_image_of_another_repository(pulumi_mocks):
    uri = f"{ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/staging-repo@{DIGEST}"

    # Raised inside `apply`; the runtime re-raises it as a ValueError with the same text.
    with pytest.raises(
        ValueError, match=r"EcrRepo: invalid prebuilt_image_uri=.*staging-repo.*this stack's"
    ):
        build(EcrRepoArgs(prebuilt_image_uri=uri))


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (EcrRepoArgs(), r"build/prebuilt_image_uri=.*set exactly one"),
        (
            EcrRepoArgs(build=BUILD, prebuilt_image_uri=f"r.example.com/x@{DIGEST}"),
            r"set exactly one",
        ),
        (EcrRepoArgs(prebuilt_image_uri="r.example.com/x:v1"), r"prebuilt_image_uri=.*@sha256"),
        (
            EcrRepoArgs(prebuilt_image_uri=f"r.example.com/x:v1@{DIGEST}"),
            r"without a tag",
        ),
        (
            EcrRepoArgs(prebuilt_image_uri="r.example.com/x@sha256:" + "a" * 63),
            r"64 hex digits",
        ),
        (EcrRepoArgs(prebuilt_image_uri=f"x@{DIGEST}"), r"<registry>/<repository>"),
        (EcrRepoArgs(build=BUILD, keep_tagged_images=0), r"keep_tagged_images=0.*from 1 to 1000"),
        (EcrRepoArgs(build=BUILD, keep_tagged_images=1001), r"from 1 to 1000"),
        (EcrRepoArgs(build=BUILD, keep_tagged_images=True), r"keep_tagged_images=True"),
        (EcrRepoArgs(build=BUILD, untagged_expiry_days=0), r"untagged_expiry_days=0.*at least 1"),
        (EcrRepoArgs(build=BUILD, untagged_expiry_days=1.5), r"untagged_expiry_days=1.5"),
        (EcrRepoArgs(build=BUILD, force_delete="yes"), r"force_delete='yes'"),
    ],
)
def test_ecr_repo_rejects_invalid_args(pulumi_mocks, args, message):
    with pytest.raises(ComponentInputError, match=message):
        build(args)

    assert pulumi_mocks.records == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tag": "latest"}, r"build\.tag='latest'.*immutable"),
        ({"tag": ""}, r"build\.tag=''; expected a git SHA"),
        ({"tag": ".hidden"}, r"build\.tag"),
        ({"tag": "v1/2"}, r"build\.tag"),
        ({"tag": "a" * 129}, r"build\.tag"),
        ({"platform": "linux/arm/v7"}, r"build\.platform=.*'linux/amd64', 'linux/arm64'"),
        ({"platform": "windows/amd64"}, r"build\.platform"),
        ({"context": ""}, r"build\.context=''"),
        ({"dockerfile": ""}, r"build\.dockerfile=''"),
        ({"build_args": {"BAD-NAME": "x"}}, r"fix \['BAD-NAME'\]"),
        ({"build_args": {"PORT": 8000}}, r"fix \['PORT'\]"),
    ],
)
def test_ecr_repo_rejects_invalid_build(pulumi_mocks, change, message):
    with pytest.raises(ComponentInputError, match=message):
        build(EcrRepoArgs(build=dataclasses.replace(BUILD, **change)))


@pytest.mark.parametrize("tag", ["abc1234", SHA, "v1.2.3", "release_2024-01-02", "a" * 128])
def test_ecr_repo_accepts_tags(pulumi_mocks, tag):
    build(EcrRepoArgs(build=dataclasses.replace(BUILD, tag=tag)))

    assert pulumi_mocks.find(IMAGE, "web-image").inputs["imageName"].endswith(f":{tag}")


@pytest.mark.parametrize("name", ["Web", "web--app", "-web", "web/app", "w" * 201])
def test_ecr_repo_rejects_names_ecr_cannot_take(pulumi_mocks, name):
    with pytest.raises(ComponentInputError, match=r"EcrRepo: invalid name=.*lowercase"):
        build(EcrRepoArgs(build=BUILD), name=name)


def test_ecr_repo_accepts_boundary_counts(pulumi_mocks):
    build(EcrRepoArgs(build=BUILD, keep_tagged_images=1000, untagged_expiry_days=1))

    policy = json.loads(pulumi_mocks.find(LIFECYCLE, "web-lifecycle").inputs["policy"])
    assert [rule["selection"]["countNumber"] for rule in policy["rules"]] == [1, 1000]


def test_ecr_repo_fixed_repository_name(pulumi_mocks):
    build(EcrRepoArgs(build=BUILD, repository_name="webstack-prod"))
    repo = pulumi_mocks.find("aws:ecr/repository:Repository", "web-repo")
    assert repo.inputs["name"] == "webstack-prod"


def test_ecr_repo_rejects_invalid_repository_name():
    with pytest.raises(ComponentInputError, match=r"invalid repository_name='Web_Prod'"):
        EcrRepo("web", EcrRepoArgs(build=BUILD, repository_name="Web_Prod"))
