"""A real Prometheus (Debian's package) on 127.0.0.1 sees the drift alert fire, end to end.

The real service (uvicorn) scores world weeks and logs them; the monitor command (its ``main``,
in this process) checks the logged week and writes its gauges; the exporter serves them;
Prometheus scrapes the exporter and the service every second, evaluates ``alerts.yml`` every
second (its ``for:`` durations scaled from minutes to seconds), and its HTTP API must show
``ChurnDataDrift`` firing for the drifted week, and nothing at all for the clean week before it.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from phase1_foundations.ports import free_port
from phase1_foundations.world import World
from phase4_monitoring.exporter import make_server
from phase4_monitoring.tests.conftest import Registered
from phase4_monitoring.tests.helpers import ALERTS, run_main
from testing.server import (
    LOCALHOST,
    Server,
    running_server,
    start_process,
    stop_process,
)

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

ROWS = 2_000
SEED = 21
CLEAN_WEEK, DRIFTED_WEEK = 14, 15
PROMETHEUS_TIMEOUT_S = 120.0


def scaled_rules(text: str) -> str:
    """The same rules, with ``for:`` in seconds where the file says minutes."""
    return re.sub(r"for: (\d+)m\b", r"for: \1s", text)


@dataclass
class Prometheus:
    url: str

    def get(self, path: str, **query: str) -> Any:
        address = f"{self.url}{path}?{urllib.parse.urlencode(query)}"
        with urllib.request.urlopen(address, timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def alerts(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.get("/api/v1/alerts")["alerts"]
        return found

    def value(self, query: str) -> float | None:
        result = self.get("/api/v1/query", query=query)["result"]
        return float(result[0]["value"][1]) if result else None


def wait_for(what: str, condition: Any, prometheus: Prometheus) -> None:
    deadline = time.monotonic() + PROMETHEUS_TIMEOUT_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} not seen in {PROMETHEUS_TIMEOUT_S:.0f} s: {prometheus.alerts()}")


@pytest.fixture(scope="module")
def service(registered: Registered, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("service") / "uvicorn.log"
    with running_server(registered.settings, log) as server:
        yield server


@pytest.fixture(scope="module")
def textfile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    path = tmp_path_factory.mktemp("exporter") / "metrics.prom"
    exporter = make_server(path, LOCALHOST, 0)
    thread = threading.Thread(target=exporter.serve_forever, daemon=True)
    thread.start()
    try:
        yield path, f"{LOCALHOST}:{exporter.server_port}"
    finally:
        exporter.shutdown()
        exporter.server_close()


@pytest.fixture(scope="module")
def prometheus(
    service: Server, textfile: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    directory = tmp_path_factory.mktemp("prometheus")
    (directory / "alerts.yml").write_text(scaled_rules(ALERTS.read_text()))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [
            {"job_name": "monitor", "static_configs": [{"targets": [textfile[1]]}]},
            {
                "job_name": "churn-api",
                "static_configs": [{"targets": [service.url.removeprefix("http://")]}],
            },
        ],
    }
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [
        "prometheus",
        f"--config.file={directory / 'prometheus.yml'}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address={LOCALHOST}:{port}",
    ]
    log = directory / "prometheus.log"
    process = start_process(command, {"PATH": "/usr/bin:/bin"}, log)
    server = Prometheus(f"http://{LOCALHOST}:{port}")
    try:
        deadline = time.monotonic() + PROMETHEUS_TIMEOUT_S
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"{server.url}/-/ready", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.5)
        yield server
    finally:
        stop_process(process)


def serve_week(service: Server, week: int, scenario: str) -> None:
    """The week's customers through the real service, as a client would send them."""
    frame = World(SEED, scenario, rows_per_week=ROWS).week(week).features
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    body = [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in rows]
    request = urllib.request.Request(
        f"{service.url}/v1/predict/batch",
        data=json.dumps({"rows": body}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 200


def monitor_week(registered: Registered, week: int, textfile: Path) -> int:
    """The monitor command on the week's logged predictions, once the log has them (its
    ``main``, in this process: test_cli runs it as a subprocess)."""
    log = registered.settings.state_dir / "predictions"
    deadline = time.monotonic() + PROMETHEUS_TIMEOUT_S
    while True:
        result = run_main("--log", log, "--weeks", str(week), "--metrics", textfile)
        if f"{ROWS:,} rows" in result.stdout or time.monotonic() > deadline:
            break
        time.sleep(1)  # the service flushes its log every half second
    assert "wrote Prometheus metrics" in result.stdout, result.stdout + result.stderr
    return result.returncode


def test_a_drifted_week_fires_the_drift_alert_and_a_clean_one_nothing(
    registered: Registered,
    service: Server,
    textfile: tuple[Path, str],
    prometheus: Prometheus,
) -> None:
    path, _ = textfile
    version = registered.champion.version
    serve_week(service, CLEAN_WEEK, "baseline")
    assert monitor_week(registered, CLEAN_WEEK, path) == 0
    rows = f'churn_monitor_window_rows{{model_version="{version}"}}'
    wait_for("the clean week's gauges", lambda: prometheus.value(rows) == ROWS, prometheus)
    served = 'sum(churn_api_requests_total{route="/v1/predict/batch"})'
    wait_for("the service's requests", lambda: (prometheus.value(served) or 0) >= 1, prometheus)
    time.sleep(10)  # twice the longest scaled `for:` of the model-health rules, every 1 s
    assert prometheus.alerts() == []  # healthy control: nothing pending, nothing firing

    serve_week(service, DRIFTED_WEEK, "covariate_shift")
    assert monitor_week(registered, DRIFTED_WEEK, path) == 1

    def drift_firing() -> bool:
        return any(
            a["labels"]["alertname"] == "ChurnDataDrift" and a["state"] == "firing"
            for a in prometheus.alerts()
        )

    wait_for("ChurnDataDrift firing", drift_firing, prometheus)
    firing = [a for a in prometheus.alerts() if a["state"] == "firing"]
    assert {a["labels"]["alertname"] for a in firing} == {"ChurnDataDrift"}, firing
    alert = firing[0]
    assert alert["labels"]["model_version"] == version
    assert alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["runbook"] == "phase4_monitoring/README.md#runbook-data-drift"
    drifted = (
        f'churn_monitor_feature_drift_alert{{feature="monthlycharges",model_version="{version}"}}'
    )
    assert prometheus.value(drifted) == 1
