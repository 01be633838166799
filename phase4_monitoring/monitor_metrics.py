"""Model-health gauges for Prometheus, from a ``WindowReport`` (and a ``TriggerDecision``).

The monitor runs once a window, not on every request, so its gauges are written to a file in
Prometheus's text format (as node_exporter's textfile collector reads them), and a small
exporter (``exporter.py``) serves that file at ``/metrics`` for Prometheus to scrape.

Each gauge carries the model version that scored the window. The ``*_alert`` gauges are the
monitor's own verdicts (1 alert, 0 not), so the alert rules never restate a threshold: the
thresholds, effect sizes and noise floors stay in ``params.yaml`` and the monitor's code.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, generate_latest, write_to_textfile

from phase2_pipelines.evidence import Check, Verdict
from phase4_monitoring.monitor import WindowReport
from phase4_monitoring.quality import QualityReport
from phase4_monitoring.trigger_rules import Action
from phase4_monitoring.triggers import TriggerDecision

PREFIX = "churn_monitor"


def _flag(check: Check) -> float:
    return 1.0 if check.verdict is Verdict.ALERT else 0.0


class MonitorMetrics:
    """One registry per window written: what Prometheus sees of the latest monitor run."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(
                f"{PREFIX}_{name}", doc, ("model_version", *labels), registry=self.registry
            )

        self.rows = gauge("window_rows", "Rows in the latest checked window.")
        self.scored = gauge("window_scored_rows", "Rows of the window the model scored.")
        self.checked_at = gauge("last_check_timestamp_seconds", "When the window was checked.")
        self.window_alert = gauge("window_alert", "1 when any check of the window alerts.")
        self.drift = gauge(
            "feature_drift", "Drift effect size of a feature by metric.", ("feature", "metric")
        )
        self.drift_alert = gauge(
            "feature_drift_alert", "1 when a feature's drift is an alert.", ("feature",)
        )
        self.drifted = gauge("drifted_features", "Features whose drift is an alert.")
        self.null_rate = gauge("null_rate", "Share of nulls in a column.", ("feature",))
        self.null_alert = gauge("null_flood_alert", "1 on a null flood.", ("feature",))
        self.schema_ok = gauge("schema_ok", "0 when columns are missing, renamed or retyped.")
        self.contract_ok = gauge("contract_ok", "0 when values break the data contract.")
        self.duplicate_alert = gauge("duplicate_alert", "1 when rows repeat customer ids.")
        self.prediction_mean = gauge("prediction_mean", "Mean churn probability served.")
        self.prediction_drift = gauge("prediction_drift", "Score drift by metric.", ("metric",))
        self.prediction_alert = gauge("prediction_drift_alert", "1 when the scores drifted.")
        self.estimated_auc = gauge("estimated_roc_auc", "CBPE estimate of the window's ROC AUC.")
        self.estimated_alert = gauge(
            "estimated_quality_alert", "1 when CBPE estimates a drop from the holdout."
        )
        self.realized_auc = gauge("realized_roc_auc", "ROC AUC on the window's released labels.")
        self.labeled = gauge("labeled_rows", "Labeled rows behind the realized quality.")
        self.quality_alert = gauge(
            "realized_quality_alert", "1 when a realized quality check alerts.", ("check",)
        )
        self.action = gauge(
            "trigger_action", "1 for the trigger's current action, 0 for the others.", ("action",)
        )
        self.escalated = gauge(
            "trigger_escalated", "1 while retrains keep failing and a person must look."
        )

    def record(self, report: WindowReport, version: str, checked_at: float | None = None) -> None:
        """Every gauge of one window, labelled with the version that scored it."""
        v = version
        self.rows.labels(v).set(report.n_rows)
        self.scored.labels(v).set(report.n_scored)
        self.checked_at.labels(v).set(time.time() if checked_at is None else checked_at)
        self.window_alert.labels(v).set(report.exit_code != 0)
        for feature in report.drift.features:
            name = feature.column or ""
            for evidence in feature.evidence:
                if math.isfinite(evidence.value):
                    self.drift.labels(v, name, evidence.metric).set(evidence.value)
            self.drift_alert.labels(v, name).set(_flag(feature))
        self.drifted.labels(v).set(len(report.drift.drifted))
        quality = report.data_quality
        self.schema_ok.labels(v).set(quality.schema_check.verdict is not Verdict.FAIL)
        self.contract_ok.labels(v).set(quality.contract.verdict is not Verdict.FAIL)
        self.duplicate_alert.labels(v).set(_flag(quality.duplicates))
        for check in quality.nulls:
            rate = next((e.value for e in check.evidence if e.metric == "null_rate"), None)
            if rate is not None:
                self.null_rate.labels(v, check.column or "").set(rate)
            self.null_alert.labels(v, check.column or "").set(_flag(check))
        self._record_prediction(report, v)
        if report.quality is not None:
            self.record_quality(report.quality, v)

    def record_quality(self, quality: QualityReport, version: str) -> None:
        """Realized quality: of this window, or of an earlier week whose labels just arrived."""
        self.labeled.labels(version).set(quality.metrics.get("n", 0))
        auc = quality.metrics.get("roc_auc")
        if auc is not None and math.isfinite(auc):
            self.realized_auc.labels(version).set(auc)
        for check in quality.checks:
            self.quality_alert.labels(version, check.column or check.check).set(_flag(check))

    def _record_prediction(self, report: WindowReport, v: str) -> None:
        if report.prediction_mean is not None and math.isfinite(report.prediction_mean):
            self.prediction_mean.labels(v).set(report.prediction_mean)
        prediction = report.drift.prediction
        if prediction is not None:
            for evidence in prediction.evidence:
                if math.isfinite(evidence.value):
                    self.prediction_drift.labels(v, evidence.metric).set(evidence.value)
            self.prediction_alert.labels(v).set(_flag(prediction))
        estimate = report.estimate
        if estimate is not None:
            self.estimated_auc.labels(v).set(estimate.roc_auc)
            dropped = estimate.drop is not None and estimate.drop.exceeded
            self.estimated_alert.labels(v).set(dropped)

    def record_decision(self, decision: TriggerDecision) -> None:
        for action in Action:
            chosen = action is decision.action
            self.action.labels(decision.model_version, action.value).set(chosen)
        self.escalated.labels(decision.model_version).set(decision.escalate)

    def exposition(self) -> str:
        return generate_latest(self.registry).decode()

    def write(self, path: Path) -> Path:
        """Atomically (write, then rename), so a scrape never reads half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), self.registry)
        return path


def window_metrics(
    report: WindowReport, version: str, decision: TriggerDecision | None = None
) -> MonitorMetrics:
    metrics = MonitorMetrics()
    metrics.record(report, version)
    if decision is not None:
        metrics.record_decision(decision)
    return metrics
