"""Real node processes for tests that need a network boundary: `sarhad serve` in a subprocess.

    from support.processes import NodeProcess, free_port, get_token

    with NodeProcess(data_dir, port=free_port()) as pk:
        token = get_token(pk.url, "admin", "secret")
        pk.kill()        # crash it
        pk.start()       # and bring it back

Each process writes its own ``<log_dir>/<name>.stdout.log`` and ``.stderr.log`` (appended across restarts);
when a start fails the error quotes the end of both, so a failing test says why.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now (the kernel's choice, so parallel tests do not clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def get_token(base_url: str, username: str, password: str, *, timeout: float = 10.0) -> str:
    """Sign in through the API with OAuth2 password form fields and return the bearer token."""
    response = httpx.post(
        f"{base_url.rstrip('/')}/api/v1/auth/token",
        data={"username": username, "password": password},
        timeout=timeout,
    )
    if response.status_code != 200:
        raise AssertionError(
            f"sign-in of {username!r} at {base_url} failed: {response.status_code} {response.text}"
        )
    token = response.json()["access_token"]
    assert isinstance(token, str)
    return token


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no output)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


class NodeProcessError(RuntimeError):
    """The node process did not come up (or did not go down) as expected."""


class NodeProcess:
    """``python -m sarhad serve --data-dir DIR --port PORT`` as a real subprocess.

    ``start()`` returns once ``GET /healthz`` answers 200 with ``status: ok``. ``stop()`` sends SIGTERM and
    waits (a graceful shutdown, lifespan and workers included); ``kill()`` sends SIGKILL (a crash);
    ``restart()`` is stop + start on the same port and data directory.
    """

    def __init__(
        self,
        data_dir: Path | str,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        env: dict[str, str] | None = None,
        log_dir: Path | str | None = None,
        name: str | None = None,
        start_timeout: float = START_TIMEOUT_SECONDS,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port(host)
        self.host = host
        self.name = name or self.data_dir.name
        self.log_dir = Path(log_dir).resolve() if log_dir is not None else self.data_dir / "logs"
        self.start_timeout = start_timeout
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self._logs: list[IO[bytes]] = []

    # -- properties -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"{self.name}.stdout.log"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"{self.name}.stderr.log"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self, lines: int = 40) -> str:
        """The end of the process's stdout and stderr, for assertion messages."""
        return (
            f"--- {self.stdout_path} ---\n{_tail(self.stdout_path, lines)}\n"
            f"--- {self.stderr_path} ---\n{_tail(self.stderr_path, lines)}"
        )

    # -- life cycle -------------------------------------------------------------------------------------

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "sarhad",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]

    def start(self) -> Self:
        if self.is_running():
            raise NodeProcessError(f"{self.name} is already running (pid {self.pid})")
        # owner-only, like everything in a node's data directory (``sarhad serve`` refuses otherwise)
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.log_dir, 0o700)
        self._close_logs()
        stdout = os.fdopen(os.open(self.stdout_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        stderr = os.fdopen(os.open(self.stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        self._logs = [stdout, stderr]
        marker = f"\n=== start {time.strftime('%H:%M:%S')} port {self.port} ===\n".encode()
        for log in self._logs:
            log.write(marker)
            log.flush()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.extra_env}
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=self.data_dir,
            start_new_session=True,
        )
        try:
            self.wait_healthy()
        except BaseException:
            self.kill()
            raise
        return self

    def wait_healthy(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (self.start_timeout if timeout is None else timeout)
        last = "no answer yet"
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self.process is None or self.process.poll() is not None:
                    code = None if self.process is None else self.process.returncode
                    raise NodeProcessError(
                        f"{self.name} exited with code {code} while starting\n{self.logs()}"
                    )
                try:
                    response = client.get(f"{self.url}/healthz")
                    if response.status_code == 200 and response.json().get("status") == "ok":
                        return
                    last = f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if time.monotonic() > deadline:
                    raise NodeProcessError(
                        f"{self.name} not healthy at {self.url}/healthz after "
                        f"{self.start_timeout:.0f} s (last: {last})\n{self.logs()}"
                    )
                time.sleep(0.1)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise NodeProcessError(
                    f"{self.name} ignored SIGTERM for {timeout:.0f} s\n{self.logs()}"
                ) from None
        self._close_logs()
        return self.process.returncode

    def kill(self) -> int | None:
        """SIGKILL: the process dies at once, as in a crash or power cut. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT_SECONDS)
        self._close_logs()
        return self.process.returncode

    def restart(self) -> Self:
        self.stop()
        return self.start()

    def _close_logs(self) -> None:
        for log in self._logs:
            log.close()
        self._logs = []

    # -- context manager --------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self if self.is_running() else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.is_running():
            self._close_logs()
            return
        with contextlib.suppress(NodeProcessError):  # it was killed; the test's own failure matters more
            self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.is_running() else "stopped"
        return f"<NodeProcess {self.name} {self.url} {state}>"
