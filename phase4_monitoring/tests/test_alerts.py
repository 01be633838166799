"""alerts.yml: valid for promtool, unit-tested by promtool, and a broken rule fails those tests.

Every alert has a ``for:``, a severity and a runbook that names a section of the lesson; every
limit it compares with is a monitor's verdict or a value of params.yaml.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from phase1_foundations.settings import PROJECT_ROOT
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.tests.helpers import ALERTS

HERE = Path(__file__).resolve().parents[1]
LESSON_ALERTS = "phase4_monitoring/alerts.yml"  # as the lesson's commands spell them
LESSON_ALERT_TESTS = "phase4_monitoring/alerts_test.yml"
ALERT_TESTS = HERE / "alerts_test.yml"
LESSON = HERE / "README.md"
COMPARISON = re.compile(r"(?:==|!=|>=|<=|>|<)\s*(\d+(?:\.\d+)?(?:\s*\*\s*\d+(?:\.\d+)?)*)")
VERDICT_GAUGE = re.compile(r"churn_monitor_\w+_(?:alert|ok)\b|churn_monitor_trigger_escalated\b")
QUANTILE = re.compile(r"histogram_quantile\(\s*([0-9.]+)")
HARM_CHECKS = re.compile(r'check=~"([^"]+)"')
DAY_SECONDS = 86_400
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


def _number(expression: str) -> float:
    """``8 * 86400`` -> 691200.0 (a limit may be written as a product, e.g. days in seconds)."""
    return math.prod(float(factor) for factor in expression.split("*"))


def test_every_limit_in_the_rules_is_a_params_value(monitoring_params: MonitoringParams) -> None:
    prometheus = monitoring_params.prometheus
    expected = {  # alert -> the params.yaml value of each of its comparisons, in order
        "ChurnApiLatencyP99": [prometheus.p99_latency_seconds],
        "ChurnApiErrorRate": [prometheus.error_rate],
        "ChurnMonitorStale": [prometheus.stale_after_days * DAY_SECONDS],
    }
    for rule in rules():
        name, expr = str(rule["alert"]), str(rule["expr"])
        found = [_number(limit) for limit in COMPARISON.findall(expr)]
        assert found, f"{name}: compares nothing"
        if name in expected:
            assert found == pytest.approx(expected.pop(name)), name
        else:  # a monitor's verdict (1: alert, 0: not ok), whose threshold is in params.yaml
            assert VERDICT_GAUGE.search(expr), f"{name}: a limit that is not in params.yaml"
            assert set(found) <= {0.0, 1.0}, f"{name}: compares a verdict with {found}"
    assert not expected, f"no rule for {sorted(expected)}"
    quantiles = [q for rule in rules() for q in QUANTILE.findall(str(rule["expr"]))]
    assert [f"p{round(float(q) * 100)}_latency_seconds" for q in quantiles] == [
        "p99_latency_seconds"  # the quantile is the one the params key names
    ]
    harm = [set(h.split("|")) for rule in rules() for h in HARM_CHECKS.findall(str(rule["expr"]))]
    assert harm == [set(monitoring_params.triggers.harm_checks)]  # the realized checks that harm


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
