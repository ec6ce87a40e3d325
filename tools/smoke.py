"""Post-deploy smoke test: wait for the health endpoint, then check the deployed commit.

Polls `<url>/api/health` until it answers HTTP 200, then polls `<url>/api/info` until its
JSON reports the expected commit under `commit_sha`. Both share one deadline, because right
after a rollout the load balancer may still route a request to a draining old task.

Uses only the standard library, so it runs in the pipeline image before any virtualenv
exists. Exit codes: 0 passed, 1 failed or timed out, 2 invalid arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit

DEFAULT_TIMEOUT_SECONDS = 300.0
DEFAULT_INTERVAL_SECONDS = 5.0
DEFAULT_REQUEST_TIMEOUT_SECONDS = 10.0
DEFAULT_COMMIT_KEY = "commit_sha"
HEALTH_PATH = "/api/health"
INFO_PATH = "/api/info"


class SmokeTestFailed(Exception):
    """The service did not become healthy or reports another commit; the message says which."""


@dataclass(frozen=True)
class HttpAnswer:
    """One HTTP exchange: the status (None when no response arrived) and the body or error."""

    status: int | None
    body: str


def http_get(url: str, timeout_seconds: float) -> HttpAnswer:
    """GET `url`; connection and TLS errors become `HttpAnswer(None, <error>)`, never raise."""
    request = urllib.request.Request(url, headers={"User-Agent": "webstack-smoke"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
            return HttpAnswer(response.status, response.read(65536).decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, error.read(65536).decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return HttpAnswer(None, f"{type(error).__name__}: {reason}")


def validate_base_url(url: str) -> str:
    """Return the URL without a trailing slash; raise ValueError unless it is http(s)://host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--url {url!r} is not an http:// or https:// URL with a host")
    return url.rstrip("/")


@dataclass
class SmokeTest:
    """The two checks against one deployment, with injectable I/O and time for tests."""

    base_url: str
    expected_commit: str | None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    """Deadline for both checks together. Default: 300 s, a full ALB health-check cycle and more."""
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS
    commit_key: str = DEFAULT_COMMIT_KEY
    get: Callable[[str, float], HttpAnswer] = http_get
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    out: TextIO = sys.stdout

    def run(self) -> None:
        """Run both checks; raise `SmokeTestFailed` with a one-line reason on failure."""
        deadline = self.clock() + self.timeout_seconds
        self._wait_for_health(deadline)
        if self.expected_commit is None:
            self._print("no expected commit given; skipped the /api/info commit check")
            return
        self._wait_for_commit(deadline)

    def _wait_for_health(self, deadline: float) -> None:
        url = self.base_url + HEALTH_PATH
        last = ""
        while True:
            answer = self.get(url, self.request_timeout_seconds)
            if answer.status == 200:
                self._print(f"{url} answered 200")
                return
            last = f"HTTP {answer.status}" if answer.status is not None else answer.body
            self._print(f"{url} not healthy yet: {last}")
            self._pause_or_fail(deadline, f"timed out after {self.timeout_seconds:g} s waiting "
                                          f"for HTTP 200 from {url} (last: {last})")

    def _wait_for_commit(self, deadline: float) -> None:
        url = self.base_url + INFO_PATH
        while True:
            answer = self.get(url, self.request_timeout_seconds)
            reported, problem = self._reported_commit(answer)
            if reported == self.expected_commit:
                self._print(f"{url} reports {self.commit_key} {reported}, the deployed commit")
                return
            if problem is None:
                problem = (f"{self.commit_key} is {reported!r} but {self.expected_commit!r} "
                           "was deployed")
            self._print(f"{url}: {problem}")
            self._pause_or_fail(deadline, f"{url} never reported the deployed commit within "
                                          f"{self.timeout_seconds:g} s (last: {problem})")

    def _reported_commit(self, answer: HttpAnswer) -> tuple[str | None, str | None]:
        if answer.status != 200:
            shown = f"HTTP {answer.status}" if answer.status is not None else answer.body
            return None, shown
        try:
            document = json.loads(answer.body)
        except json.JSONDecodeError as error:
            return None, f"body is not JSON ({error.msg} at position {error.pos})"
        if not isinstance(document, dict) or self.commit_key not in document:
            keys = sorted(document) if isinstance(document, dict) else type(document).__name__
            return None, f"JSON has no key {self.commit_key!r} (found: {keys})"
        return str(document[self.commit_key]), None

    def _pause_or_fail(self, deadline: float, message: str) -> None:
        if self.clock() + self.interval_seconds > deadline:
            raise SmokeTestFailed(message)
        self.sleep(self.interval_seconds)

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


def build_parser() -> argparse.ArgumentParser:
    """Build the CLI; options default to SMOKE_* environment variables."""
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m tools.smoke",
        description="Wait for /api/health to answer 200, then check /api/info's commit.",
    )
    parser.add_argument("--url", default=env("SMOKE_URL"),
                        help="base URL of the service, e.g. https://staging.example.com "
                        "(env SMOKE_URL)")
    parser.add_argument("--commit", default=env("SMOKE_COMMIT"),
                        help="commit SHA that must be reported (env SMOKE_COMMIT); "
                        "omit to check health only")
    parser.add_argument("--commit-key", default=env("SMOKE_COMMIT_KEY", DEFAULT_COMMIT_KEY),
                        help=f"JSON key of /api/info holding the commit (default "
                        f"{DEFAULT_COMMIT_KEY})")
    parser.add_argument("--timeout", type=float,
                        default=float(env("SMOKE_TIMEOUT", str(DEFAULT_TIMEOUT_SECONDS))),
                        help="seconds for both checks together (env SMOKE_TIMEOUT; default "
                        f"{DEFAULT_TIMEOUT_SECONDS:g})")
    parser.add_argument("--interval", type=float,
                        default=float(env("SMOKE_INTERVAL", str(DEFAULT_INTERVAL_SECONDS))),
                        help=f"seconds between attempts (default {DEFAULT_INTERVAL_SECONDS:g})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 passed, 1 failed, 2 invalid arguments)."""
    args = build_parser().parse_args(argv)
    try:
        if not args.url:
            raise ValueError("missing --url (or SMOKE_URL)")
        base_url = validate_base_url(args.url)
        if args.timeout <= 0 or args.interval <= 0:
            raise ValueError(f"--timeout {args.timeout:g} and --interval {args.interval:g} "
                             "must be greater than 0 seconds")
    except ValueError as error:
        print(f"smoke: invalid arguments: {error}", file=sys.stderr)
        return 2
    test = SmokeTest(base_url=base_url, expected_commit=args.commit or None,
                     timeout_seconds=args.timeout, interval_seconds=args.interval,
                     commit_key=args.commit_key)
    try:
        test.run()
    except SmokeTestFailed as error:
        print(f"smoke: FAILED: {error}", file=sys.stderr)
        return 1
    print("smoke: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
