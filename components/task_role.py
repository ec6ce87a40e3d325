"""TaskRole: the IAM role that the app's own code assumes inside an ECS task.

The role grants only what the app uses: read access to one S3 prefix and the statements the
data services hand over in their attachments. The image pull, the log stream and the secret
injection belong to the execution role that FargateService creates, never to this role.
"""

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.errors import ComponentInputError
from components.tokens import type_token

COMPONENT = "TaskRole"

ECS_TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"
"""Service principal that ECS uses to assume task roles and task execution roles."""

_ACCOUNT_ID = re.compile(r"^\d{12}$")

# S3 bucket naming rules for general purpose buckets (Amazon S3 user guide, "General purpose
# bucket naming rules").
_BUCKET_CHARACTERS = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


@dataclass(frozen=True, kw_only=True)
class S3ReadGrant:
    """Read access to the objects under one prefix of one bucket."""

    bucket_name: str
    """Bucket name, not ARN (for example `acme-files`)."""
    prefix: str = ""
    """Key prefix, without a leading `/` (for example `uploads/`). Default: the whole bucket."""


@dataclass(frozen=True, kw_only=True)
class TaskRoleArgs:
    """Arguments of TaskRole."""

    account_id: pulumi.Input[str]
    """AWS account id (12 digits); only ECS tasks of this account may assume the role."""
    s3_read: S3ReadGrant | None = None
    """S3 objects the app may read. Default: none."""
    statements: Sequence[pulumi.Input[Mapping[str, Any]]] = ()
    """Further IAM policy statements, usually `ServiceAttachment.task_role_statements`.
    Every `Action` must name its actions exactly: wildcards and `NotAction` are rejected.
    Default: none."""


# -- pure functions ------------------------------------------------------------------------


def validate_account_id(account_id: object, component: str = COMPONENT) -> None:
    """Raise ComponentInputError unless a plain `account_id` is 12 digits.

    An Output passes here. `ecs_tasks_trust_policy` checks its value once it is known.
    """
    if isinstance(account_id, pulumi.Output):
        return
    if not isinstance(account_id, str) or not _ACCOUNT_ID.match(account_id):
        raise ComponentInputError(
            component,
            "account_id",
            account_id,
            "an AWS account id is exactly 12 digits, as a string (for example '123456789012').",
        )


def validate_bucket_name(bucket_name: object, component: str = COMPONENT) -> None:
    """Raise ComponentInputError unless `bucket_name` follows the S3 bucket naming rules."""

    def reject(rule: str) -> ComponentInputError:
        return ComponentInputError(
            component,
            "s3_read.bucket_name",
            bucket_name,
            f"S3 bucket names {rule}; pass the bucket's name, not its ARN or URL.",
        )

    if not isinstance(bucket_name, str):
        raise reject("are strings")
    if not 3 <= len(bucket_name) <= 63:
        raise reject("are 3 to 63 characters long")
    if not _BUCKET_CHARACTERS.match(bucket_name):
        raise reject(
            "contain only lowercase letters, digits, '.' and '-', and begin and end "
            "with a letter or digit"
        )
    if ".." in bucket_name:
        raise reject("contain no two adjacent periods")
    try:
        ipaddress.IPv4Address(bucket_name)
    except ValueError:
        pass
    else:
        raise reject("are not formatted as an IP address")
    if bucket_name.startswith(_BUCKET_RESERVED_PREFIXES):
        raise reject(f"do not start with {', '.join(_BUCKET_RESERVED_PREFIXES)}")
    if bucket_name.endswith(_BUCKET_RESERVED_SUFFIXES):
        raise reject(f"do not end with {', '.join(_BUCKET_RESERVED_SUFFIXES)}")


def validate_prefix(prefix: object, component: str = COMPONENT) -> None:
    """Raise ComponentInputError unless `prefix` is a plain S3 key prefix.

    A leading `/` would match no key, because S3 keys of `bucket/uploads/x` are `uploads/x`.
    `*` and `?` would widen the grant, because the prefix ends up in IAM patterns.
    """
    if not isinstance(prefix, str):
        raise ComponentInputError(
            component, "s3_read.prefix", prefix, "the prefix is a string such as 'uploads/'."
        )
    if prefix.startswith("/"):
        raise ComponentInputError(
            component,
            "s3_read.prefix",
            prefix,
            f"S3 keys do not start with '/'; use {prefix.lstrip('/')!r}.",
        )
    if "*" in prefix or "?" in prefix:
        raise ComponentInputError(
            component,
            "s3_read.prefix",
            prefix,
            "the prefix may not contain the IAM wildcards '*' or '?'; name the exact prefix.",
        )


def check_statement(statement: object, index: int, component: str = COMPONENT) -> None:
    """Raise ComponentInputError unless `statement` grants exactly named actions.

    Rejected: a non-mapping, a missing or wildcard `Action` (`*`, `s3:*`, `s3:Get*`),
    and `NotAction`, which grants everything it does not list.
    """
    argument = f"statements[{index}]"
    if not isinstance(statement, Mapping):
        raise ComponentInputError(
            component,
            argument,
            statement,
            "each statement is a mapping such as "
            "{'Effect': 'Allow', 'Action': ['s3:GetObject'], 'Resource': [...]}.",
        )
    if "NotAction" in statement:
        raise ComponentInputError(
            component,
            argument,
            statement,
            "NotAction grants every action it does not list; list the actions in Action.",
        )
    actions = statement.get("Action")
    if isinstance(actions, str):
        actions = [actions]
    if not actions or not all(isinstance(a, str) for a in actions):
        raise ComponentInputError(
            component,
            argument,
            statement,
            "Action is missing; name each action, for example ['s3:GetObject'].",
        )
    wildcards = [a for a in actions if "*" in a or "?" in a]
    if wildcards:
        raise ComponentInputError(
            component,
            argument,
            statement,
            f"wildcard actions {wildcards} are not allowed; name each action exactly.",
        )


def _is_plain(value: object) -> bool:
    """Tell whether `value` contains no Output, so it can be checked before deployment."""
    if isinstance(value, pulumi.Output):
        return False
    if isinstance(value, Mapping):
        return all(_is_plain(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    return True


def validate_args(args: TaskRoleArgs) -> None:
    """Check every plain value of `args`; statements with Outputs are checked once known."""
    validate_account_id(args.account_id)
    if args.s3_read is not None:
        validate_bucket_name(args.s3_read.bucket_name)
        validate_prefix(args.s3_read.prefix)
    for index, statement in enumerate(args.statements):
        if _is_plain(statement):
            check_statement(statement, index)


def ecs_tasks_trust_policy(account_id: str, partition: str, component: str = COMPONENT) -> str:
    """Return the trust policy JSON that lets ECS tasks of one account assume a role.

    Raises ComponentInputError when `account_id` is not 12 digits. The `aws:SourceAccount`
    and `aws:SourceArn` conditions stop another account's ECS from using the role (the
    confused-deputy guard of the ECS developer guide, "Task IAM role").
    """
    validate_account_id(account_id, component)
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ECS_TASKS_PRINCIPAL},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account_id},
                        "ArnLike": {"aws:SourceArn": f"arn:{partition}:ecs:*:{account_id}:*"},
                    },
                }
            ],
        }
    )


def s3_read_statements(grant: S3ReadGrant, partition: str) -> list[dict[str, Any]]:
    """Return the statements that let the app list and read the objects under one prefix.

    With an empty prefix the ListBucket statement has no `s3:prefix` condition: a list
    request without a prefix carries no `s3:prefix` key, and StringLike on a missing key
    would deny it.
    """
    bucket_arn = f"arn:{partition}:s3:::{grant.bucket_name}"
    list_statement: dict[str, Any] = {
        "Sid": "ListPrefix",
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": [bucket_arn],
    }
    if grant.prefix:
        list_statement["Condition"] = {"StringLike": {"s3:prefix": [f"{grant.prefix}*"]}}
    return [
        {
            "Sid": "ReadObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket_arn}/{grant.prefix}*"],
        },
        list_statement,
    ]


def task_policy(
    s3_read: S3ReadGrant | None, statements: Sequence[Mapping[str, Any]], partition: str
) -> str:
    """Return the inline policy JSON: the S3 read statements, then the given statements."""
    for index, statement in enumerate(statements):
        check_statement(statement, index)
    all_statements: list[Mapping[str, Any]] = []
    if s3_read is not None:
        all_statements.extend(s3_read_statements(s3_read, partition))
    all_statements.extend(statements)
    return json.dumps({"Version": "2012-10-17", "Statement": all_statements})


# -- component -----------------------------------------------------------------------------


class TaskRole(pulumi.ComponentResource):
    """The IAM role of the app's code in an ECS task.

    Creates `aws.iam.Role` `<name>-role`, which only ECS tasks of `account_id` can assume,
    and, only when there are grants, `aws.iam.RolePolicy` `<name>-policy`. A role without
    grants has no policy at all.
    """

    role: aws.iam.Role
    policy: aws.iam.RolePolicy | None
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: TaskRoleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(type_token("iam", COMPONENT), name, None, opts)
        validate_args(args)

        # The partition makes the ARNs valid in GovCloud and China too.
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        self.role = aws.iam.Role(
            f"{name}-role",
            description=f"ECS task role of {name}: what the app's code may call",
            assume_role_policy=pulumi.Output.all(args.account_id, partition).apply(
                lambda values: ecs_tasks_trust_policy(values[0], values[1])
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.policy = None
        if args.s3_read is not None or args.statements:
            s3_read = args.s3_read
            self.policy = aws.iam.RolePolicy(
                f"{name}-policy",
                role=self.role.name,
                policy=pulumi.Output.all(partition, *args.statements).apply(
                    lambda values: task_policy(s3_read, values[1:], values[0])
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.role_arn = self.role.arn
        self.role_name = self.role.name
        self.register_outputs({"role_arn": self.role_arn, "role_name": self.role_name})
