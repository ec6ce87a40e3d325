"""`python -m bootstrap.plan` renders the example stack offline in the tools.plan format."""

from __future__ import annotations

import json

from bootstrap import plan


def test_bootstrap_plan_example_json(capsys):
    assert plan.main(["example", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)

    types = sorted({resource["type"] for resource in document["resources"]})
    assert "aws:iam/openIdConnectProvider:OpenIdConnectProvider" in types
    assert len([r for r in document["resources"] if r["type"] == "aws:iam/role:Role"]) == 4
    assert len([r for r in document["resources"] if r["type"] == "aws:kms/key:Key"]) == 2
    assert document["outputs"]["oidcAudience"] == (
        "ari:cloud:bitbucket::workspace/00000000-0000-4000-8000-000000000001")


def test_bootstrap_plan_missing_stack(capsys):
    assert plan.main(["missing"]) == 2
    assert capsys.readouterr().err.startswith(
        "error: Pulumi.missing.yaml: stack file not found at ")
