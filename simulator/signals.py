"""Which signals fired in a week, read from the capstone run's own files (what the user saw).

A signal is one of the catalogue's names. Each is read from what the capstone wrote for the
week: the step outcomes (``weeks/<week>/<step>.json``, whose events are the event log's), the
monitor's window record and the scores. The capstone's monitor judges each week against the
*serving* champion's own reference, so a broken model that was promoted looks normal to it
(its scores match its own profile, its AUC its own holdout). An on-call dashboard also compares
with how the system looked before: the scores against the starting champion's profile (phase
4's ``score_drift``), and the realized or estimated AUC's interval against the starting
champion's holdout AUC less phase 4's ``auc_drop``. Both views fire a signal.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np
from pydantic import JsonValue

from phase2_pipelines.evidence import Verdict
from phase4_monitoring.monitor import MonitorReference
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.prediction import score_drift
from phase4_monitoring.trigger_history import WindowRecord
from phase5_capstone.state import RunPaths
from phase5_capstone.weekly import SCORES_FILE, WINDOW_FILE

ALERTING = {Verdict.ALERT, Verdict.FAIL}
Fired = dict[str, str]  # signal -> what fired, in words


def _events(paths: RunPaths, week: int, step: str) -> list[tuple[str, dict[str, JsonValue]]]:
    outcome = paths.read_outcome(week, step)
    if outcome is None:
        return []
    return [(e.kind, dict(e.evidence) | {"summary": e.summary}) for e in outcome.events]


def call_ms(paths: RunPaths, week: int, chunk_rows: int) -> float | None:
    """Mean milliseconds per call to the service in the week's scoring, if it was scored."""
    outcome = paths.read_outcome(week, "score")
    if outcome is None:
        return None
    for event in outcome.events:
        if event.kind == "scored":
            seconds = event.measured.get("seconds")
            rows = event.evidence.get("rows")
            if isinstance(seconds, int | float) and isinstance(rows, int) and rows > 0:
                return 1000.0 * float(seconds) / math.ceil(rows / chunk_rows)
    return None


def latency_baseline(paths: RunPaths, weeks: int, chunk_rows: int) -> float | None:
    """The median ms per call of the first ``weeks`` weeks (before any drill injects)."""
    found = [call_ms(paths, w, chunk_rows) for w in range(weeks)]
    values = [v for v in found if v is not None]
    return statistics.median(values) if values else None


def read_window(paths: RunPaths, week: int) -> WindowRecord | None:
    path = paths.week(week) / WINDOW_FILE
    return WindowRecord.model_validate_json(path.read_bytes()) if path.exists() else None


@dataclass(frozen=True)
class Baseline:
    """How the system looked before any drill injects, and the limits of each signal."""

    reference: MonitorReference  # the starting champion's
    monitoring: MonitoringParams
    label_delay_weeks: int
    chunk_rows: int
    baseline_ms: float | None
    latency_ratio: float
    latency_added_ms: float

    @property
    def auc_floor(self) -> float:
        return self.reference.baseline.roc_auc - self.monitoring.quality.auc_drop


def _prediction_drift(paths: RunPaths, week: int, base: Baseline) -> str | None:
    path = paths.week(week) / SCORES_FILE
    if not path.exists():
        return None
    import pandas as pd

    scores = pd.read_parquet(path)["score"].to_numpy(dtype=np.float64)
    profile = base.reference.profile
    drift = score_drift(scores, profile.score, profile.n_rows, base.monitoring)
    if drift.verdict is not Verdict.ALERT:
        return None
    return f"scores against the starting champion's: {drift.reason[:160]}"


def _auc_upper(quality: dict[str, JsonValue]) -> float | None:
    """The upper bound of the realized AUC's interval, from a labels_arrived event."""
    checks = quality.get("checks")
    for check in checks if isinstance(checks, list) else []:
        found = check.get("evidence") if isinstance(check, dict) else None
        for evidence in found if isinstance(found, list) else []:
            if not isinstance(evidence, dict) or evidence.get("metric") != "roc_auc":
                continue
            interval = evidence.get("interval")
            if isinstance(interval, list) and isinstance(interval[1], int | float):
                return float(interval[1])
    return None


def fired_in(paths: RunPaths, week: int, base: Baseline) -> Fired:
    """The signals that fired in ``week``, each with a one-line detail."""
    label_delay_weeks, chunk_rows = base.label_delay_weeks, base.chunk_rows
    baseline_ms, latency_ratio = base.baseline_ms, base.latency_ratio
    fired: Fired = {}
    for kind, evidence in _events(paths, week, "ingest"):
        if kind == "quarantined":  # both counts: "600 rows quarantined, 1,400 scored: ..."
            fired["data_quality"] = str(evidence["summary"])[:200]
    window = read_window(paths, week)
    if window is not None:
        report = window.report
        drifted = [f.column or "" for f in report.drift.features if f.verdict is Verdict.ALERT]
        if drifted:
            fired["feature_drift"] = f"drift alert on {', '.join(sorted(drifted))}"
        prediction = report.drift.prediction
        if prediction is not None and prediction.verdict is Verdict.ALERT:
            fired["prediction_drift"] = f"prediction drift: {prediction.reason[:160]}"
        estimate = report.estimate
        if estimate is not None and (
            (estimate.drop is not None and estimate.drop.exceeded)
            or estimate.roc_auc_band[1] < base.auc_floor
        ):
            fired["cbpe_estimate"] = (
                f"CBPE roc_auc {estimate.roc_auc:.3f} (band up to {estimate.roc_auc_band[1]:.3f});"
                f" the system started at {base.reference.baseline.roc_auc:.3f}"
            )
    if "prediction_drift" not in fired:
        moved = _prediction_drift(paths, week, base)
        if moved is not None:
            fired["prediction_drift"] = moved
        # a week without a monitor window (nothing scored) has no data-quality report
        checked = window.report.data_quality if window is not None else None
        if checked is not None and checked.verdict in ALERTING and "data_quality" not in fired:
            fired["data_quality"] = f"data quality {checked.verdict.value}: {checked.reason[:160]}"
    labels = _events(paths, week, "labels")
    bad = []
    for kind, evidence in labels:
        quality = evidence.get("quality")
        if kind != "labels_arrived" or not isinstance(quality, dict):
            continue
        upper = _auc_upper(quality)
        if quality.get("verdict") in {v.value for v in ALERTING}:
            bad.append(str(evidence["summary"]))
        elif upper is not None and upper < base.auc_floor:
            bad.append(
                f"{evidence['summary']}; its interval is below the starting"
                f" {base.reference.baseline.roc_auc:.3f} less the allowed drop"
            )
    if bad:
        fired["realized_quality"] = bad[0][:200]
    if week >= label_delay_weeks and not labels and paths.read_outcome(week, "labels"):
        fired["labels_missing"] = f"no labels arrived in week {week}"
    ms = call_ms(paths, week, chunk_rows)
    if (
        ms is not None
        and baseline_ms is not None
        and ms > max(latency_ratio * baseline_ms, baseline_ms + base.latency_added_ms)
    ):
        fired["latency"] = f"{ms:.0f} ms per call against {baseline_ms:.0f} ms at first"
    for kind, evidence in _events(paths, week, "score"):
        if kind == "version_skew":
            fired["version_skew"] = str(evidence["summary"])[:200]
    return fired
