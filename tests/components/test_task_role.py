"""TaskRole: trust policy, the inline policy only when there are grants, input checks."""

import json

import pulumi
import pytest

from components.errors import ComponentInputError
from components.task_role import (
    S3ReadGrant,
    TaskRole,
    TaskRoleArgs,
    ecs_tasks_trust_policy,
    validate_bucket_name,
)
from tools.mock_runtime import ACCOUNT_ID, run

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
COMPONENT_TYPE = "webstack:iam:TaskRole"

DYNAMO_STATEMENT = {
    "Sid": "ReadItems",
    "Effect": "Allow",
    "Action": ["dynamodb:GetItem"],
    "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/items"],
}


def declare(**fields) -> dict:
    """Declare one TaskRole named `app` and return its outputs as plain values."""
    fields.setdefault("account_id", ACCOUNT_ID)
    captured: dict = {}

    def program() -> None:
        role = TaskRole("app", TaskRoleArgs(**fields))
        captured["role"] = role
        pulumi.Output.all(role.role_arn, role.role_name).apply(
            lambda values: captured.update(role_arn=values[0], role_name=values[1])
        )

    run(program)
    return captured


def policy_document(pulumi_mocks) -> dict:
    return json.loads(pulumi_mocks.find(POLICY, "app-policy").inputs["policy"])


# -- trust policy --------------------------------------------------------------------------


def test_trust_policy_limits_to_ecs_tasks_of_account(pulumi_mocks):
    declare()

    trust = json.loads(pulumi_mocks.find(ROLE, "app-role").inputs["assumeRolePolicy"])

    assert trust == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": "123456789012"},
                    "ArnLike": {"aws:SourceArn": "arn:aws:ecs:*:123456789012:*"},
                },
            }
        ],
    }


def test_trust_policy_uses_partition():
    trust = json.loads(ecs_tasks_trust_policy("123456789012", "aws-us-gov"))

    condition = trust["Statement"][0]["Condition"]
    assert condition["ArnLike"]["aws:SourceArn"] == "arn:aws-us-gov:ecs:*:123456789012:*"


def test_role_and_policy_are_children_of_component(pulumi_mocks):
    declare(s3_read=S3ReadGrant(bucket_name="acme-files"))

    assert pulumi_mocks.find(ROLE, "app-role").parent == f"{COMPONENT_TYPE}::app"
    assert pulumi_mocks.find(POLICY, "app-policy").parent == f"{COMPONENT_TYPE}::app"


def test_outputs_are_role_arn_and_name(pulumi_mocks):
    captured = declare()

    role = pulumi_mocks.find(ROLE, "app-role")
    assert captured["role_arn"] == role.outputs["arn"]
    assert captured["role_name"] == role.outputs["name"]


# -- inline policy -------------------------------------------------------------------------


def test_role_without_grants_has_no_policy(pulumi_mocks):
    captured = declare()

    assert pulumi_mocks.of_type(POLICY) == []
    assert captured["role"].policy is None


def test_s3_read_grants_prefix_only(pulumi_mocks):
    declare(s3_read=S3ReadGrant(bucket_name="acme-files", prefix="uploads/"))

    assert policy_document(pulumi_mocks) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": ["arn:aws:s3:::acme-files/uploads/*"],
            },
            {
                "Sid": "ListPrefix",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": ["arn:aws:s3:::acme-files"],
                "Condition": {"StringLike": {"s3:prefix": ["uploads/*"]}},
            },
        ],
    }


def test_s3_read_whole_bucket_has_no_prefix_condition(pulumi_mocks):
    declare(s3_read=S3ReadGrant(bucket_name="acme-files"))

    list_statement = policy_document(pulumi_mocks)["Statement"][1]
    assert list_statement == {
        "Sid": "ListPrefix",
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": ["arn:aws:s3:::acme-files"],
    }
    read_statement = policy_document(pulumi_mocks)["Statement"][0]
    assert read_statement["Resource"] == ["arn:aws:s3:::acme-files/*"]


def test_policy_is_attached_to_role(pulumi_mocks):
    declare(statements=[DYNAMO_STATEMENT])

    role = pulumi_mocks.find(ROLE, "app-role")
    assert pulumi_mocks.find(POLICY, "app-policy").inputs["role"] == role.outputs["name"]


def test_given_statements_follow_s3_statements(pulumi_mocks):
    declare(s3_read=S3ReadGrant(bucket_name="acme-files"), statements=[DYNAMO_STATEMENT])

    statements = policy_document(pulumi_mocks)["Statement"]
    assert [s.get("Sid") for s in statements] == ["ReadObjects", "ListPrefix", "ReadItems"]
    assert statements[2] == DYNAMO_STATEMENT


def test_statements_with_outputs_are_resolved(pulumi_mocks):
    table_arn = pulumi.Output.from_input("arn:aws:dynamodb:us-east-1:123456789012:table/t")
    statement = {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": [table_arn]}

    declare(statements=[statement, pulumi.Output.from_input(DYNAMO_STATEMENT)])

    assert policy_document(pulumi_mocks)["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem"],
            "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/t"],
        },
        DYNAMO_STATEMENT,
    ]


def test_no_policy_has_a_wildcard_action(pulumi_mocks):
    declare(
        s3_read=S3ReadGrant(bucket_name="acme-files", prefix="a/"), statements=[DYNAMO_STATEMENT]
    )

    actions = [a for s in policy_document(pulumi_mocks)["Statement"] for a in s["Action"]]
    assert actions == ["s3:GetObject", "s3:ListBucket", "dynamodb:GetItem"]


# -- statement checks ----------------------------------------------------------------------


@pytest.mark.parametrize("action", ["*", "s3:*", ["s3:GetObject", "s3:Get*"], "s3:GetObjec?"])
def test_wildcard_action_is_rejected(pulumi_mocks, action):
    statement = {"Effect": "Allow", "Action": action, "Resource": "*"}

    with pytest.raises(
        ComponentInputError,
        match=r"^TaskRole: invalid statements\[0\]=.*"
        r"wildcard actions .* are not allowed; name each action exactly\.$",
    ):
        declare(statements=[statement])


def test_wildcard_action_in_output_is_rejected(pulumi_mocks):
    statement = pulumi.Output.from_input({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})

    with pytest.raises(ValueError, match=r"TaskRole: invalid statements\[0\]=.*wildcard actions"):
        declare(statements=[statement])


def test_not_action_is_rejected(pulumi_mocks):
    statement = {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"}

    with pytest.raises(ComponentInputError, match=r"NotAction grants every action"):
        declare(statements=[statement])


def test_missing_action_is_rejected(pulumi_mocks):
    statement = {"Effect": "Allow", "Resource": "*"}

    with pytest.raises(ComponentInputError, match=r"statements\[0\].*Action is missing"):
        declare(statements=[statement])


def test_non_mapping_statement_is_rejected(pulumi_mocks):
    with pytest.raises(ComponentInputError, match=r"statements\[1\]='s3:GetObject'"):
        declare(statements=[DYNAMO_STATEMENT, "s3:GetObject"])


def test_rejected_statement_declares_nothing(pulumi_mocks):
    with pytest.raises(ComponentInputError):
        declare(statements=[{"Effect": "Allow", "Action": "*", "Resource": "*"}])

    assert pulumi_mocks.of_type(ROLE) == []


# -- account id, bucket and prefix checks -------------------------------------------------


@pytest.mark.parametrize(
    "account_id", ["12345678901", "1234567890123", "abcdefghijkl", 123456789012]
)
def test_invalid_account_id_is_rejected(pulumi_mocks, account_id):
    with pytest.raises(ComponentInputError, match=r"^TaskRole: invalid account_id=.*exactly 12"):
        declare(account_id=account_id)


def test_invalid_account_id_output_is_rejected(pulumi_mocks):
    with pytest.raises(ValueError, match=r"TaskRole: invalid account_id='12'"):
        declare(account_id=pulumi.Output.from_input("12"))


@pytest.mark.parametrize("bucket", ["abc", "a" * 63, "acme.files-2", "0bucket9"])
def test_valid_bucket_names_are_accepted(bucket):
    validate_bucket_name(bucket)


@pytest.mark.parametrize(
    ("bucket", "rule"),
    [
        ("ab", "are 3 to 63 characters long"),
        ("a" * 64, "are 3 to 63 characters long"),
        ("Acme-files", "contain only lowercase letters"),
        ("acme_files", "contain only lowercase letters"),
        ("-acme", "begin and end with a letter or digit"),
        ("acme.", "begin and end with a letter or digit"),
        ("arn:aws:s3:::acme", "contain only lowercase letters"),
        ("acme..files", "contain no two adjacent periods"),
        ("192.168.5.4", "are not formatted as an IP address"),
        ("xn--acme", "do not start with xn--, sthree-, amzn-s3-demo-"),
        ("sthree-acme", "do not start with"),
        ("amzn-s3-demo-acme", "do not start with"),
        ("acme-s3alias", "do not end with -s3alias, --ol-s3, .mrap, --x-s3, --table-s3"),
        ("acme--ol-s3", "do not end with"),
        ("acme.mrap", "do not end with"),
        ("acme--x-s3", "do not end with"),
        ("acme--table-s3", "do not end with"),
    ],
)
def test_invalid_bucket_name_is_rejected(pulumi_mocks, bucket, rule):
    with pytest.raises(ComponentInputError) as caught:
        declare(s3_read=S3ReadGrant(bucket_name=bucket))

    message = str(caught.value)
    assert message.startswith(f"TaskRole: invalid s3_read.bucket_name={bucket!r}; S3 bucket names")
    assert rule in message
    assert message.endswith("pass the bucket's name, not its ARN or URL.")


def test_prefix_with_leading_slash_is_rejected(pulumi_mocks):
    with pytest.raises(ComponentInputError) as caught:
        declare(s3_read=S3ReadGrant(bucket_name="acme-files", prefix="/uploads/"))

    assert str(caught.value) == (
        "TaskRole: invalid s3_read.prefix='/uploads/'; S3 keys do not start with '/'; "
        "use 'uploads/'."
    )


@pytest.mark.parametrize("prefix", ["uploads/*", "up?oads/"])
def test_prefix_with_wildcard_is_rejected(pulumi_mocks, prefix):
    with pytest.raises(ComponentInputError, match=r"may not contain the IAM wildcards"):
        declare(s3_read=S3ReadGrant(bucket_name="acme-files", prefix=prefix))
