"""Real processes on 127.0.0.1 for ``make phase4``: the service, the exporter, Prometheus.

Each is started in its own session and stopped by its process id (never by name). Prometheus
gets the lesson's ``alerts.yml`` with the ``for:`` durations scaled from minutes to seconds, so
an alert that waits 5 minutes in production fires within seconds here.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from phase1_foundations.ports import free_port
from phase1_foundations.settings import PROJECT_ROOT
from phase4_monitoring.exporter import make_server

LOCALHOST = "127.0.0.1"
ALERTS_FILE = Path(__file__).resolve().parents[1] / "alerts.yml"  # the product's rules
STARTUP_TIMEOUT_S = 120.0


class LiveError(RuntimeError):
    """A process did not come up; the message carries the end of its log."""


def scaled_rules(text: str) -> str:
    """The same rules, with ``for:`` in seconds where the file says minutes."""
    return re.sub(r"for: (\d+)m\b", r"for: \1s", text)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path, ready_url: str) -> Iterator[None]:
    """``command`` until the block ends; up once ``ready_url`` answers 200."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        child = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not http_ok(ready_url):
            if child.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise LiveError(f"{command[0]} did not come up ({ready_url}):\n{tail}")
            time.sleep(0.3)
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=30)
                break


@contextmanager
def service(state_dir: Path) -> Iterator[str]:
    """Phase 3's service on a free port, serving the champion of ``state_dir``'s registry."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "MLFLOW_"))}
    env |= {"MLOPS_STATE_DIR": str(state_dir), "MLOPS_SERVING_LOG_FLUSH_SECONDS": "0.5"}
    command = [sys.executable, "-m", "uvicorn", "phase3_serving.app:app", "--host", LOCALHOST]
    command += ["--port", str(port), "--no-access-log"]
    url = f"http://{LOCALHOST}:{port}"
    with process(command, env, state_dir / "logs" / "service.log", f"{url}/health/ready"):
        yield url


@contextmanager
def exporter(textfile: Path) -> Iterator[str]:
    server = make_server(textfile, LOCALHOST, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{LOCALHOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Prometheus:
    url: str

    def alerts(self) -> list[dict[str, object]]:
        with urllib.request.urlopen(f"{self.url}/api/v1/alerts", timeout=10) as response:
            body = json.loads(response.read())
        found: list[dict[str, object]] = body["data"]["alerts"]
        return found

    def firing(self) -> list[str]:
        names = []
        for alert in self.alerts():
            labels = alert["labels"]
            if alert["state"] == "firing" and isinstance(labels, dict):
                names.append(str(labels["alertname"]))
        return sorted(set(names))


@contextmanager
def prometheus(directory: Path, targets: dict[str, str]) -> Iterator[Prometheus | None]:
    """Debian's Prometheus scraping ``targets`` every second, or None when it is not installed."""
    binary = shutil.which("prometheus")
    if binary is None:
        yield None
        return
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    (directory / "alerts.yml").write_text(scaled_rules(ALERTS_FILE.read_text()))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]}
            for job, target in targets.items()
        ],
    }
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    url = f"http://{LOCALHOST}:{free_port()}"
    command = [
        binary,
        f"--config.file={directory / 'prometheus.yml'}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address={urllib.parse.urlsplit(url).netloc}",
    ]
    with process(
        command, {"PATH": os.environ.get("PATH", "")}, directory / "log", f"{url}/-/ready"
    ):
        yield Prometheus(url)
