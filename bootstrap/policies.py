"""IAM and KMS policy documents of the bootstrap stack, as plain dicts (pure functions).

Bitbucket Pipelines OIDC facts used here (Atlassian, "Integrate Pipelines with resource
servers using OIDC" and "Deploy on AWS using Bitbucket Pipelines OpenID Connect"):
- issuer: https://api.bitbucket.org/2.0/workspaces/<workspace>/pipelines-config/identity/oidc
- audience: ari:cloud:bitbucket::workspace/<workspace UUID without braces>
- sub: `{<repository UUID>}:{<step UUID>}` for a step without a deployment environment and
  `{<repository UUID>}:{<deployment environment UUID>}:{<step UUID>}` for a deployment step,
  each UUID in braces (the sample token in Atlassian's OIDC documentation, as quoted in
  gravitational/teleport pull request 48724).
AWS exposes the `aud` and `sub` claims as condition keys `<issuer host and path>:aud|sub`.
NOTE: the `sub` format is taken from that documentation sample; no real token was decoded.
"""

from __future__ import annotations

from typing import Any

POLICY_VERSION = "2012-10-17"
STATE_PREFIX = ".pulumi"

# Services the webstack program creates resources in (components/): network, ECS, ECR, ALB,
# certificates, DNS, logs and alarms, autoscaling, RDS, ElastiCache, EFS, Secrets Manager.
DEPLOY_SERVICES = (
    "ec2", "ecs", "ecr", "elasticloadbalancing", "acm", "route53", "logs", "cloudwatch",
    "application-autoscaling", "rds", "elasticache", "elasticfilesystem", "secretsmanager",
)
SERVICE_LINKED_ROLE_SERVICES = (
    "ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "rds.amazonaws.com",
    "elasticache.amazonaws.com", "elasticfilesystem.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
)
IAM_ROLE_ACTIONS = (
    "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:TagRole",
    "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:GetRolePolicy",
    "iam:DeleteRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
    "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListInstanceProfilesForRole",
    "iam:CreatePolicy", "iam:DeletePolicy", "iam:GetPolicy", "iam:GetPolicyVersion",
    "iam:ListPolicyVersions", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion",
    "iam:TagPolicy", "iam:UntagPolicy",
)
KEY_ADMIN_ACTIONS = (
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
    "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
)
KEY_USE_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")
KEY_READ_ACTIONS = ("kms:Decrypt", "kms:DescribeKey")
ROLE_NAME_PREFIX = "webstack-ci-"
"""Prefix of every role this stack creates; deploy roles are denied changes to them."""


def repository_subject(repository_uuid: str) -> str:
    """`sub` pattern matching every step of the repository, with or without deployment."""
    return f"{{{repository_uuid}}}:*"


def environment_subject(repository_uuid: str, environment_uuid: str) -> str:
    """`sub` pattern matching only the repository's steps in one deployment environment."""
    return f"{{{repository_uuid}}}:{{{environment_uuid}}}:*"


def trust_policy(provider_arn: str, issuer_host_path: str, audience: str, subject: str
                 ) -> dict[str, Any]:
    """Trust policy for AssumeRoleWithWebIdentity: the audience and the `sub` pattern must match.

    `sub` uses StringLike because the step UUID at its end differs on every run.
    """
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "BitbucketPipelinesOidc",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{issuer_host_path}:aud": audience},
                    "StringLike": {f"{issuer_host_path}:sub": subject},
                },
            }
        ],
    }


def _state_object_arns(bucket_arn: str, project: str, stack: str) -> list[str]:
    """Objects of one stack in Pulumi's DIY (self-managed) backend with project-scoped stacks."""
    # NOTE: the layout (.pulumi/stacks/<project>/<stack>.json, history/, backups/, locks/)
    # follows Pulumi's DIY backend docs; only a real `pulumi up` against S3 proves the list.
    return [
        f"{bucket_arn}/{STATE_PREFIX}/stacks/{project}/{stack}.json*",
        f"{bucket_arn}/{STATE_PREFIX}/history/{project}/{stack}/*",
        f"{bucket_arn}/{STATE_PREFIX}/backups/{project}/{stack}/*",
        f"{bucket_arn}/{STATE_PREFIX}/locks/*/{project}/{stack}/*",
    ]


def _state_statements(bucket_arn: str, project: str, stacks: list[str], write: bool
                      ) -> list[dict[str, Any]]:
    objects = [arn for stack in stacks for arn in _state_object_arns(bucket_arn, project, stack)]
    lock_objects = [f"{bucket_arn}/{STATE_PREFIX}/locks/*/{project}/{stack}/*" for stack in stacks]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListState",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{STATE_PREFIX}/*", STATE_PREFIX]}},
        },
        {
            "Sid": "ReadState",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket_arn}/{STATE_PREFIX}/meta.yaml", *objects],
        },
    ]
    statements.append({
        "Sid": "WriteState" if write else "TakeStackLock",
        "Effect": "Allow",
        "Action": ["s3:PutObject", "s3:DeleteObject"],
        "Resource": objects if write else lock_objects,
    })
    return statements


def deploy_policy(*, account_id: str, partition: str, bucket_arn: str, project: str,
                  stack: str) -> dict[str, Any]:
    """Permissions of one environment's deploy role: the program's services, the IAM roles
    it creates for ECS, and the state of its own stack only."""
    iam_prefix = f"arn:{partition}:iam::{account_id}"
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ManageStackServices",
                "Effect": "Allow",
                "Action": [f"{service}:*" for service in DEPLOY_SERVICES],
                "Resource": "*",
            },
            {
                "Sid": "ManageWorkloadRoles",
                "Effect": "Allow",
                "Action": list(IAM_ROLE_ACTIONS),
                "Resource": [f"{iam_prefix}:role/*", f"{iam_prefix}:policy/*"],
            },
            {
                "Sid": "PassRolesToEcsTasks",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": f"{iam_prefix}:role/*",
                "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            },
            {
                "Sid": "CreateServiceLinkedRoles",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": "*",
                "Condition": {"StringEquals": {
                    "iam:AWSServiceName": list(SERVICE_LINKED_ROLE_SERVICES)}},
            },
            {
                "Sid": "UseAwsManagedKeysThroughServices",
                "Effect": "Allow",
                "Action": ["kms:DescribeKey", "kms:CreateGrant", "kms:Decrypt",
                           "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringLike": {"kms:ViaService": [
                    "rds.*.amazonaws.com", "secretsmanager.*.amazonaws.com",
                    "elasticache.*.amazonaws.com", "elasticfilesystem.*.amazonaws.com",
                    "ecr.*.amazonaws.com", "logs.*.amazonaws.com"]}},
            },
            {
                "Sid": "ReadCallerIdentity",
                "Effect": "Allow",
                "Action": "sts:GetCallerIdentity",
                "Resource": "*",
            },
            *_state_statements(bucket_arn, project, [stack], write=True),
            {
                "Sid": "DenyChangesToCiAccess",
                "Effect": "Deny",
                "Action": "iam:*",
                "Resource": [f"{iam_prefix}:role/{ROLE_NAME_PREFIX}*",
                             f"{iam_prefix}:oidc-provider/*"],
            },
            {
                "Sid": "DenyAdministratorPolicies",
                "Effect": "Deny",
                "Action": ["iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"],
                "Resource": "*",
                "Condition": {"ArnLike": {"iam:PolicyARN": [
                    f"arn:{partition}:iam::aws:policy/AdministratorAccess",
                    f"arn:{partition}:iam::aws:policy/IAMFullAccess",
                    f"arn:{partition}:iam::aws:policy/PowerUserAccess"]}},
            },
        ],
    }


def preview_policy(*, bucket_arn: str, project: str, stacks: list[str]) -> dict[str, Any]:
    """Extra read permissions of a preview role, on top of AWS's ViewOnlyAccess."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ProgramLookups",
                "Effect": "Allow",
                "Action": ["sts:GetCallerIdentity", "ecr:GetAuthorizationToken",
                           "ec2:DescribeAvailabilityZones", "route53:GetHostedZone",
                           "route53:ListHostedZones", "route53:ListHostedZonesByName"],
                "Resource": "*",
            },
            *_state_statements(bucket_arn, project, stacks, write=False),
        ],
    }


def key_policy(*, account_id: str, partition: str, writer_arns: list[str],
               reader_arns: list[str]) -> dict[str, Any]:
    """KMS key policy of one stack's secrets provider key.

    The account root may administer the key but not use it, so IAM policies such as
    PowerUserAccess cannot grant Decrypt: only the listed roles can decrypt the stack's
    secrets.
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministersKey",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": list(KEY_ADMIN_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "DeployersUseKey",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(writer_arns)},
            "Action": list(KEY_USE_ACTIONS),
            "Resource": "*",
        },
    ]
    if reader_arns:
        statements.append({
            "Sid": "PreviewersDecrypt",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(reader_arns)},
            "Action": list(KEY_READ_ACTIONS),
            "Resource": "*",
        })
    return {"Version": POLICY_VERSION, "Statement": statements}


def tls_only_bucket_policy(bucket_arn: str) -> dict[str, Any]:
    """Bucket policy that denies every request not made over TLS."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
