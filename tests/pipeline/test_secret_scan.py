"""The committed-secret scan: detect-secrets over the tracked files, against .secrets.baseline.

The planted keys are assembled at run time, so this file itself contains no key-shaped
string for the scanner to find.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "ci" / "secret_scan.sh"
VENV_BIN = Path(sys.executable).parent

# Shaped like an AWS access key id and secret key (AWS's documented formats), but random.
FAKE_ACCESS_KEY_ID = "AKIA" + "Q7RZ" + "4XKP" + "2MWN" + "8VHT"
FAKE_SECRET_KEY = "wJalr" + "XUtnFEMI" + "K7MDENGbPx" + "RfiCYzQ4mT" + "8bHq2vLp"


def scan(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(repo), "CI_VENV_BIN": str(VENV_BIN)}
    return subprocess.run(["bash", str(SCRIPT)], cwd=repo, env=env, capture_output=True,
                          text=True, check=False, timeout=300)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
                   cwd=repo, check=True, capture_output=True, timeout=60)


@pytest.fixture
def scratch_repo(tmp_path) -> Path:
    """A git repository holding the baseline and a copy of the pipeline files."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    shutil.copy(ROOT / ".secrets.baseline", repo / ".secrets.baseline")
    shutil.copy(ROOT / "bitbucket-pipelines.yml", repo / "bitbucket-pipelines.yml")
    shutil.copy(ROOT / ".env.example", repo / ".env.example")
    git(repo, "add", "-A")
    return repo


def test_secret_scan_repository_clean():
    result = scan(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no new secrets found" in result.stdout


def test_secret_scan_copy_clean(scratch_repo):
    result = scan(scratch_repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_secret_scan_catches_planted_aws_key(scratch_repo):
    settings = scratch_repo / "deploy_settings.py"
    settings.write_text(
        f'AWS_ACCESS_KEY_ID = "{FAKE_ACCESS_KEY_ID}"\n'
        f'aws_secret_access_key = "{FAKE_SECRET_KEY}"\n'
    )
    git(scratch_repo, "add", "deploy_settings.py")

    result = scan(scratch_repo)

    assert result.returncode == 1
    assert "AWS Access Key" in result.stdout
    assert "deploy_settings.py:1" in result.stdout


def test_secret_scan_ignores_untracked_files(scratch_repo):
    (scratch_repo / ".env").write_text(f"AWS_ACCESS_KEY_ID={FAKE_ACCESS_KEY_ID}\n")
    result = scan(scratch_repo)
    assert result.returncode == 0, result.stdout


def test_secret_baseline_keeps_key_detectors():
    baseline = json.loads((ROOT / ".secrets.baseline").read_text())
    plugins = {plugin["name"] for plugin in baseline["plugins_used"]}
    for detector in ("AWSKeyDetector", "PrivateKeyDetector", "SlackDetector",
                     "OpenAIDetector", "GitHubTokenDetector", "JwtTokenDetector"):
        assert detector in plugins
    assert baseline["results"] == {}


def test_env_example_has_no_values():
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            assert value == "", f"{name} has a value in .env.example"
            assert name.isupper()


def test_dotenv_ignored_by_git():
    result = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False,
                            timeout=30)
    assert result.returncode == 0
