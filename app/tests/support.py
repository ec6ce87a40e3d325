"""Servers the app's tests run against: PostgreSQL and Redis from the machine's Debian
packages, a fake LLM API that counts calls, and the app itself on a loopback port."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn

REPO = Path(__file__).resolve().parents[2]
APP_DIR = REPO / "app"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _binary(name: str, package: str, extra_globs: tuple[str, ...] = ()) -> str:
    found = shutil.which(name)
    for pattern in extra_globs:
        found = found or next(iter(sorted(glob.glob(pattern), reverse=True)), None)
    if not found:
        pytest.fail(
            f"{name} is not installed: install Debian's '{package}' package "
            f"(apt-get install -y {package}); .ci/run does this before the tests",
            pytrace=False,
        )
    return found


def _as_server_user() -> list[str]:
    """initdb and postgres refuse to run as root: drop to `nobody` when we are root."""
    if os.geteuid() != 0:
        return []
    return [_binary("runuser", "util-linux"), "-u", "nobody", "--"]


@dataclass
class PostgresServer:
    """A throwaway cluster on a loopback port, password auth over TCP."""

    user: str = "app"
    password: str = "s3cret-Pg-pw"
    database: str = "app"
    port: int = field(default_factory=free_port)
    # Under /tmp itself: the server runs as `nobody`, which must reach its directory.
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="app-pg-", dir="/tmp")))

    def start(self) -> PostgresServer:
        initdb = _binary("initdb", "postgresql", ("/usr/lib/postgresql/*/bin/initdb",))
        pg_ctl = str(Path(initdb).with_name("pg_ctl"))
        if not Path(pg_ctl).exists():
            pg_ctl = _binary("pg_ctl", "postgresql", ("/usr/lib/postgresql/*/bin/pg_ctl",))
        prefix = _as_server_user()
        if prefix:
            shutil.chown(self.root, "nobody", "nogroup")
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if prefix:
            shutil.chown(pwfile, "nobody", "nogroup")
        data = self.root / "data"
        subprocess.run(
            [
                *prefix,
                initdb,
                "-D",
                str(data),
                "-U",
                self.user,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            [
                *prefix,
                pg_ctl,
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(self.root / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
        self._pg_ctl, self._prefix, self._data = pg_ctl, prefix, data
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        return self

    def dsn(self, database: str | None = None) -> str:
        return (
            f"host=127.0.0.1 port={self.port} user={self.user} "
            f"password={self.password} dbname={database or self.database}"
        )

    def env(self) -> dict[str, str]:
        return {
            "DATABASE_HOST": "127.0.0.1",
            "DATABASE_PORT": str(self.port),
            "DATABASE_NAME": self.database,
            "DATABASE_USER": self.user,
            "DATABASE_PASSWORD": self.password,
            "DATABASE_SSLMODE": "disable",
        }

    def stop(self) -> None:
        subprocess.run(
            [*self._prefix, self._pg_ctl, "-D", str(self._data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class RedisServer:
    """redis-server on a loopback port, with a password (the ElastiCache auth token)."""

    password: str = "s3cret-redis-token"
    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="app-redis-")))

    def start(self) -> RedisServer:
        binary = _binary("redis-server", "redis-server")
        self._process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--requirepass",
                self.password,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def env(self) -> dict[str, str]:
        return {"REDIS_URL": self.url, "REDIS_AUTH_TOKEN": self.password}

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


class FakeLLM:
    """An OpenAI- and Ollama-compatible API on loopback that counts the calls it gets.

    `mode` decides the answer: "ok", "slow" (sleeps `delay` first), "error" (HTTP 500),
    "garbage" (200 with a body that is not the API's shape), "raw" (200 with the bytes
    in `raw_body`).
    """

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.mode = "ok"
        self.delay = 0.0
        self.raw_body = b""
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.calls.append(
                        {
                            "path": self.path,
                            "body": body,
                            "authorization": self.headers.get("Authorization"),
                        }
                    )
                if fake.mode == "slow":
                    time.sleep(fake.delay)
                question = body.get("messages", [{}])[-1].get("content", "")
                answer = f"answer to: {question}"
                if fake.mode == "error":
                    status, document = 500, {"error": "boom"}
                elif fake.mode == "garbage":
                    status, document = 200, {"unexpected": True}
                elif self.path.endswith("/api/chat"):
                    status, document = (
                        200,
                        {
                            "model": body.get("model"),
                            "message": {"role": "assistant", "content": answer},
                            "done": True,
                        },
                    )
                elif self.path.endswith("/chat/completions"):
                    status, document = (
                        200,
                        {
                            "choices": [
                                {"index": 0, "message": {"role": "assistant", "content": answer}}
                            ]
                        },
                    )
                else:
                    status, document = 404, {"error": "no such path"}
                payload = fake.raw_body if fake.mode == "raw" else json.dumps(document).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the app gave up waiting (a timeout test)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
        self.mode, self.delay, self.raw_body = "ok", 0.0, b""

    def env(self) -> dict[str, str]:
        return {
            "OPENAI_BASE_URL": f"{self.url}/v1",
            "OPENAI_API_KEY": "sk-test-secret-key",
            "OLLAMA_BASE_URL": self.url,
        }

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread on a loopback port; yield its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def dockerfile_instructions(path: Path = APP_DIR / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def image_command() -> list[str]:
    """The exec-form CMD of the final stage, as the image runs it."""
    cmds = [args for keyword, args in dockerfile_instructions() if keyword == "CMD"]
    return list(json.loads(cmds[-1]))


def image_env() -> dict[str, str]:
    """ENV of the final stage (the last FROM onwards), with $PATH left out."""
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    env: dict[str, str] = {}
    for keyword, args in instructions[last_from:]:
        if keyword == "ENV":
            for assignment in args.split():
                name, _, value = assignment.partition("=")
                env[name] = value
    env.pop("PATH", None)
    return env


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise TimeoutError(f"timed out waiting for {what}")


# ---- the image's entry command, run on this machine as the image's user -----------------

IMAGE_UID = IMAGE_GID = 10001


def _image_user() -> tuple[int, int] | None:
    """The image's numeric USER, when we may switch to it (we are root)."""
    users = [args for keyword, args in dockerfile_instructions() if keyword == "USER"]
    uid, _, gid = users[-1].partition(":")
    return (int(uid), int(gid or uid)) if os.geteuid() == 0 else None


def as_image_user() -> list[str]:
    """A command prefix that runs as the image's USER, when we are root.

    The user keeps one capability, CAP_DAC_READ_SEARCH (read any file, never write), only
    because the test interpreter may live under a home it could not enter otherwise (/root
    is 0700 on these machines); in the image it is /opt/venv. Writes are those of uid
    10001: only the scratch and activity directories made for it.
    """
    user = _image_user()
    if user is None:
        return []
    setpriv = _binary("setpriv", "util-linux")
    return [
        setpriv,
        f"--reuid={user[0]}",
        f"--regid={user[1]}",
        "--clear-groups",
        "--inh-caps=+dac_read_search",
        "--ambient-caps=+dac_read_search",
        "--",
    ]


def writable_dir(path: Path) -> Path:
    """A directory the image's user may write (the task's /tmp or EFS mount)."""
    path.mkdir(parents=True, exist_ok=True)
    user = _image_user()
    if user is not None:
        os.chown(path, *user)
    return path


@dataclass
class ImageProcess:
    """The Dockerfile's CMD, started with the Dockerfile's ENV, from the directory that
    stands for its WORKDIR (app/), as its USER when we can switch users."""

    scratch: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    unset: tuple[str, ...] = ()
    """Names removed from the environment after `env` is applied."""

    def command(self) -> list[str]:
        command = image_command()
        assert command[0] == "python", command
        return [*as_image_user(), sys.executable, *command[1:]]

    def process_env(self) -> dict[str, str]:
        env = image_env()
        tmp = writable_dir(self.scratch / "tmp")
        env.update(
            {
                # The image has the app at /srv/app and PYTHONPATH=/srv; here the repo stands in.
                "PYTHONPATH": str(REPO),
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                "PORT": str(self.port),
                "TMPDIR": str(tmp),
                "ACTIVITY_LOG_DIR": str(writable_dir(self.scratch / "activity")),
                "APP_ENV": "test",
                "NO_PROXY": "127.0.0.1,localhost",
            }
        )
        env.update(self.env)
        for name in self.unset:
            env.pop(name, None)
        return env

    def start(self) -> subprocess.Popen[bytes]:
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_path or self.scratch / "server.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command(),
            cwd=APP_DIR,
            env=self.process_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self.process

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()
