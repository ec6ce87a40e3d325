"""Post a deployment result to a Slack incoming webhook when SLACK_WEBHOOK_URL is set.

Without SLACK_WEBHOOK_URL it sends nothing and exits 0. The message names the stack, the
step, the branch, the short commit and a link to the pipeline run, built from Bitbucket's
BITBUCKET_* variables. The webhook URL is a secret and is never printed.

A failed POST prints a warning and still exits 0 unless `--strict` is given, because a Slack
outage must not turn a good deployment red. Standard library only, so it also runs from an
`after-script` before or without the virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

REQUEST_TIMEOUT_SECONDS = 10.0
STATUS_CHOICES = ("success", "failure", "auto")


def resolve_status(status: str, env: Mapping[str, str]) -> str:
    """Return "success" or "failure"; "auto" reads BITBUCKET_EXIT_CODE (set in after-script)."""
    if status != "auto":
        return status
    code = env.get("BITBUCKET_EXIT_CODE")
    if code is None or not code.strip().lstrip("-").isdigit():
        raise ValueError(f"--status auto needs BITBUCKET_EXIT_CODE as an integer, got {code!r}")
    return "success" if int(code) == 0 else "failure"


def pipeline_url(env: Mapping[str, str]) -> str | None:
    """Return the Bitbucket URL of this pipeline run, or None outside Bitbucket."""
    origin = env.get("BITBUCKET_GIT_HTTP_ORIGIN")
    build = env.get("BITBUCKET_BUILD_NUMBER")
    if not origin or not build:
        return None
    return f"{origin.rstrip('/')}/pipelines/results/{build}"


def build_message(status: str, stack: str, step: str, env: Mapping[str, str]) -> dict[str, str]:
    """Build the Slack payload: one line of text with the facts a person acts on."""
    icon = ":white_check_mark:" if status == "success" else ":x:"
    verb = "succeeded" if status == "success" else "FAILED"
    branch = env.get("BITBUCKET_BRANCH") or env.get("BITBUCKET_TAG") or "unknown ref"
    commit = (env.get("BITBUCKET_COMMIT") or "unknown")[:12]
    repo = env.get("BITBUCKET_REPO_FULL_NAME") or "webstack"
    text = f"{icon} {repo}: {step} for stack {stack} {verb} ({branch} @ {commit})"
    link = pipeline_url(env)
    if link:
        text += f" <{link}|pipeline #{env.get('BITBUCKET_BUILD_NUMBER')}>"
    return {"text": text}


def post_json(url: str, payload: Mapping[str, str], timeout_seconds: float) -> int:
    """POST `payload` as JSON and return the HTTP status; raise OSError on network failure."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "webstack-notify"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def build_parser() -> argparse.ArgumentParser:
    """Build the CLI."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.notify",
        description="Send a deployment result to Slack when SLACK_WEBHOOK_URL is set.",
    )
    parser.add_argument("--status", choices=STATUS_CHOICES, default="auto",
                        help="result to report; auto (default) reads BITBUCKET_EXIT_CODE")
    parser.add_argument("--stack", required=True, help="Pulumi stack name, e.g. staging")
    parser.add_argument("--step", required=True, help="what ran, e.g. 'Deploy' or 'Smoke test'")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when Slack rejects or cannot be reached (default: warn)")
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the CLI; return 0 when sent or skipped, 1 on a failed POST with --strict, 2 on bad
    input."""
    args = build_parser().parse_args(argv)
    env = os.environ if env is None else env
    webhook = env.get("SLACK_WEBHOOK_URL", "").strip()
    if not webhook:
        print("notify: SLACK_WEBHOOK_URL is not set; no notification sent")
        return 0
    if urlsplit(webhook).scheme not in ("https", "http"):
        print("notify: invalid arguments: SLACK_WEBHOOK_URL is not an http(s) URL",
              file=sys.stderr)
        return 2
    try:
        status = resolve_status(args.status, env)
    except ValueError as error:
        print(f"notify: invalid arguments: {error}", file=sys.stderr)
        return 2

    payload = build_message(status, args.stack, args.step, env)
    try:
        http_status = post_json(webhook, payload, REQUEST_TIMEOUT_SECONDS)
    except OSError as error:
        problem = f"could not reach the Slack webhook: {type(error).__name__}: " \
                  f"{getattr(error, 'reason', error)}"
    else:
        if 200 <= http_status < 300:
            print(f"notify: sent {status} for stack {args.stack} to Slack")
            return 0
        problem = f"the Slack webhook answered HTTP {http_status}"
    print(f"notify: warning: {problem}", file=sys.stderr)
    return 1 if args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
