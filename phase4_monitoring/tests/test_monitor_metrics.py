"""The monitor's gauges, the metrics file, and the exporter that serves it to Prometheus.

The gauges are read back with prometheus_client's own parser (what Prometheus reads), and
compared with the scenario's design and with the champion's scores computed here.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from phase1_foundations.contract import FEATURE_NAMES, to_model_frame
from phase1_foundations.ports import free_port
from phase1_foundations.settings import PROJECT_ROOT
from phase1_foundations.world import World
from phase4_monitoring.exporter import make_server
from phase4_monitoring.lesson.replay import Serving, monitor_world, replay_trigger
from phase4_monitoring.monitor_metrics import window_metrics
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.tests.conftest import Registered, WorldChampion
from phase4_monitoring.tests.helpers import check_week, run_check, week_file
from testing.readme import readme_commands

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(f"churn_monitor_{name}", frozenset(labels.items()))]


def test_a_drifted_week_sets_the_drift_gauges_of_its_feature_only(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, "covariate_shift", 9)
    found = samples(window_metrics(report, "1").exposition())
    v = "1"
    assert value(found, "feature_drift_alert", model_version=v, feature="monthlycharges") == 1
    for feature in FEATURE_NAMES:
        if feature != "monthlycharges":  # prices rose; nothing else moved
            assert value(found, "feature_drift_alert", model_version=v, feature=feature) == 0
    psi = value(found, "feature_drift", model_version=v, feature="monthlycharges", metric="psi")
    assert psi > monitoring_params.drift.psi
    assert value(found, "drifted_features", model_version=v) == 1
    assert value(found, "schema_ok", model_version=v) == 1
    assert value(found, "contract_ok", model_version=v) == 1
    assert value(found, "window_rows", model_version=v) == 2_000


def test_the_prediction_mean_and_cbpe_estimate_are_the_served_scores(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, "baseline", 9, labels=True)
    found = samples(window_metrics(report, "7").exposition())
    frame = World(7, "baseline", rows_per_week=2_000).week(9).features
    scores = world_champion.model.predict_proba(to_model_frame(frame[list(FEATURE_NAMES)]))[:, 1]
    assert value(found, "prediction_mean", model_version="7") == pytest.approx(scores.mean())
    assert 0.5 < value(found, "estimated_roc_auc", model_version="7") < 1
    assert value(found, "realized_roc_auc", model_version="7") == pytest.approx(
        report.quality.metrics["roc_auc"] if report.quality else np.nan
    )
    assert value(found, "labeled_rows", model_version="7") == 2_000
    assert value(found, "realized_quality_alert", model_version="7", check="roc_auc") == 0
    assert value(found, "window_alert", model_version="7") == 0  # a clean week


@pytest.mark.parametrize(
    ("scenario", "gauge", "labels", "expected"),
    [
        ("null_flood", "null_flood_alert", {"feature": "totalcharges"}, 1),
        ("schema_break", "schema_ok", {}, 0),
        ("unit_change", "contract_ok", {}, 0),
    ],
)
def test_broken_weeks_set_their_own_gauge(
    world_champion: WorldChampion,
    monitoring_params: MonitoringParams,
    scenario: str,
    gauge: str,
    labels: dict[str, str],
    expected: float,
) -> None:
    report = check_week(world_champion, monitoring_params, scenario, 9)
    found = samples(window_metrics(report, "1").exposition())
    assert value(found, gauge, model_version="1", **labels) == expected
    assert value(found, "window_alert", model_version="1") == 1


def test_the_trigger_decision_is_one_hot(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    monitored = monitor_world(
        World(42, "null_flood"), (Serving(14, world_champion),), range(14, 15), monitoring_params
    )
    decision = replay_trigger(monitored, monitoring_params.triggers)[-1]
    report = monitored.windows[-1].report
    found = samples(window_metrics(report, "1", decision).exposition())
    actions = {
        dict(labels)["action"]: v
        for (name, labels), v in found.items()
        if name == "churn_monitor_trigger_action"
    }
    assert actions["quarantine"] == 1
    assert sum(actions.values()) == 1


@pytest.fixture
def exporter(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    textfile = tmp_path / "metrics.prom"
    server = make_server(textfile, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", textfile
    finally:
        server.shutdown()
        server.server_close()


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:  # not listening yet
        return 0, ""


def test_the_exporter_serves_the_latest_file(
    exporter: tuple[str, Path], world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    url, textfile = exporter
    status, text = fetch(url + "/metrics")
    assert status == 200
    assert samples(text)[("churn_monitor_textfile_present", frozenset())] == 0  # no window yet
    report = check_week(world_champion, monitoring_params, "covariate_shift", 9)
    window_metrics(report, "1").write(textfile)
    status, text = fetch(url + "/metrics")
    found = samples(text)
    assert found[("churn_monitor_textfile_present", frozenset())] == 1
    assert value(found, "feature_drift_alert", model_version="1", feature="monthlycharges") == 1
    assert fetch(url + "/")[0] == 404


@pytest.mark.slow  # a real pipeline trains the registered champion
def test_check_writes_the_metrics_file(registered: Registered, tmp_path: Path) -> None:
    # The lesson's command: check var/week.parquet --metrics var/monitoring/metrics.prom
    week = week_file(tmp_path / "week.parquet", "covariate_shift", 9)
    written = tmp_path / "monitoring" / "metrics.prom"
    result = run_check(registered, week, "--metrics", written)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"wrote Prometheus metrics to {written}" in result.stdout
    found = samples(written.read_text())
    version = registered.champion.version
    assert value(found, "feature_drift_alert", model_version=version, feature="monthlycharges") == 1


def test_the_exporter_command_runs_as_written(
    tmp_path: Path, monitoring_params: MonitoringParams
) -> None:
    # The lesson's command, in another process, on a free port: its own port (params.yaml's) may
    # be held by a learner's exporter or a parallel test run, which would answer in its place.
    commands = readme_commands(PROJECT_ROOT / "phase4_monitoring" / "README.md")
    lesson = shlex.split(next(command for command in commands if " exporter " in command))
    assert lesson[:4] == ["python", "-m", "phase4_monitoring", "exporter"]
    assert lesson[lesson.index("--port") + 1] == str(monitoring_params.prometheus.exporter_port)
    textfile, port = tmp_path / "metrics.prom", free_port()
    command = [sys.executable, *lesson[1:]]
    command[command.index("--textfile") + 1] = str(textfile)
    command[command.index("--port") + 1] = str(port)
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 60
        status, text = 0, ""
        while time.monotonic() < deadline and process.poll() is None:
            status, text = fetch(f"http://127.0.0.1:{port}/metrics")
            if status == 200:
                break
            time.sleep(0.2)
        assert status == 200, process.stdout.read() if process.stdout else ""
        assert samples(text)[("churn_monitor_textfile_present", frozenset())] == 0
    finally:
        process.terminate()
        process.wait(timeout=30)
