"""tools.stack_outputs: one export per call, errors that name the export."""

from __future__ import annotations

import json

import pytest

from tools import stack_outputs

OUTPUTS = {
    "clusterName": "web-cluster-1a2b",
    "privateSubnetIds": ["subnet-a", "subnet-b"],
    "url": "https://staging.example.com",
    "apiKey": "[secret]",
    "empty": [],
}


@pytest.fixture
def outputs_file(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS))
    return path


@pytest.mark.parametrize(
    ("key", "printed"),
    [("clusterName", "web-cluster-1a2b"), ("privateSubnetIds", "subnet-a,subnet-b"),
     ("url", "https://staging.example.com")],
)
def test_stack_outputs_prints_value(outputs_file, capsys, key, printed):
    assert stack_outputs.main([str(outputs_file), key]) == 0
    assert capsys.readouterr().out == printed + "\n"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("taskDefinitionArn", "stack output 'taskDefinitionArn' is missing; the stack exports: "
                              "apiKey, clusterName, empty, privateSubnetIds, url"),
        ("apiKey", "stack output 'apiKey' is a secret; the pipeline reads no secrets"),
        ("empty", "stack output 'empty' must be a non-empty list of strings, got []"),
    ],
)
def test_stack_outputs_errors(outputs_file, capsys, key, message):
    assert stack_outputs.main([str(outputs_file), key]) == 1
    assert capsys.readouterr().err == f"stack_outputs: {message}\n"


def test_stack_outputs_unreadable(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text("[1, 2]")
    assert stack_outputs.main([str(path), "url"]) == 2
    assert capsys.readouterr().err == (
        f"stack_outputs: cannot read {path}: {path} holds JSON list, expected an object\n")
