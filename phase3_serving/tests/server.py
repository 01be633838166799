"""Run the real service under uvicorn on 127.0.0.1 for a test, and stop it gracefully."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from phase1_foundations.settings import Settings

ADMIN_TOKEN = "test-admin-token-0123456789"
STARTUP_TIMEOUT_S = 90


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, as an orchestrator would: uvicorn shuts down gracefully."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(settings: Settings, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "MLFLOW_"))}
    env.update(
        {
            "MLOPS_STATE_DIR": str(settings.state_dir),
            "MLOPS_SERVING_ADMIN_ENABLED": "true",
            "MLOPS_SERVING_ADMIN_TOKEN": ADMIN_TOKEN,
            "MLOPS_SERVING_POLL_SECONDS": "0.5",
            "MLOPS_SERVING_LOG_FLUSH_SECONDS": "0.5",
        }
    )
    env.update(overrides)
    return env


def start_server(env: dict[str, str], log_path: Path, wait_ready: bool = True) -> Server:
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "phase3_serving.app:app", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    path = "/health/ready" if wait_ready else "/health/live"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + path, timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server not {path} after {STARTUP_TIMEOUT_S}s:\n{server.log()}")


@contextmanager
def running_server(
    settings: Settings, log_path: Path, wait_ready: bool = True, **overrides: str
) -> Iterator[Server]:
    server = start_server(server_env(settings, **overrides), log_path, wait_ready)
    try:
        yield server
    finally:
        server.stop()


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
