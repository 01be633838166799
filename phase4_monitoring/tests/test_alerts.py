"""alerts.yml: valid for promtool, unit-tested by promtool, and a broken rule fails those tests.

Every alert has a ``for:``, a severity and a runbook that names a section of the lesson; the
service-health limits it restates are params.yaml's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from phase1_foundations.settings import PROJECT_ROOT
from phase4_monitoring.params import MonitoringParams

HERE = Path(__file__).resolve().parents[1]
LESSON_ALERTS = "phase4_monitoring/alerts.yml"  # as the lesson's commands spell them
LESSON_ALERT_TESTS = "phase4_monitoring/alerts_test.yml"
ALERTS = HERE / "alerts.yml"
ALERT_TESTS = HERE / "alerts_test.yml"
LESSON = HERE / "README.md"
REQUIRED = {
    "ChurnDataDrift",  # data drift
    "ChurnPredictionDrift",  # prediction drift
    "ChurnRealizedQualityDrop",  # quality drop on released labels
    "ChurnEstimatedQualityDrop",  # quality drop estimated by CBPE
    "ChurnNullFlood",  # null flood
    "ChurnSchemaBreak",  # schema break
    "ChurnApiLatencyP99",  # p99 latency
    "ChurnApiErrorRate",  # error rate
}


def rules() -> list[dict[str, object]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def promtool(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def slug(heading: str) -> str:
    """The anchor GitHub and mkdocs give a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_alert_has_a_duration_a_severity_and_a_runbook_in_the_lesson() -> None:
    anchors = {
        slug(line.lstrip("#")) for line in LESSON.read_text().splitlines() if line.startswith("#")
    }
    found = {str(rule["alert"]): rule for rule in rules()}
    assert set(found) >= REQUIRED, REQUIRED - set(found)
    for name, rule in found.items():
        assert re.fullmatch(r"\d+[smhd]", str(rule.get("for", ""))), f"{name}: no for:"
        labels = rule["labels"]
        assert isinstance(labels, dict)
        assert labels.get("severity") in {"warning", "critical"}, name
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        page, _, anchor = str(annotations["runbook"]).partition("#")
        assert page == "phase4_monitoring/README.md", name
        assert anchor in anchors, f"{name}: the lesson has no section #{anchor}"


def test_service_limits_are_the_ones_in_params(monitoring_params: MonitoringParams) -> None:
    found = {str(rule["alert"]): str(rule["expr"]) for rule in rules()}
    limits = monitoring_params.prometheus
    assert found["ChurnApiLatencyP99"].endswith(f"> {limits.p99_latency_seconds:g}")
    assert found["ChurnApiErrorRate"].endswith(f"> {limits.error_rate:g}")


@pytest.mark.prometheus
def test_promtool_accepts_the_rules() -> None:
    result = promtool("check", "rules", LESSON_ALERTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


@pytest.mark.prometheus
def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", LESSON_ALERT_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.prometheus
@pytest.mark.parametrize(
    ("broken", "fixed", "alert"),
    [
        ("max by (model_version) (churn_monitor_feature_drift_alert) == 1", "... == 2", "Drift"),
        ("for: 1m\n", "for: 0m\n", "ChurnNullFlood"),  # pages on the first scrape
        ("> 0.02", "> 0.2", "ChurnApiErrorRate"),  # a limit ten times too loose
    ],
)
def test_the_unit_tests_catch_a_broken_rule(
    tmp_path: Path, broken: str, fixed: str, alert: str
) -> None:
    text = ALERTS.read_text()
    assert broken in text
    replacement = broken.replace("== 1", "== 2") if fixed.startswith("...") else fixed
    (tmp_path / "alerts.yml").write_text(text.replace(broken, replacement, 1))
    shutil.copy(ALERT_TESTS, tmp_path / "alerts_test.yml")
    result = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode != 0, result.stdout
    assert alert in result.stdout + result.stderr
