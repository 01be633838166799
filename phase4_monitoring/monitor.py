"""One window through every check: data quality, drift, the CBPE estimate and, with labels,
realized quality. The result is one typed ``WindowReport`` with one verdict and an exit code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from phase1_foundations.contract import (
    LABEL_COLUMN,
    ValidationReport,
    cast_to_model_frame,
)
from phase2_pipelines.evidence import Check, Verdict, worst
from phase2_pipelines.params import BusinessParams
from phase2_pipelines.profile import ReferenceProfile
from phase2_pipelines.stats import FloatArray
from phase4_monitoring.dataquality import DataQualityReport, check_data_quality, validate_window
from phase4_monitoring.drift import DriftReport, check_drift
from phase4_monitoring.estimate import Calibrator, PerformanceEstimate, estimate_performance
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.prediction import score_drift
from phase4_monitoring.quality import QualityBaseline, QualityReport, check_quality

EXIT_CODES = {Verdict.FAIL: 2, Verdict.ALERT: 1}
EXIT_CANNOT_CHECK = 2  # the window or the reference could not be read: as bad as a broken schema

Scorer = Callable[[pd.DataFrame], FloatArray]


@dataclass(frozen=True)
class MonitorReference:
    """What a window is compared with: the champion's profile, holdout and operating point."""

    profile: ReferenceProfile
    baseline: QualityBaseline
    threshold: float
    business: BusinessParams
    calibration_bins: int
    calibrator: Calibrator | None = None


class WindowReport(Check):
    """Every check on one window, and the verdict a script can act on."""

    check: str = "window"
    source: str
    model: str
    n_rows: int
    n_scored: int
    prediction_mean: float | None = None  # the mean score of the scored rows
    data_quality: DataQualityReport
    drift: DriftReport
    estimate: PerformanceEstimate | None = None
    quality: QualityReport | None = None

    @property
    def exit_code(self) -> int:
        """0 clean, 1 drift or quality alerts, 2 schema or contract failure."""
        return EXIT_CODES.get(self.verdict, 0)


def monitor_window(
    frame: pd.DataFrame,
    reference: MonitorReference,
    params: MonitoringParams,
    *,
    scorer: Scorer | None = None,
    scores: FloatArray | None = None,
    source: str = "window",
    model: str = "champion",
    slices: dict[str, np.ndarray] | None = None,
    validation: ValidationReport | None = None,
) -> WindowReport:
    """Check a window; score its contract-valid rows with ``scorer`` unless ``scores`` are given.

    ``scores`` (aligned with ``frame``, as the prediction log holds them) are used as they are.
    Labels, when the frame has a ``churn`` column, are used where present; ``slices`` (each
    row's group, aligned with ``frame``) add each group's realized quality to the report.
    ``validation`` is ``validate_window(frame)`` when the caller has it already (it found the
    rows it scored): the contract's pass over a window is not made twice.
    """
    validation = validation or validate_window(frame)
    data_quality = check_data_quality(frame, reference.profile, params, validation)
    usable = ~validation.bad_rows if validation.schema_ok else np.zeros(len(frame), dtype=bool)
    if scores is not None:
        window_scores = np.asarray(scores, dtype=np.float64)[usable]
    elif scorer is not None and usable.any():
        rows = frame if usable.all() else frame[usable]  # no million-row copy of a clean week
        window_scores = scorer(cast_to_model_frame(rows))  # the rows validation passed
    else:
        window_scores = np.empty(0, dtype=np.float64)
    prediction = None
    if scorer is not None or scores is not None:
        # The profile's score distribution came from its n_rows scored rows.
        rows_scored = reference.profile.n_rows
        prediction = score_drift(window_scores, reference.profile.score, rows_scored, params)
    drift = check_drift(frame, reference.profile, params, prediction)
    estimate = None
    if len(window_scores):
        estimate = estimate_performance(
            window_scores,
            threshold=reference.threshold,
            business=reference.business,
            params=params,
            calibrator=reference.calibrator,
            baseline=reference.baseline,
        )
    quality = None
    if LABEL_COLUMN in frame.columns and len(window_scores):
        labels = pd.to_numeric(frame[LABEL_COLUMN][usable], errors="coerce").to_numpy()
        known = ~np.isnan(labels)
        quality = check_quality(
            labels[known],
            window_scores[known],
            reference.baseline,
            threshold=reference.threshold,
            business=reference.business,
            calibration_bins=reference.calibration_bins,
            params=params,
            slices={k: np.asarray(v)[usable][known] for k, v in (slices or {}).items()},
        )
    report = _summarize(
        frame, source, model, len(window_scores), data_quality, drift, estimate, quality
    )
    if not len(window_scores):
        return report
    return report.model_copy(update={"prediction_mean": float(np.nanmean(window_scores))})


def _summarize(
    frame: pd.DataFrame,
    source: str,
    model: str,
    n_scored: int,
    data_quality: DataQualityReport,
    drift: DriftReport,
    estimate: PerformanceEstimate | None,
    quality: QualityReport | None,
) -> WindowReport:
    parts: list[Check] = [data_quality, drift, *([quality] if quality else [])]
    verdicts = [p.verdict for p in parts]
    if estimate is not None and estimate.drop is not None and estimate.drop.exceeded:
        verdicts.append(Verdict.ALERT)
    verdict = worst(v for v in verdicts if v in (Verdict.FAIL, Verdict.ALERT))
    reasons = [p.reason for p in parts if p.verdict in (Verdict.FAIL, Verdict.ALERT)]
    if estimate is not None and estimate.drop is not None and estimate.drop.exceeded:
        reasons.append(f"estimated quality: {estimate.drop.describe()}")
    return WindowReport(
        verdict=verdict,
        reason="; ".join(reasons) or "no schema, contract, drift or quality alert",
        source=source,
        model=model,
        n_rows=len(frame),
        n_scored=n_scored,
        data_quality=data_quality,
        drift=drift,
        estimate=estimate,
        quality=quality,
    )
