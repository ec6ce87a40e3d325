"""tools.migrate against moto (real ECS/Logs API shapes) and botocore's Stubber (exact calls).

moto 5.2.5 starts the task but never stops it on its own and reports exit code 0 for every
container, so the moto tests stop the task from the injected `sleep`, and the exit-code and
stop-reason cases use Stubber responses.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.moto_api import state_manager

from tools import migrate
from tools.migrate import MigrationFailed, MigrationRequest, MigrationRunner

REGION = "us-east-1"
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/webstack/0123456789abcdef0123456789abcdef"
TASK_ID = "0123456789abcdef0123456789abcdef"
TASK_DEF = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:" + "a" * 64


class FakeClock:
    """A monotonic clock that advances only when `sleep` is called."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# -- moto --------------------------------------------------------------------------------


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """A moto account with a VPC (DNS hostnames on), a cluster and a task definition.

    moto advances a task one state per `describe_tasks` call by default; manual progression
    keeps it RUNNING until a test stops it, as a real long migration would be.
    """
    state_manager.set_transition(model_name="ecs::task",
                                 transition={"progression": "manual", "times": 10_000})
    try:
        with mock_aws():
            ec2 = boto3.client("ec2", region_name=REGION)
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
            sg = ec2.create_security_group(GroupName="svc", Description="svc", VpcId=vpc)["GroupId"]
            ecs = boto3.client("ecs", region_name=REGION)
            ecs.create_cluster(clusterName="webstack")
            logs = boto3.client("logs", region_name=REGION)
            logs.create_log_group(logGroupName="/webstack/staging/web")
            task_def = ecs.register_task_definition(
                family="web",
                networkMode="awsvpc",
                requiresCompatibilities=["FARGATE"],
                cpu="256",
                memory="512",
                containerDefinitions=[
                    {
                        "name": "web",
                        "image": IMAGE,
                        "memory": 512,
                        "essential": True,
                        "logConfiguration": {
                            "logDriver": "awslogs",
                            "options": {
                                "awslogs-group": "/webstack/staging/web",
                                "awslogs-stream-prefix": "web",
                                "awslogs-region": REGION,
                            },
                        },
                    }
                ],
            )["taskDefinition"]["taskDefinitionArn"]
            yield {"ecs": ecs, "logs": logs, "subnet": subnet, "sg": sg, "task_def": task_def}
    finally:
        state_manager.unset_transition(model_name="ecs::task")


def moto_request(aws: dict[str, Any], **overrides: Any) -> MigrationRequest:
    values: dict[str, Any] = {
        "cluster": "webstack",
        "task_definition": aws["task_def"],
        "subnets": [aws["subnet"]],
        "security_groups": [aws["sg"]],
        "timeout_seconds": 30.0,
        "poll_seconds": 5.0,
    }
    values.update(overrides)
    return MigrationRequest(**values)


def put_log_lines(logs: Any, stream: str, lines: list[str]) -> None:
    logs.create_log_stream(logGroupName="/webstack/staging/web", logStreamName=stream)
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="/webstack/staging/web",
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": line} for i, line in enumerate(lines)],
    )


def test_migrate_moto_success_runs_override(aws):
    clock = FakeClock()
    out = io.StringIO()

    def finish_task(seconds: float) -> None:
        clock.sleep(seconds)
        task_arn = aws["ecs"].list_tasks(cluster="webstack")["taskArns"][0]
        aws["ecs"].stop_task(cluster="webstack", task=task_arn, reason="Essential container exited")

    runner = MigrationRunner(aws["ecs"], aws["logs"], out=out, sleep=finish_task, clock=clock)
    result = runner.run(moto_request(aws))

    task = aws["ecs"].describe_tasks(cluster="webstack", tasks=[result.task_arn])["tasks"][0]
    assert result.exit_code == 0
    assert task["overrides"]["containerOverrides"] == [
        {"name": "web", "command": ["alembic", "upgrade", "head"]}
    ]
    assert task["startedBy"] == "webstack-migrate"
    assert task["launchType"] == "FARGATE"
    assert clock.sleeps == [5.0]
    assert "migration succeeded" in out.getvalue()


def test_migrate_moto_timeout_stops_task(aws):
    clock = FakeClock()
    out = io.StringIO()
    runner = MigrationRunner(aws["ecs"], aws["logs"], out=out, sleep=clock.sleep, clock=clock)

    with pytest.raises(MigrationFailed, match=r"^migration timed out after 30 s; stopped task "):
        runner.run(moto_request(aws))

    task_arn = aws["ecs"].list_tasks(cluster="webstack", desiredStatus="STOPPED")["taskArns"][0]
    task = aws["ecs"].describe_tasks(cluster="webstack", tasks=[task_arn])["tasks"][0]
    assert task["lastStatus"] == "STOPPED"
    assert task["stoppedReason"] == "migration timed out after 30 s"
    assert clock.sleeps == [5.0] * 6


def test_migrate_moto_timeout_prints_log_lines(aws):
    clock = FakeClock()
    out = io.StringIO()

    def write_logs_then_wait(seconds: float) -> None:
        if not clock.sleeps:
            task_arn = aws["ecs"].list_tasks(cluster="webstack")["taskArns"][0]
            stream = migrate.log_stream_name("web", "web", task_arn)
            put_log_lines(aws["logs"], stream,
                          ["INFO  [alembic] Running upgrade", "waiting on lock"])
        clock.sleep(seconds)

    runner = MigrationRunner(aws["ecs"], aws["logs"], out=out, sleep=write_logs_then_wait,
                             clock=clock)
    with pytest.raises(MigrationFailed):
        runner.run(moto_request(aws))

    printed = out.getvalue().splitlines()
    assert "INFO  [alembic] Running upgrade" in printed
    assert "waiting on lock" in printed
    assert any(line.startswith("--- last 2 of 2 log lines from /webstack/staging/web:web/web/")
               for line in printed)


def test_migrate_moto_unknown_task_definition(aws):
    runner = MigrationRunner(aws["ecs"], aws["logs"], out=io.StringIO(), sleep=lambda s: None)
    with pytest.raises(Exception, match="Unable to describe task definition"):
        runner.run(moto_request(aws, task_definition="missing:1"))


# -- Stubber -----------------------------------------------------------------------------


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Any, Stubber, Stubber]]:
    ecs = boto3.client("ecs", region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    logs = boto3.client("logs", region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")
    with Stubber(ecs) as ecs_stub, Stubber(logs) as logs_stub:
        yield ecs, logs, ecs_stub, logs_stub
        ecs_stub.assert_no_pending_responses()
        logs_stub.assert_no_pending_responses()


def stub_request(**overrides: Any) -> MigrationRequest:
    values: dict[str, Any] = {
        "cluster": "webstack",
        "task_definition": TASK_DEF,
        "subnets": ["subnet-a", "subnet-b"],
        "security_groups": ["sg-svc"],
        "log_group": "/webstack/prod/web",
        "timeout_seconds": 60.0,
        "poll_seconds": 10.0,
    }
    values.update(overrides)
    return MigrationRequest(**values)


def stopped_task(exit_code: int | None, reason: str, container_reason: str | None = None
                 ) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web", "lastStatus": "STOPPED"}
    if exit_code is not None:
        container["exitCode"] = exit_code
    if container_reason:
        container["reason"] = container_reason
    return {
        "taskArn": TASK_ARN,
        "lastStatus": "STOPPED",
        "stopCode": "EssentialContainerExited",
        "stoppedReason": reason,
        "containers": [container],
    }


EXPECTED_RUN_TASK = {
    "cluster": "webstack",
    "taskDefinition": TASK_DEF,
    "launchType": "FARGATE",
    "count": 1,
    "startedBy": "webstack-migrate",
    "networkConfiguration": {
        "awsvpcConfiguration": {
            "subnets": ["subnet-a", "subnet-b"],
            "securityGroups": ["sg-svc"],
            "assignPublicIp": "DISABLED",
        }
    },
    "overrides": {
        "containerOverrides": [{"name": "web", "command": ["alembic", "upgrade", "head"]}]
    },
}


def test_migrate_run_task_request_exact(stubbed):
    ecs, logs, ecs_stub, _ = stubbed
    ecs_stub.add_response("run_task", {"tasks": [{"taskArn": TASK_ARN}], "failures": []},
                          EXPECTED_RUN_TASK)
    ecs_stub.add_response("describe_tasks", {"tasks": [{"taskArn": TASK_ARN,
                                                        "lastStatus": "PROVISIONING"}]},
                          {"cluster": "webstack", "tasks": [TASK_ARN]})
    ecs_stub.add_response("describe_tasks", {"tasks": [stopped_task(0, "Essential container")]},
                          {"cluster": "webstack", "tasks": [TASK_ARN]})
    clock = FakeClock()

    result = MigrationRunner(ecs, logs, out=io.StringIO(), sleep=clock.sleep, clock=clock).run(
        stub_request())

    assert result == migrate.MigrationResult(task_arn=TASK_ARN, exit_code=0)
    assert clock.sleeps == [10.0]


def test_migrate_nonzero_exit_prints_logs_and_reason(stubbed):
    ecs, logs, ecs_stub, logs_stub = stubbed
    ecs_stub.add_response("run_task", {"tasks": [{"taskArn": TASK_ARN}], "failures": []},
                          EXPECTED_RUN_TASK)
    ecs_stub.add_response("describe_tasks", {"tasks": [stopped_task(
        3, "Essential container in task exited")]}, {"cluster": "webstack", "tasks": [TASK_ARN]})
    stream = f"web/web/{TASK_ID}"
    logs_stub.add_response(
        "get_log_events",
        {"events": [{"timestamp": 1, "message": "Running upgrade 1a -> 2b\n"}],
         "nextForwardToken": "f/1", "nextBackwardToken": "b/0"},
        {"logGroupName": "/webstack/prod/web", "logStreamName": stream, "startFromHead": True},
    )
    logs_stub.add_response(
        "get_log_events",
        {"events": [{"timestamp": 2, "message": "psycopg.errors.DuplicateTable: users"}],
         "nextForwardToken": "f/2", "nextBackwardToken": "b/1"},
        {"logGroupName": "/webstack/prod/web", "logStreamName": stream, "startFromHead": True,
         "nextToken": "f/1"},
    )
    logs_stub.add_response(
        "get_log_events",
        {"events": [], "nextForwardToken": "f/2", "nextBackwardToken": "b/2"},
        {"logGroupName": "/webstack/prod/web", "logStreamName": stream, "startFromHead": True,
         "nextToken": "f/2"},
    )
    out = io.StringIO()

    with pytest.raises(MigrationFailed) as raised:
        MigrationRunner(ecs, logs, out=out, sleep=lambda s: None).run(stub_request())

    assert str(raised.value) == (
        f"container web exited with code 3; task {TASK_ID} stopped: "
        "Essential container in task exited"
    )
    printed = out.getvalue().splitlines()
    assert "stopped reason: Essential container in task exited" in printed
    assert "stop code: EssentialContainerExited" in printed
    assert "Running upgrade 1a -> 2b" in printed
    assert "psycopg.errors.DuplicateTable: users" in printed
    assert f"--- last 2 of 2 log lines from /webstack/prod/web:{stream} ---" in printed


def test_migrate_container_never_started(stubbed):
    ecs, logs, ecs_stub, logs_stub = stubbed
    ecs_stub.add_response("run_task", {"tasks": [{"taskArn": TASK_ARN}], "failures": []},
                          EXPECTED_RUN_TASK)
    ecs_stub.add_response("describe_tasks", {"tasks": [stopped_task(
        None, "Task failed to start", "CannotPullContainerError: pull access denied")]},
        {"cluster": "webstack", "tasks": [TASK_ARN]})
    logs_stub.add_client_error("get_log_events", "ResourceNotFoundException",
                               "The specified log stream does not exist.")
    out = io.StringIO()

    with pytest.raises(MigrationFailed) as raised:
        MigrationRunner(ecs, logs, out=out, sleep=lambda s: None).run(stub_request())

    assert str(raised.value) == (
        "container web has no exit code (CannotPullContainerError: pull access denied); "
        f"task {TASK_ID} stopped: Task failed to start"
    )
    assert f"no log stream /webstack/prod/web:web/web/{TASK_ID}" in out.getvalue()


def test_migrate_run_task_failures(stubbed):
    ecs, logs, ecs_stub, _ = stubbed
    ecs_stub.add_response("run_task", {"tasks": [], "failures": [
        {"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/x", "reason": "RESOURCE:ENI"}
    ]}, EXPECTED_RUN_TASK)

    with pytest.raises(MigrationFailed, match=r"^run_task started no task: .*RESOURCE:ENI"):
        MigrationRunner(ecs, logs, out=io.StringIO()).run(stub_request())


def test_migrate_log_group_from_task_definition(stubbed):
    ecs, logs, ecs_stub, logs_stub = stubbed
    ecs_stub.add_response("run_task", {"tasks": [{"taskArn": TASK_ARN}], "failures": []}, None)
    ecs_stub.add_response("describe_tasks", {"tasks": [stopped_task(1, "exited")]}, None)
    ecs_stub.add_response("describe_task_definition", {"taskDefinition": {
        "containerDefinitions": [{"name": "web", "logConfiguration": {
            "logDriver": "awslogs", "options": {"awslogs-group": "/from/taskdef"}}}]}},
        {"taskDefinition": TASK_DEF})
    logs_stub.add_response("get_log_events", {"events": [], "nextForwardToken": "f/0"},
                           {"logGroupName": "/from/taskdef", "logStreamName": f"web/web/{TASK_ID}",
                            "startFromHead": True})

    with pytest.raises(MigrationFailed, match="exited with code 1"):
        MigrationRunner(ecs, logs, out=io.StringIO(), sleep=lambda s: None).run(
            stub_request(log_group=None))


# -- command line ------------------------------------------------------------------------


def test_migrate_cli_missing_options(capsys, monkeypatch):
    for name in ("CLUSTER", "TASK_DEFINITION", "SUBNETS", "SECURITY_GROUPS"):
        monkeypatch.delenv(f"MIGRATE_{name}", raising=False)

    code = migrate.main(["--cluster", "webstack"])

    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "migrate: invalid arguments: missing required option(s): --task-definition, --subnets, "
        "--security-groups (or their MIGRATE_* environment variables)"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--command", ""], "--command is empty; expected e.g. 'alembic upgrade head'"),
        (["--timeout", "0"], "--timeout 0 must be greater than 0 seconds"),
        (["--poll-interval", "-1"], "--poll-interval -1 must be greater than 0 seconds"),
        (["--subnets", "[]"], "--subnets '[]' contains no subnet id"),
    ],
)
def test_migrate_cli_invalid_values(capsys, extra, message):
    base = ["--cluster", "c", "--task-definition", TASK_DEF, "--subnets", "subnet-a",
            "--security-groups", "sg-1"]
    assert migrate.main(base + extra) == 2
    assert capsys.readouterr().err.strip() == f"migrate: invalid arguments: {message}"


def test_migrate_cli_reads_environment(monkeypatch):
    monkeypatch.setenv("MIGRATE_CLUSTER", "webstack")
    monkeypatch.setenv("MIGRATE_TASK_DEFINITION", TASK_DEF)
    monkeypatch.setenv("MIGRATE_SUBNETS", '["subnet-a", "subnet-b"]')
    monkeypatch.setenv("MIGRATE_SECURITY_GROUPS", "sg-1, sg-2")
    monkeypatch.setenv("MIGRATE_COMMAND", "alembic upgrade 'head'")
    monkeypatch.setenv("MIGRATE_TIMEOUT", "120")

    request = migrate.request_from_args(migrate.build_parser().parse_args([]))

    assert request == MigrationRequest(
        cluster="webstack",
        task_definition=TASK_DEF,
        subnets=["subnet-a", "subnet-b"],
        security_groups=["sg-1", "sg-2"],
        command=["alembic", "upgrade", "head"],
        timeout_seconds=120.0,
    )


def test_migrate_cli_failure_exit_code(aws, capsys):
    clock = FakeClock()
    runner = MigrationRunner(aws["ecs"], aws["logs"], out=io.StringIO(), sleep=clock.sleep,
                             clock=clock)
    code = migrate.main(["--cluster", "webstack", "--task-definition", aws["task_def"],
                         "--subnets", aws["subnet"], "--security-groups", aws["sg"],
                         "--timeout", "10", "--poll-interval", "5"], runner=runner)

    assert code == 1
    assert capsys.readouterr().err.startswith(
        "migrate: FAILED: migration timed out after 10 s; stopped task ")
