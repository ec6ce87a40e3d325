"""Measure how long the offline plan takes per stack, as a user runs it.

    python -m tools.bench_plan [--runs N] [STACK ...]

Each run is a fresh `python -m tools.plan STACK --json` process, so interpreter start and
imports count, as they do for `make plan`. Prints the median and maximum wall time and the
largest peak resident memory of any run so far. The target is under 5 s per stack.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(stack: str) -> float:
    """Render one stack in a new process and return its wall time in seconds."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "tools.plan", stack, "--json"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=120,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"plan of {stack} failed: {result.stderr.decode().strip()}")
    return elapsed


def peak_child_rss_mib() -> float:
    """Largest peak resident memory of any finished child so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    """Parse arguments, time each stack and print one line per stack."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", default=["staging", "prod"])
    parser.add_argument("--runs", type=int, default=5, help="runs per stack (default 5)")
    args = parser.parse_args()

    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    for stack in args.stacks:
        times = [run_once(stack) for _ in range(args.runs)]
        print(
            f"{stack}: median {statistics.median(times):.2f} s, max {max(times):.2f} s, "
            f"peak RSS so far {peak_child_rss_mib():.0f} MiB over {args.runs} runs"
        )


if __name__ == "__main__":
    main()
