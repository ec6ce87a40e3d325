"""tools.notify against a scripted webhook on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from tools import notify

from .conftest import Reply

BITBUCKET_ENV = {
    "BITBUCKET_BRANCH": "develop",
    "BITBUCKET_COMMIT": "3f1c2e9a7b6d5c4e3f2a1b0c9d8e7f6a5b4c3d2e",
    "BITBUCKET_REPO_FULL_NAME": "acme/webstack",
    "BITBUCKET_GIT_HTTP_ORIGIN": "http://bitbucket.org/acme/webstack",
    "BITBUCKET_BUILD_NUMBER": "42",
}


def test_notify_silent_without_webhook(capsys):
    code = notify.main(["--stack", "staging", "--step", "Deploy", "--status", "success"],
                       env=dict(BITBUCKET_ENV))

    assert code == 0
    assert capsys.readouterr().out == "notify: SLACK_WEBHOOK_URL is not set; no notification sent\n"


def test_notify_posts_failure_from_exit_code(loopback, capsys):
    loopback.script("/hook", Reply(200, "ok"))
    env = {**BITBUCKET_ENV, "SLACK_WEBHOOK_URL": loopback.base_url + "/hook",
           "BITBUCKET_EXIT_CODE": "1"}

    code = notify.main(["--stack", "staging", "--step", "Migrate"], env=env)

    assert code == 0
    assert len(loopback.requests) == 1
    method, path, body = loopback.requests[0]
    assert (method, path) == ("POST", "/hook")
    assert json.loads(body) == {"text": (
        ":x: acme/webstack: Migrate for stack staging FAILED (develop @ 3f1c2e9a7b6d) "
        "<http://bitbucket.org/acme/webstack/pipelines/results/42|pipeline #42>")}
    assert loopback.base_url not in capsys.readouterr().out


def test_notify_success_message():
    message = notify.build_message("success", "prod", "Smoke test", BITBUCKET_ENV)
    assert message["text"].startswith(
        ":white_check_mark: acme/webstack: Smoke test for stack prod succeeded (develop @ ")


@pytest.mark.parametrize(("strict", "expected"), [(False, 0), (True, 1)])
def test_notify_rejected_post(loopback, capsys, strict, expected):
    loopback.script("/hook", Reply(404, "no_service"))
    env = {**BITBUCKET_ENV, "SLACK_WEBHOOK_URL": loopback.base_url + "/hook"}
    argv = ["--stack", "prod", "--step", "Deploy", "--status", "success"]

    code = notify.main(argv + (["--strict"] if strict else []), env=env)

    assert code == expected
    assert capsys.readouterr().err == "notify: warning: the Slack webhook answered HTTP 404\n"


def test_notify_auto_without_exit_code(capsys):
    env = {"SLACK_WEBHOOK_URL": "http://127.0.0.1:9/hook"}
    assert notify.main(["--stack", "staging", "--step", "Deploy"], env=env) == 2
    assert capsys.readouterr().err == (
        "notify: invalid arguments: --status auto needs BITBUCKET_EXIT_CODE as an integer, "
        "got None\n")


def test_notify_pipeline_url_absent_outside_bitbucket():
    assert notify.pipeline_url({}) is None
    assert notify.build_message("failure", "staging", "Deploy", {})["text"] == (
        ":x: webstack: Deploy for stack staging FAILED (unknown ref @ unknown)")
