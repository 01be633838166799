"""Run real servers on 127.0.0.1 (ours under uvicorn, or any other command) and stop them.

The one place that starts, waits for and stops a server process, and finds the tracking URI of a
state directory: the phase-3 tests and ``bench/bench_serving.py`` both use it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from phase1_foundations.ports import free_port
from phase1_foundations.settings import PROJECT_ROOT, Settings

ADMIN_TOKEN = "test-admin-token-0123456789"
STARTUP_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
STARTED_LINE = "Application startup complete."  # uvicorn logs it once per worker
LOCALHOST = "127.0.0.1"
LOG_TAIL_CHARS = 4000


class ServerError(RuntimeError):
    """A server did not start in time or exited; the message carries its log."""


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def stop(self) -> int:
        """SIGTERM to the whole process group, as an orchestrator would: uvicorn and its
        workers shut down gracefully. SIGKILL only if they linger."""
        return stop_process(self.process)


def tracking_uri(state_dir: Path) -> str:
    """The MLflow store of a state directory, as every phase computes it (the settings')."""
    return Settings(state_dir=state_dir, mlflow_tracking_uri=None).tracking_uri


def server_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """This environment without MLOPS_/MLFLOW_ variables, pointed at ``settings``' state."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "MLFLOW_"))}
    env.update(
        {
            "MLOPS_STATE_DIR": str(settings.state_dir),
            "MLFLOW_TRACKING_URI": settings.tracking_uri,
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
            "MLOPS_SERVING_ADMIN_ENABLED": "true",
            "MLOPS_SERVING_ADMIN_TOKEN": ADMIN_TOKEN,
            "MLOPS_SERVING_POLL_SECONDS": "0.5",
            "MLOPS_SERVING_LOG_FLUSH_SECONDS": "0.5",
            # The venv's scripts first: `mlflow models serve` execs a bare `uvicorn`.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        }
    )
    env.update(overrides)
    return env


def uvicorn_command(port: int, workers: int = 1) -> list[str]:
    """Our service as `make serve` runs it (no access log: requests are in /metrics)."""
    command = [sys.executable, "-m", "uvicorn", "phase3_serving.app:app", "--host", LOCALHOST]
    command += ["--port", str(port), "--no-access-log"]
    return command + (["--workers", str(workers)] if workers > 1 else [])


def start_process(
    command: list[str], env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """``command`` in its own session (so stopping it stops every worker), output to a file."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen[bytes]) -> int:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            return process.wait(timeout=STOP_TIMEOUT_S)
    return process.wait()


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def wait_until_up(server: Server, path: str, workers: int = 1) -> None:
    """Until ``path`` answers 200 and every uvicorn worker has logged that it started."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerError(
                f"server exited with {server.process.returncode}:\n{server.log()[-LOG_TAIL_CHARS:]}"
            )
        if http_status(server.url + path) == 200 and server.log().count(STARTED_LINE) >= workers:
            return
        time.sleep(0.2)
    server.stop()
    raise ServerError(f"server not up at {path} in time:\n{server.log()[-LOG_TAIL_CHARS:]}")


def start_server(
    env: dict[str, str], log_path: Path, wait_ready: bool = True, workers: int = 1
) -> Server:
    port = free_port()
    process = start_process(uvicorn_command(port, workers), env, log_path)
    server = Server(f"http://{LOCALHOST}:{port}", process, log_path)
    wait_until_up(server, "/health/ready" if wait_ready else "/health/live", workers)
    return server


@contextmanager
def running_server(
    settings: Settings,
    log_path: Path,
    wait_ready: bool = True,
    workers: int = 1,
    **overrides: str,
) -> Iterator[Server]:
    server = start_server(server_env(settings, **overrides), log_path, wait_ready, workers)
    try:
        yield server
    finally:
        server.stop()


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def metric(url: str, name: str, **labels: str) -> float:
    """One sample of the service's /metrics (0.0 if absent), e.g. the sum of a histogram."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0
