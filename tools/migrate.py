"""Run the database migration as a one-off Fargate task and fail loudly if it fails.

The database lives in private subnets, so the CI runner cannot reach it. This tool starts
one task from a task definition that contains the new image, in the service's private subnets
with the service's security group and no public IP, overrides the container command with
the migration command (`alembic upgrade head` by default), waits until the task is STOPPED
and checks the container's exit code.

On failure it prints the task's stop reason and its CloudWatch log lines (stream
`<prefix>/<container>/<task-id>`, the awslogs driver's naming), then exits 1 with a one-line
reason as the last line on stderr. Every option can also come from an environment variable
(`MIGRATE_<OPTION>`), so the pipeline and a person at a terminal call it the same way.

Exit codes: 0 migrated, 1 migration failed or timed out, 2 invalid arguments.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

DEFAULT_COMMAND = "alembic upgrade head"
DEFAULT_CONTAINER = "web"
DEFAULT_LOG_STREAM_PREFIX = "web"
DEFAULT_TIMEOUT_SECONDS = 900.0
DEFAULT_POLL_SECONDS = 6.0
MAX_LOG_LINES = 200
STARTED_BY = "webstack-migrate"


class MigrationFailed(Exception):
    """The one-off task failed, timed out or could not start; the message is the reason."""


@dataclass(frozen=True, kw_only=True)
class MigrationRequest:
    """Everything needed to run the one-off task. All names are ECS/VPC identifiers."""

    cluster: str
    task_definition: str
    """Task definition ARN (or family:revision) whose container runs the new image."""
    subnets: Sequence[str]
    """Private subnet ids of the service; the task gets no public IP."""
    security_groups: Sequence[str]
    """Security group ids; the service's group is the one the database admits."""
    container: str = DEFAULT_CONTAINER
    command: Sequence[str] = field(default_factory=lambda: shlex.split(DEFAULT_COMMAND))
    log_group: str | None = None
    """CloudWatch Logs group of the container. Default: read from the task definition."""
    log_stream_prefix: str = DEFAULT_LOG_STREAM_PREFIX
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    """Maximum wait for the task to stop. Default: 900 s, longer than a typical schema change."""
    poll_seconds: float = DEFAULT_POLL_SECONDS
    """Interval between `describe_tasks` calls. Default: 6 s, well under the API rate limit."""


@dataclass(frozen=True)
class MigrationResult:
    """The stopped task: its id and the container's exit code (0 on success)."""

    task_arn: str
    exit_code: int


def task_id_from_arn(task_arn: str) -> str:
    """Return the task id, the last path segment of the ARN (both ARN formats end with it)."""
    return task_arn.rsplit("/", 1)[-1]


def log_stream_name(prefix: str, container: str, task_arn: str) -> str:
    """Return the awslogs stream name of one container of one task."""
    return f"{prefix}/{container}/{task_id_from_arn(task_arn)}"


class MigrationRunner:
    """Start the one-off task, wait for it and report; clients are injected for tests.

    `sleep` and `clock` default to `time.sleep` and `time.monotonic`; tests pass their own so
    no test waits for real time.
    """

    def __init__(
        self,
        ecs: Any,
        logs: Any,
        *,
        out: TextIO = sys.stdout,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ecs = ecs
        self.logs = logs
        self.out = out
        self.sleep = sleep
        self.clock = clock

    def run(self, request: MigrationRequest) -> MigrationResult:
        """Run the migration task to completion; raise `MigrationFailed` unless it exits 0."""
        task_arn = self._start(request)
        self._print(f"started task {task_id_from_arn(task_arn)} on cluster {request.cluster}")
        task = self._wait_until_stopped(request, task_arn)
        container = self._find_container(task, request.container)
        exit_code = container.get("exitCode")
        if exit_code == 0:
            self._print(f"migration succeeded: task {task_id_from_arn(task_arn)} exited 0")
            return MigrationResult(task_arn=task_arn, exit_code=0)

        self._report_stopped(task, container, request)
        stopped_reason = task.get("stoppedReason") or "none given"
        if exit_code is None:
            detail = container.get("reason") or "the container never started"
            raise MigrationFailed(
                f"container {request.container} has no exit code ({detail}); "
                f"task {task_id_from_arn(task_arn)} stopped: {stopped_reason}"
            )
        raise MigrationFailed(
            f"container {request.container} exited with code {exit_code}; "
            f"task {task_id_from_arn(task_arn)} stopped: {stopped_reason}"
        )

    # -- steps ---------------------------------------------------------------------------

    def _start(self, request: MigrationRequest) -> str:
        # NOTE: the task definition's container health check fails while the migration runs
        # (nothing serves HTTP); ECS replaces unhealthy tasks only for services, which is
        # checked on AWS only, not here.
        response = self.ecs.run_task(
            cluster=request.cluster,
            taskDefinition=request.task_definition,
            launchType="FARGATE",
            count=1,
            startedBy=STARTED_BY,
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": list(request.subnets),
                    "securityGroups": list(request.security_groups),
                    "assignPublicIp": "DISABLED",
                }
            },
            overrides={
                "containerOverrides": [
                    {"name": request.container, "command": list(request.command)}
                ]
            },
        )
        failures = response.get("failures") or []
        tasks = response.get("tasks") or []
        if failures or not tasks:
            reasons = "; ".join(
                f"{f.get('arn', '?')}: {f.get('reason', '?')} {f.get('detail', '')}".strip()
                for f in failures
            )
            raise MigrationFailed(f"run_task started no task: {reasons or 'no reason given'}")
        return str(tasks[0]["taskArn"])

    def _wait_until_stopped(self, request: MigrationRequest, task_arn: str) -> dict[str, Any]:
        deadline = self.clock() + request.timeout_seconds
        last_status = None
        while True:
            task = self._describe(request.cluster, task_arn)
            status = task.get("lastStatus")
            if status != last_status:
                self._print(f"task {task_id_from_arn(task_arn)} is {status}")
                last_status = status
            if status == "STOPPED":
                return task
            if self.clock() >= deadline:
                reason = f"migration timed out after {request.timeout_seconds:g} s"
                self.ecs.stop_task(cluster=request.cluster, task=task_arn, reason=reason)
                self._print_logs(request, task_arn)
                raise MigrationFailed(
                    f"{reason}; stopped task {task_id_from_arn(task_arn)} (last status {status})"
                )
            self.sleep(request.poll_seconds)

    def _describe(self, cluster: str, task_arn: str) -> dict[str, Any]:
        response = self.ecs.describe_tasks(cluster=cluster, tasks=[task_arn])
        tasks = response.get("tasks") or []
        if not tasks:
            failures = response.get("failures") or []
            reason = failures[0].get("reason") if failures else "not returned"
            raise MigrationFailed(f"describe_tasks found no task {task_arn}: {reason}")
        return dict(tasks[0])

    @staticmethod
    def _find_container(task: dict[str, Any], name: str) -> dict[str, Any]:
        for container in task.get("containers") or []:
            if container.get("name") == name:
                return dict(container)
        names = [c.get("name") for c in task.get("containers") or []]
        raise MigrationFailed(f"task has no container named {name!r}; containers: {names}")

    # -- reporting -----------------------------------------------------------------------

    def _report_stopped(
        self, task: dict[str, Any], container: dict[str, Any], request: MigrationRequest
    ) -> None:
        self._print(f"stop code: {task.get('stopCode', 'unknown')}")
        self._print(f"stopped reason: {task.get('stoppedReason', 'none given')}")
        if container.get("reason"):
            self._print(f"container reason: {container['reason']}")
        self._print_logs(request, str(task["taskArn"]))

    def _print_logs(self, request: MigrationRequest, task_arn: str) -> None:
        group = request.log_group or self._log_group_of(request)
        stream = log_stream_name(request.log_stream_prefix, request.container, task_arn)
        if group is None:
            self._print("no log group: pass --log-group, the task definition names none")
            return
        try:
            lines = self._read_log_lines(group, stream)
        except self._logs_not_found() as error:
            self._print(f"no log stream {group}:{stream} ({error})")
            return
        shown = lines[-MAX_LOG_LINES:]
        self._print(f"--- last {len(shown)} of {len(lines)} log lines from {group}:{stream} ---")
        for line in shown:
            self._print(line)
        self._print("--- end of log ---")

    def _read_log_lines(self, group: str, stream: str) -> list[str]:
        lines: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "logGroupName": group,
                "logStreamName": stream,
                "startFromHead": True,
            }
            if token is not None:
                kwargs["nextToken"] = token
            page = self.logs.get_log_events(**kwargs)
            lines.extend(str(event.get("message", "")).rstrip("\n") for event in page["events"])
            next_token = page.get("nextForwardToken")
            # The API returns the same token again once the end of the stream is reached.
            if not page["events"] or next_token == token:
                return lines
            token = next_token

    def _log_group_of(self, request: MigrationRequest) -> str | None:
        definition = self.ecs.describe_task_definition(taskDefinition=request.task_definition)
        for container in definition["taskDefinition"].get("containerDefinitions", []):
            if container.get("name") == request.container:
                options = (container.get("logConfiguration") or {}).get("options") or {}
                group = options.get("awslogs-group")
                return str(group) if group else None
        return None

    def _logs_not_found(self) -> type[Exception]:
        return self.logs.exceptions.ResourceNotFoundException  # type: ignore[no-any-return]

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


# -- command line ------------------------------------------------------------------------


def _split_ids(value: str) -> list[str]:
    """Split a comma- or space-separated id list; JSON-ish brackets and quotes are dropped."""
    cleaned = value.replace("[", " ").replace("]", " ").replace('"', " ").replace(",", " ")
    return [item for item in cleaned.split() if item]


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"MIGRATE_{name}", default)


def build_parser() -> argparse.ArgumentParser:
    """Build the CLI; each option defaults to the environment variable named in its help."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.migrate",
        description="Run the migration command as a one-off Fargate task and check its exit code.",
    )
    parser.add_argument("--cluster", default=_env("CLUSTER"), help="ECS cluster name or ARN "
                        "(env MIGRATE_CLUSTER)")
    parser.add_argument("--task-definition", default=_env("TASK_DEFINITION"),
                        help="task definition ARN with the new image (env MIGRATE_TASK_DEFINITION)")
    parser.add_argument("--container", default=_env("CONTAINER", DEFAULT_CONTAINER),
                        help="container whose command is overridden (env MIGRATE_CONTAINER; "
                        f"default {DEFAULT_CONTAINER})")
    parser.add_argument("--subnets", default=_env("SUBNETS"),
                        help="private subnet ids, comma-separated or a JSON list "
                        "(env MIGRATE_SUBNETS)")
    parser.add_argument("--security-groups", default=_env("SECURITY_GROUPS"),
                        help="security group ids, comma-separated (env MIGRATE_SECURITY_GROUPS)")
    parser.add_argument("--command", default=_env("COMMAND", DEFAULT_COMMAND),
                        help="migration command, split like a shell would (env MIGRATE_COMMAND; "
                        f"default {DEFAULT_COMMAND!r})")
    parser.add_argument("--log-group", default=_env("LOG_GROUP"),
                        help="CloudWatch Logs group (env MIGRATE_LOG_GROUP; default: the one "
                        "the task definition names)")
    parser.add_argument("--log-stream-prefix",
                        default=_env("LOG_STREAM_PREFIX", DEFAULT_LOG_STREAM_PREFIX),
                        help="awslogs stream prefix (env MIGRATE_LOG_STREAM_PREFIX; "
                        f"default {DEFAULT_LOG_STREAM_PREFIX})")
    parser.add_argument("--region", default=_env("REGION", os.environ.get("AWS_REGION")),
                        help="AWS region (env MIGRATE_REGION, then AWS_REGION)")
    parser.add_argument("--timeout", type=float,
                        default=float(_env("TIMEOUT", str(DEFAULT_TIMEOUT_SECONDS)) or 0),
                        help="seconds to wait for the task to stop (env MIGRATE_TIMEOUT; "
                        f"default {DEFAULT_TIMEOUT_SECONDS:g})")
    parser.add_argument("--poll-interval", type=float,
                        default=float(_env("POLL_INTERVAL", str(DEFAULT_POLL_SECONDS)) or 0),
                        help="seconds between status checks (env MIGRATE_POLL_INTERVAL; "
                        f"default {DEFAULT_POLL_SECONDS:g})")
    return parser


def request_from_args(args: argparse.Namespace) -> MigrationRequest:
    """Validate the parsed options; raise ValueError naming the first missing or bad one."""
    missing = [
        flag
        for flag, value in (
            ("--cluster", args.cluster),
            ("--task-definition", args.task_definition),
            ("--subnets", args.subnets),
            ("--security-groups", args.security_groups),
        )
        if not value
    ]
    if missing:
        raise ValueError(f"missing required option(s): {', '.join(missing)} "
                         "(or their MIGRATE_* environment variables)")
    subnets = _split_ids(args.subnets)
    security_groups = _split_ids(args.security_groups)
    if not subnets:
        raise ValueError(f"--subnets {args.subnets!r} contains no subnet id")
    if not security_groups:
        raise ValueError(f"--security-groups {args.security_groups!r} contains no group id")
    command = shlex.split(args.command or "")
    if not command:
        raise ValueError("--command is empty; expected e.g. 'alembic upgrade head'")
    if args.timeout <= 0:
        raise ValueError(f"--timeout {args.timeout:g} must be greater than 0 seconds")
    if args.poll_interval <= 0:
        raise ValueError(f"--poll-interval {args.poll_interval:g} must be greater than 0 seconds")
    return MigrationRequest(
        cluster=args.cluster,
        task_definition=args.task_definition,
        subnets=subnets,
        security_groups=security_groups,
        container=args.container,
        command=command,
        log_group=args.log_group or None,
        log_stream_prefix=args.log_stream_prefix,
        timeout_seconds=args.timeout,
        poll_seconds=args.poll_interval,
    )


def main(argv: Sequence[str] | None = None, *, runner: MigrationRunner | None = None) -> int:
    """Run the CLI; return the process exit code (0, 1 or 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        request = request_from_args(args)
    except ValueError as error:
        print(f"migrate: invalid arguments: {error}", file=sys.stderr)
        return 2
    if runner is None:
        import boto3

        session = boto3.session.Session(region_name=args.region)
        runner = MigrationRunner(session.client("ecs"), session.client("logs"))
    try:
        runner.run(request)
    except MigrationFailed as error:
        print(f"migrate: FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
