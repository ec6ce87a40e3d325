"""Benchmark of the app as the image runs it (not a timed test).

Starts the Dockerfile's CMD on loopback (as the image's user when run as root) and reports:
- cold start: process start to the first 200 from /api/health;
- requests per second and p50/p99 latency on GET /api/health and POST /api/events, from an
  asyncio load generator on loopback (keep-alive connections, like the load balancer's);
- SIGTERM under load: requests sent before the signal that did not get a complete 2xx
  (must be 0), with slow requests held open across the signal to prove they finish.

Usage: PYTHONPATH=. .venv/bin/python tools/bench_app.py [--seconds 10] [--connections 32]
       [--postgres]   (events stored in a throwaway PostgreSQL instead of SQLite)
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from app.tests.support import FakeLLM, ImageProcess, PostgresServer

T = TypeVar("T")
EVENT_BODY = json.dumps({"type": "bench.event", "actor": "bench", "data": {"n": 1}}).encode()


@dataclass
class Result:
    sent_at: float
    outcome: str  # "ok", "status", "refused", "dropped"
    latency: float = 0.0


@dataclass
class LoadReport:
    results: list[Result] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    def ok(self) -> list[Result]:
        return [r for r in self.results if r.outcome == "ok"]

    def summary(self) -> dict[str, Any]:
        latencies = sorted(r.latency for r in self.ok())
        elapsed = self.finished - self.started
        outcomes: dict[str, int] = {}
        for r in self.results:
            outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
        return {
            "requests": len(self.results),
            "outcomes": outcomes,
            "seconds": round(elapsed, 2),
            "rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2)
            if latencies
            else None,
        }


def _request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, keep_alive) after reading one whole response; raises on a cut one."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("closed before the response")
    status = int(status_line.split()[1])
    length, keep_alive = 0, True
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionResetError("closed inside the headers")
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "connection" and value.strip().lower() == "close":
            keep_alive = False
    await reader.readexactly(length)
    return status, keep_alive


async def _worker(
    port: int, payload: bytes, stop_at: float, report: LoadReport, stop: asyncio.Event
) -> None:
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    while time.monotonic() < stop_at and not stop.is_set():
        if writer is None:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                report.results.append(Result(time.monotonic(), "refused"))
                await asyncio.sleep(0.01)
                continue
        assert reader is not None
        sent = time.monotonic()
        try:
            writer.write(payload)
            await writer.drain()
            status, keep_alive = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            report.results.append(Result(sent, "dropped"))
            writer.close()
            writer = None
            continue
        outcome = "ok" if 200 <= status < 300 else "status"
        report.results.append(Result(sent, outcome, time.monotonic() - sent))
        if not keep_alive:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def load(
    port: int, payload: bytes, seconds: float, connections: int, stop: asyncio.Event | None = None
) -> LoadReport:
    report = LoadReport(started=time.monotonic())
    stop = stop or asyncio.Event()
    stop_at = time.monotonic() + seconds
    await asyncio.gather(
        *(_worker(port, payload, stop_at, report, stop) for _ in range(connections))
    )
    report.finished = time.monotonic()
    return report


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: the caller's thread keeps its event loop
    (asyncio.run leaves none behind, which breaks later code, such as pytest's other
    tests, that expects one)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def wait_healthy(port: int, timeout: float = 30.0, interval: float = 0.005) -> float:
    """Poll /api/health until a 200; return when it came (time.monotonic())."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/api/health"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(interval)
    raise TimeoutError(f"/api/health gave no 200 within {timeout} s")


def cold_start(scratch: Path, env: dict[str, str], runs: int) -> list[float]:
    seconds = []
    for run in range(runs):
        app = ImageProcess(scratch / f"cold-{run}", env=env)
        started = time.monotonic()
        app.start()
        try:
            seconds.append(wait_healthy(app.port) - started)
        finally:
            app.process.send_signal(signal.SIGTERM)
            app.process.wait(timeout=30)
            app.stop()
    return seconds


def sigterm_under_load(
    scratch: Path,
    env: dict[str, str],
    fake_llm: FakeLLM,
    connections: int = 16,
    slow_requests: int = 4,
    slow_seconds: float = 1.5,
) -> dict[str, Any]:
    """Load /api/health and /api/events, hold `slow_requests` slow /api/ask calls open,
    SIGTERM the server, and count requests sent before the signal that were not served."""
    fake_llm.reset()
    fake_llm.mode, fake_llm.delay = "slow", slow_seconds
    app = ImageProcess(scratch / "sigterm", env={**env, **fake_llm.env()})
    app.start()
    try:
        wait_healthy(app.port)
        slow_results: list[int | str] = []

        def slow_ask(number: int) -> None:
            body = json.dumps({"question": f"slow question {number} {time.time()}"}).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{app.port}/api/ask",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    slow_results.append(response.status)
            except Exception as exc:  # recorded, then asserted by the caller
                slow_results.append(type(exc).__name__)

        async def scenario() -> tuple[LoadReport, LoadReport, float, float]:
            stop = asyncio.Event()
            health = asyncio.create_task(
                load(app.port, _request("GET", "/api/health"), 30, connections // 2, stop)
            )
            events = asyncio.create_task(
                load(
                    app.port,
                    _request("POST", "/api/events", EVENT_BODY),
                    30,
                    connections - connections // 2,
                    stop,
                )
            )
            threads = [threading.Thread(target=slow_ask, args=(n,)) for n in range(slow_requests)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 10
            while len(fake_llm.calls) < slow_requests and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # load runs alongside the slow calls
            signalled = time.monotonic()
            app.process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(app.process.wait, 40)
            exited = time.monotonic()
            stop.set()
            for thread in threads:
                await asyncio.to_thread(thread.join, 40)
            return await health, await events, signalled, exited - signalled

        health, events, signalled, exit_seconds = run_async(scenario())
        before = [r for r in health.results + events.results if r.sent_at < signalled]
        lost = [r for r in before if r.outcome != "ok"]
        after = [r for r in health.results + events.results if r.sent_at >= signalled]
        after_outcomes: dict[str, int] = {}
        for r in after:
            after_outcomes[r.outcome] = after_outcomes.get(r.outcome, 0) + 1
        return {
            "sent_before_sigterm": len(before),
            "lost": len(lost),
            "slow_in_flight": slow_requests,
            "slow_results": slow_results,
            "exit_code": app.process.returncode,
            "exit_seconds_after_sigterm": round(exit_seconds, 2),
            "after_sigterm": after_outcomes,
        }
    finally:
        app.stop()


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="store events in a throwaway PostgreSQL instead of SQLite",
    )
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-app-"))
    os.chmod(scratch, 0o755)
    env: dict[str, str] = {"LOG_LEVEL": "INFO"}
    postgres = None
    fake_llm = FakeLLM()
    try:
        if args.postgres:
            postgres = PostgresServer().start()
            env.update(postgres.env())
            subprocess.run(
                [sys.executable, "-m", "alembic", "upgrade", "head"],
                cwd=Path(__file__).parents[1] / "app",
                env={**os.environ, **env, "APP_ENV": "test"},
                check=True,
                capture_output=True,
            )
        report: dict[str, Any] = {
            "machine": machine(),
            "database": "postgresql" if postgres else "sqlite",
        }
        cold = cold_start(scratch, env, args.cold_runs)
        report["cold_start_seconds"] = {
            "median": round(statistics.median(cold), 3),
            "min": round(min(cold), 3),
            "max": round(max(cold), 3),
        }
        app = ImageProcess(scratch / "load", env=env)
        app.start()
        try:
            wait_healthy(app.port)
            asyncio.run(load(app.port, _request("GET", "/api/health"), 2, args.connections))
            report["health"] = asyncio.run(
                load(app.port, _request("GET", "/api/health"), args.seconds, args.connections)
            ).summary()
            report["events"] = asyncio.run(
                load(
                    app.port,
                    _request("POST", "/api/events", EVENT_BODY),
                    args.seconds,
                    args.connections,
                )
            ).summary()
        finally:
            app.process.send_signal(signal.SIGTERM)
            app.process.wait(timeout=30)
            app.stop()
        report["sigterm"] = sigterm_under_load(scratch, env, fake_llm)
        report["settings"] = {"seconds": args.seconds, "connections": args.connections}
        print(json.dumps(report, indent=2))
    finally:
        fake_llm.stop()
        if postgres is not None:
            postgres.stop()


if __name__ == "__main__":
    main()
