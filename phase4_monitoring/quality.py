"""Quality once labels arrive: ranking, calibration, business value and the label rate.

Each is compared with the champion's holdout (the baseline the gate approved it on), with
both sample sizes in the noise floor: a holdout of a few thousand rows is itself uncertain.
The metrics come from phase 2's ``compute_metrics``, so the business value is computed by the
one definition the gate uses.

Given each row's group (``slices``: phase 2's protected attributes, gender and senior citizens),
the report also gives every group's realized AUC and calibration gap with their intervals, every
labeled week: reported, not judged. A group of a few hundred customers has a few dozen churners
in a week, so its AUC interval is wide (+-0.06 to 0.08 at 99%); a drift of a few points shows
over weeks, not in one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from phase2_pipelines.evaluate import EvaluationReport, Metrics, compute_metrics, net_value
from phase2_pipelines.evidence import Check, Evidence, Verdict, judge, verdict_from, worst
from phase2_pipelines.params import BusinessParams
from phase2_pipelines.stats import auc_delong, auc_standard_error, two_sided_z, wilson_interval
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.stats import proportion_diff_noise_floor


class SegmentBaseline(BaseModel):
    """One segment value's holdout metrics (``contract=Two year``)."""

    model_config = ConfigDict(frozen=True)

    n: int
    roc_auc: float
    churn_rate: float

    @property
    def roc_auc_se(self) -> float:
        positives = self.n * self.churn_rate
        return auc_standard_error(self.roc_auc, positives, self.n - positives)


class QualityBaseline(BaseModel):
    """The champion's holdout metrics: what "no change" looks like once labels arrive."""

    model_config = ConfigDict(frozen=True)

    n: int
    roc_auc: float
    churn_rate: float
    net_value_per_customer: float
    segments: dict[str, SegmentBaseline] = {}  # by "slice=value", where the holdout had them

    @classmethod
    def from_metrics(cls, metrics: Metrics) -> QualityBaseline:
        return cls(
            n=metrics.n,
            roc_auc=metrics.roc_auc,
            churn_rate=metrics.churn_rate,
            net_value_per_customer=metrics.net_value_per_customer,
        )

    @classmethod
    def from_report(cls, report: EvaluationReport) -> QualityBaseline:
        """The overall metrics and every slice value's, from the evaluation the gate judged."""
        segments = {
            f"{name}={value}": SegmentBaseline(n=m.n, roc_auc=m.roc_auc, churn_rate=m.churn_rate)
            for name, values in report.slices.items()
            for value, m in values.items()
            if math.isfinite(m.roc_auc)
        }
        return cls.from_metrics(report.overall).model_copy(update={"segments": segments})

    @property
    def roc_auc_se(self) -> float:
        positives = self.n * self.churn_rate
        return auc_standard_error(self.roc_auc, positives, self.n - positives)


class SliceQuality(BaseModel):
    """Realized quality of one group (``slice`` is ``family=value``) in one labeled window."""

    model_config = ConfigDict(frozen=True)

    slice: str
    n: int
    churners: int
    roc_auc: float | None  # None without both churners and stayers
    roc_auc_interval: tuple[float, float] | None
    calibration_gap: float  # observed churn rate - mean predicted probability
    calibration_interval: tuple[float, float]


class QualityReport(Check):
    """Realized quality on a labeled window and how it compares with the holdout."""

    check: str = "quality"
    metrics: dict[str, float]
    checks: tuple[Check, ...]
    slices: tuple[SliceQuality, ...] = ()


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int) -> float:
    """Share-weighted mean |observed rate - mean score| over equal-width score bins."""
    index = np.minimum((scores * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins)
    observed = np.bincount(index, weights=labels, minlength=bins)
    predicted = np.bincount(index, weights=scores, minlength=bins)
    used = counts > 0
    return float(np.abs(observed[used] - predicted[used]).sum() / max(len(scores), 1))


def _row_values(labels: np.ndarray, contacted: np.ndarray, business: BusinessParams) -> np.ndarray:
    """Each row's net value, using phase 2's definition for one contacted churner or not."""
    churner = net_value(np.array([1]), np.array([True]), business)
    stayer = net_value(np.array([0]), np.array([True]), business)
    return np.where(contacted, np.where(labels == 1, churner, stayer), 0.0)


def check_quality(
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    baseline: QualityBaseline,
    *,
    threshold: float,
    business: BusinessParams,
    calibration_bins: int,
    params: MonitoringParams,
    slices: Mapping[str, np.ndarray] | None = None,
) -> QualityReport:
    """ROC AUC (DeLong interval), calibration, label rate and net value against the holdout;
    with ``slices`` (each row's value of each slice family), every group's AUC and calibration,
    judged (``segment_checks``, harm) and reported with intervals (``slice_quality``)."""
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    n = len(y)
    if n == 0:
        return QualityReport(verdict=Verdict.SKIPPED, reason="no labels yet", metrics={}, checks=())
    metrics = compute_metrics(y, s, threshold, business)
    limits, alpha, ratio = params.quality, params.noise_alpha, params.max_floor_ratio
    z = two_sided_z(alpha)
    auc, auc_se = auc_delong(y, s)
    interval = (auc - z * auc_se, auc + z * auc_se)
    positives = float(y.sum())
    week_se = (
        auc_standard_error(baseline.roc_auc, positives, n - positives)
        if limits.auc_noise_floor == "reference"
        else auc_se
    )
    drop_se = math.hypot(week_se, baseline.roc_auc_se)
    auc_check = _judged(
        "roc_auc",
        judge(
            "auc_drop",
            baseline.roc_auc - auc,
            limits.auc_drop,
            z * drop_se,
            n=n,
            n_reference=baseline.n,
            max_floor_ratio=ratio,
            interval=interval,
            standard_error=drop_se,
        ),
        Evidence(metric="roc_auc", value=auc, n=n, interval=interval, standard_error=auc_se),
        Evidence(
            metric="holdout_roc_auc",
            value=baseline.roc_auc,
            n=baseline.n,
            standard_error=baseline.roc_auc_se,
        ),
    )
    rate = float(y.mean())
    gap_se = math.sqrt(float(np.sum(s * (1 - s)))) / n
    calibration = _judged(
        "calibration",
        judge(
            "calibration_gap",
            abs(rate - float(s.mean())),
            limits.calibration_gap,
            z * gap_se,
            n=n,
            n_reference=None,
            max_floor_ratio=ratio,
            interval=wilson_interval(float(y.sum()), n, alpha),
            standard_error=gap_se,
        ),
        Evidence(
            metric="expected_calibration_error",
            n=n,
            value=expected_calibration_error(y, s, calibration_bins),
        ),
        Evidence(metric="brier", value=metrics.brier, n=n),
    )
    target = _judged(
        "target_drift",
        judge(
            "label_rate_change",
            abs(rate - baseline.churn_rate),
            limits.label_rate_change,
            proportion_diff_noise_floor(baseline.churn_rate, n, baseline.n, alpha),
            n=n,
            n_reference=baseline.n,
            max_floor_ratio=ratio,
            interval=wilson_interval(float(y.sum()), n, alpha),
        ),
    )
    values = _row_values(y, s >= threshold, business)
    value_se = float(values.std(ddof=1)) / math.sqrt(n) if n > 1 else float("inf")
    value_se_reference = float(values.std(ddof=1)) / math.sqrt(max(baseline.n, 1)) if n > 1 else 0
    value_drop_se = math.hypot(value_se, value_se_reference)
    value = _judged(
        "business_value",
        judge(
            "value_drop_per_customer",
            baseline.net_value_per_customer - metrics.net_value_per_customer,
            limits.value_drop_per_customer,
            z * value_drop_se,
            n=n,
            n_reference=baseline.n,
            max_floor_ratio=ratio,
            interval=(
                metrics.net_value_per_customer - z * value_se,
                metrics.net_value_per_customer + z * value_se,
            ),
            standard_error=value_drop_se,
        ),
    )
    checks: tuple[Check, ...] = (auc_check, calibration, target, value)
    groups = group_quality(y, s, slices or {})
    if slices:
        checks += segment_checks(groups, baseline, params)
    return QualityReport(
        verdict=worst(c.verdict for c in checks),
        reason=describe_quality(checks, auc, n, baseline.roc_auc),
        metrics=metrics.to_dict(),
        checks=checks,
        slices=slice_quality(groups, params),
    )


def describe_quality(checks: tuple[Check, ...], auc: float, n: int, reference: float) -> str:
    """One sentence per state: harm shown, not enough evidence, or no harm shown."""
    alerts = [c for c in checks if c.verdict is Verdict.ALERT]
    if alerts:
        return "harm shown: " + "; ".join(f"{c.column}: {c.reason}" for c in alerts)
    unsure = [c for c in checks if c.verdict is Verdict.INSUFFICIENT]
    if unsure:
        return (
            f"not enough evidence on {n:,} labels (roc_auc {auc:.3f}, holdout {reference:.3f}):"
            f" {'; '.join(f'{c.column}: {c.reason}' for c in unsure)}"
        )
    return f"no harm shown: roc_auc {auc:.3f} on {n:,} labels, holdout {reference:.3f}"


@dataclass(frozen=True)
class GroupQuality:
    """One group's realized numbers (``key`` is ``family=value``), computed once for both the
    judged segment checks and the reported slice quality."""

    key: str
    n: int
    churners: int
    calibration_gap: float  # observed churn rate - mean predicted probability
    calibration_se: float
    roc_auc: float | None  # DeLong's; None without both churners and stayers
    roc_auc_se: float | None


def group_quality(
    labels: np.ndarray, scores: np.ndarray, slices: Mapping[str, np.ndarray]
) -> tuple[GroupQuality, ...]:
    """Each value of each slice family, in sorted order, with its rows' AUC and calibration."""
    found = []
    for family, values in slices.items():
        groups = np.asarray(values).astype(str)
        for value in sorted(set(groups.tolist())):
            rows = groups == value
            y, s = labels[rows], scores[rows]
            n, churners = len(y), int(y.sum())
            auc, auc_se = (None, None) if not 0 < churners < n else auc_delong(y, s)
            found.append(
                GroupQuality(
                    key=f"{family}={value}",
                    n=n,
                    churners=churners,
                    calibration_gap=float(y.mean() - s.mean()),
                    calibration_se=math.sqrt(float(np.sum(s * (1 - s)))) / n,
                    roc_auc=auc,
                    roc_auc_se=auc_se,
                )
            )
    return tuple(found)


def segment_checks(
    groups: Sequence[GroupQuality], baseline: QualityBaseline, params: MonitoringParams
) -> tuple[Check, Check]:
    """Calibration and ranking per segment value (``contract=Two year``), Bonferroni-corrected
    over every value judged, so that many segments do not make many false alarms.

    A concept drift that moves one segment's churn and another's the opposite way can leave the
    overall calibration gap near zero while every affected segment is off by a lot; these see it.
    """
    limits, ratio = params.quality, params.max_floor_ratio
    judged = [g for g in groups if g.n >= limits.min_segment_rows]
    z = two_sided_z(params.noise_alpha / max(len(judged), 1))
    calibration: list[Evidence] = []
    ranking: list[Evidence] = []
    for group in judged:
        gap, gap_se = group.calibration_gap, group.calibration_se
        calibration.append(
            judge(
                f"calibration_gap[{group.key}]",
                abs(gap),
                limits.segment_calibration_gap,
                z * gap_se,
                n=group.n,
                n_reference=None,
                max_floor_ratio=ratio,
                interval=(gap - z * gap_se, gap + z * gap_se),
                standard_error=gap_se,
            )
        )
        reference = baseline.segments.get(group.key)
        if reference is None or group.roc_auc is None:
            continue
        positives = float(group.churners)
        drop_se = math.hypot(
            auc_standard_error(reference.roc_auc, positives, group.n - positives),
            reference.roc_auc_se,
        )
        ranking.append(
            judge(
                f"auc_drop[{group.key}]",
                reference.roc_auc - group.roc_auc,
                limits.segment_auc_drop,
                z * drop_se,
                n=group.n,
                n_reference=reference.n,
                max_floor_ratio=ratio,
                standard_error=drop_se,
            )
        )
    return _judged("segment_calibration", *calibration), _judged("segment_roc_auc", *ranking)


def slice_quality(
    groups: Sequence[GroupQuality], params: MonitoringParams
) -> tuple[SliceQuality, ...]:
    """Each group's realized ROC AUC (DeLong) and calibration gap, at the monitor's confidence."""
    z = two_sided_z(params.noise_alpha)
    found = []
    for group in groups:
        auc, interval = group.roc_auc, None
        if auc is not None and group.roc_auc_se is not None:
            interval = (max(auc - z * group.roc_auc_se, 0.0), min(auc + z * group.roc_auc_se, 1.0))
        gap, gap_se = group.calibration_gap, group.calibration_se
        found.append(
            SliceQuality(
                slice=group.key,
                n=group.n,
                churners=group.churners,
                roc_auc=auc,
                roc_auc_interval=interval,
                calibration_gap=gap,
                calibration_interval=(gap - z * gap_se, gap + z * gap_se),
            )
        )
    return tuple(found)


def _judged(name: str, *evidence: Evidence) -> Check:
    verdict, reason = verdict_from(evidence)
    return Check(check="quality", column=name, verdict=verdict, reason=reason, evidence=evidence)
