"""tools.smoke against a scripted server on 127.0.0.1; time is a fake clock, never waited for."""

from __future__ import annotations

import io
import json

import pytest

from tools import smoke
from tools.smoke import SmokeTest, SmokeTestFailed

from .conftest import Reply

COMMIT = "3f1c2e9a7b6d5c4e3f2a1b0c9d8e7f6a5b4c3d2e"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_test(loopback, commit: str | None = COMMIT, timeout: float = 30.0) -> tuple[SmokeTest,
                                                                                      FakeClock]:
    clock = FakeClock()
    test = SmokeTest(base_url=loopback.base_url, expected_commit=commit, timeout_seconds=timeout,
                     interval_seconds=5.0, request_timeout_seconds=2.0, sleep=clock.sleep,
                     clock=clock, out=io.StringIO())
    return test, clock


def info(commit: str) -> Reply:
    return Reply(200, json.dumps({"commit_sha": commit, "app_env": "staging"}))


def test_smoke_passes_after_retries(loopback):
    loopback.script("/api/health", Reply(503), Reply(502), Reply(200, '{"status":"ok"}'))
    loopback.script("/api/info", info("0" * 40), info(COMMIT))
    test, clock = make_test(loopback)

    test.run()

    paths = [path for _, path, _ in loopback.requests]
    assert paths == ["/api/health"] * 3 + ["/api/info"] * 2
    assert clock.sleeps == [5.0, 5.0, 5.0]


def test_smoke_health_timeout_message(loopback):
    loopback.script("/api/health", Reply(503))
    test, _ = make_test(loopback, timeout=12.0)

    with pytest.raises(SmokeTestFailed) as raised:
        test.run()

    assert str(raised.value) == (
        f"timed out after 12 s waiting for HTTP 200 from {loopback.base_url}/api/health "
        "(last: HTTP 503)"
    )
    assert len(loopback.requests) == 3


def test_smoke_wrong_commit_fails(loopback):
    loopback.script("/api/health", Reply(200))
    loopback.script("/api/info", info("deadbeef"))
    test, _ = make_test(loopback, timeout=10.0)

    with pytest.raises(SmokeTestFailed) as raised:
        test.run()

    assert str(raised.value) == (
        f"{loopback.base_url}/api/info never reported the deployed commit within 10 s "
        f"(last: commit_sha is 'deadbeef' but '{COMMIT}' was deployed)"
    )


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (Reply(200, "<html>"), "body is not JSON (Expecting value at position 0)"),
        (Reply(200, '{"version": "1"}'), "JSON has no key 'commit_sha' (found: ['version'])"),
        (Reply(500, "{}"), "HTTP 500"),
    ],
)
def test_smoke_info_problems(loopback, reply, problem):
    loopback.script("/api/health", Reply(200))
    loopback.script("/api/info", reply)
    test, _ = make_test(loopback, timeout=4.0)

    with pytest.raises(SmokeTestFailed) as raised:
        test.run()

    assert str(raised.value).endswith(f"(last: {problem})")


def test_smoke_connection_refused_is_retried():
    clock = FakeClock()
    # Port 9 on 127.0.0.1 (discard) has no listener here; the request fails at once.
    test = SmokeTest(base_url="http://127.0.0.1:9", expected_commit=COMMIT, timeout_seconds=6.0,
                     interval_seconds=5.0, request_timeout_seconds=2.0, sleep=clock.sleep,
                     clock=clock, out=io.StringIO())

    with pytest.raises(SmokeTestFailed, match=r"\(last: URLError: .*refused"):
        test.run()
    assert clock.sleeps == [5.0]


def test_smoke_without_commit_checks_health_only(loopback):
    loopback.script("/api/health", Reply(200))
    test, _ = make_test(loopback, commit=None)

    test.run()

    assert [path for _, path, _ in loopback.requests] == ["/api/health"]


def test_smoke_cli_passes(loopback, capsys):
    loopback.script("/api/health", Reply(200))
    loopback.script("/api/info", info(COMMIT))

    code = smoke.main(["--url", loopback.base_url + "/", "--commit", COMMIT, "--timeout", "5"])

    assert code == 0
    assert capsys.readouterr().out.splitlines()[-1] == "smoke: passed"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "missing --url (or SMOKE_URL)"),
        (["--url", "staging.example.com"],
         "--url 'staging.example.com' is not an http:// or https:// URL with a host"),
        (["--url", "https://x.example.com", "--timeout", "0"],
         "--timeout 0 and --interval 5 must be greater than 0 seconds"),
    ],
)
def test_smoke_cli_invalid(capsys, monkeypatch, argv, message):
    monkeypatch.delenv("SMOKE_URL", raising=False)
    monkeypatch.delenv("SMOKE_INTERVAL", raising=False)
    assert smoke.main(argv) == 2
    assert capsys.readouterr().err.strip() == f"smoke: invalid arguments: {message}"
