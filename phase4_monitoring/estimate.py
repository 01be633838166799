"""Performance before labels: confidence-based performance estimation (CBPE, NannyML's method).

When the scores are calibrated, a score of 0.3 means 30% of such customers churn, so every
score is an expected label. Summing scores above and below each threshold gives the expected
confusion matrix, hence an expected ROC curve, an expected AUC and the expected business value,
with no label at all. It works under covariate shift (who the customers are changes, how they
churn does not: calibration holds) and fails under concept drift (how they churn changes, the
scores stay as confident as before, and only the realized labels show it).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict
from sklearn.isotonic import IsotonicRegression

from phase2_pipelines.evaluate import net_value
from phase2_pipelines.evidence import Check, Evidence, Verdict, judge
from phase2_pipelines.params import BusinessParams
from phase2_pipelines.stats import FloatArray, auc_standard_error, two_sided_z
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.quality import QualityBaseline, expected_calibration_error


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Calibrator(_Frozen):
    """A monotone map from raw to calibrated scores (isotonic, fitted on the holdout)."""

    raw: tuple[float, ...]
    calibrated: tuple[float, ...]

    def apply(self, scores: npt.ArrayLike) -> FloatArray:
        return np.interp(np.asarray(scores, dtype=np.float64), self.raw, self.calibrated)


class CalibrationCheck(Check):
    """Are the champion's holdout scores calibrated enough for CBPE, and what was done if not:
    the shared check shape (ALERT when the calibration error is over its limit), with the
    isotonic map CBPE then uses."""

    calibrator: Calibrator | None = None

    @property
    def calibrated(self) -> bool:
        return self.verdict is Verdict.OK

    def describe(self) -> str:
        return self.reason


def check_calibration(
    labels: npt.ArrayLike, scores: npt.ArrayLike, bins: int, max_ece: float
) -> CalibrationCheck:
    """The holdout's calibration error; over the limit, fit an isotonic map on the holdout."""
    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    ece = expected_calibration_error(y, s, bins)
    calibrator = None
    if ece > max_ece:
        isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(s, y)
        calibrator = Calibrator(
            raw=tuple(float(v) for v in isotonic.X_thresholds_),
            calibrated=tuple(float(v) for v in isotonic.y_thresholds_),
        )
    state = "calibrated" if calibrator is None else "not calibrated"
    fix = "; CBPE uses an isotonic recalibration fitted on the holdout" if calibrator else ""
    return CalibrationCheck(
        check="cbpe_calibration",
        verdict=Verdict.OK if calibrator is None else Verdict.ALERT,
        reason=f"holdout expected calibration error {ece:.3f} (limit {max_ece:.3f},"
        f" n={len(y):,}): {state}{fix}",
        evidence=(
            Evidence(
                metric="expected_calibration_error",
                value=ece,
                threshold=max_ece,
                n=len(y),
                exceeded=calibrator is not None,
            ),
        ),
        calibrator=calibrator,
    )


def expected_roc_auc(scores: npt.ArrayLike) -> float:
    """The ROC AUC expected if each score is the probability of its label (NannyML's CBPE).

    At each distinct score, the expected true positives above it are the sum of the scores
    above it, the expected false positives the sum of (1 - score); the trapezoid under the
    expected (FPR, TPR) curve is the AUC.
    """
    s = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    if len(s) == 0:
        return float("nan")
    last_of_tie = np.append(s[1:] != s[:-1], True)
    tp = np.cumsum(s)[last_of_tie]
    fp = np.cumsum(1 - s)[last_of_tie]
    if tp[-1] <= 0 or fp[-1] <= 0:
        return float("nan")
    tpr = np.concatenate([[0.0], tp / tp[-1]])
    fpr = np.concatenate([[0.0], fp / fp[-1]])
    return float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2))


class PerformanceEstimate(_Frozen):
    """What the labels, when they come, are expected to show; from the scores alone."""

    n: int
    roc_auc: float
    roc_auc_band: tuple[float, float]  # where the realized AUC should land at this n
    expected_churn_rate: float
    expected_net_value_per_customer: float
    recalibrated: bool
    drop: Evidence | None = None

    def describe(self) -> str:
        low, high = self.roc_auc_band
        how = " (recalibrated scores)" if self.recalibrated else ""
        return (
            f"CBPE{how}: roc_auc {self.roc_auc:.3f} (realized expected in [{low:.3f}, {high:.3f}]"
            f" at n={self.n:,}); churn rate {self.expected_churn_rate:.3f}; net value per"
            f" customer {self.expected_net_value_per_customer:.2f}"
        )


def estimate_performance(
    scores: npt.ArrayLike,
    *,
    threshold: float,
    business: BusinessParams,
    params: MonitoringParams,
    calibrator: Calibrator | None = None,
    baseline: QualityBaseline | None = None,
) -> PerformanceEstimate:
    """CBPE's expected ROC AUC, churn rate and net value; judged against the holdout if given.

    The decision threshold applies to the model's own scores; the calibrated scores only
    stand in for the labels.
    """
    raw = np.asarray(scores, dtype=np.float64)
    probability = calibrator.apply(raw) if calibrator else raw
    n = len(raw)
    auc = expected_roc_auc(probability)
    positives = float(probability.sum())
    se = auc_standard_error(auc, positives, n - positives)
    z = two_sided_z(params.noise_alpha)
    value = net_value(probability, raw >= threshold, business)
    drop = None
    if baseline is not None and math.isfinite(auc):
        drop = judge(
            "estimated_auc_drop",
            baseline.roc_auc - auc,
            params.quality.auc_drop,
            # The estimate has no label noise of its own; the holdout's AUC has.
            z * baseline.roc_auc_se,
            n=n,
            n_reference=baseline.n,
            max_floor_ratio=params.max_floor_ratio,
            standard_error=baseline.roc_auc_se,
        )
    return PerformanceEstimate(
        n=n,
        roc_auc=auc,
        roc_auc_band=(auc - z * se, auc + z * se),
        expected_churn_rate=positives / max(n, 1),
        expected_net_value_per_customer=value / max(n, 1),
        recalibrated=calibrator is not None,
        drop=drop,
    )
