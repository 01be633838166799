"""Fast drift checks: a window of data against the champion's reference profile.

Per feature, on the profile's own bins (no training rows needed): PSI and Jensen-Shannon
distance for every feature, and for numbers a Wasserstein-1 distance scaled by the reference
standard deviation. Nulls are left out of the distributions (``dataquality`` counts them), so a
null flood does not pose as drift. Each statistic is a single pass of cheap comparisons over the
column: about 10 ms for a million rows.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from phase1_foundations.contract import FEATURES, CategoricalColumn
from phase2_pipelines.evidence import Check, Evidence, Verdict, judge, verdict_from, worst
from phase2_pipelines.profile import (
    CategoricalProfile,
    NumericProfile,
    ReferenceProfile,
)
from phase2_pipelines.stats import FloatArray, population_stability_index
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.stats import (
    binned_p_value,
    cdf_l1,
    cdf_l1_noise_floor,
    js_distance,
    js_noise_floor,
    mean_shift_noise_floor,
    psi_noise_floor,
)

MIN_STD = 1e-3  # a constant reference column: distances in units of this (as Evidently does)


class FeatureDrift(Check):
    """One feature's (or the score's) drift: PSI, JS and, for numbers, scaled Wasserstein."""

    check: str = "drift"
    kind: Literal["numeric", "categorical", "score"]
    n: int


class DriftReport(Check):
    """Every feature's drift and the prediction drift, with the overall verdict."""

    check: str = "drift"
    features: tuple[FeatureDrift, ...]
    prediction: FeatureDrift | None = None

    @property
    def drifted(self) -> list[str]:
        """Features whose drift is an alert (not the prediction)."""
        return [f.column or "" for f in self.features if f.verdict is Verdict.ALERT]


def numeric_values(values: pd.Series) -> FloatArray:
    """The column as floats; nulls and values that are not numbers become NaN."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan))
    return np.asarray(pd.to_numeric(values, errors="coerce"), dtype=np.float64)


def bin_shares(below: FloatArray, n: int) -> FloatArray:
    """Bin shares from the counts strictly below each inner edge."""
    return np.diff(np.concatenate([[0.0], below, [float(n)]])) / max(n, 1)


def numeric_drift(
    name: str,
    values: pd.Series,
    profile: NumericProfile,
    n_reference: int,
    params: MonitoringParams,
) -> FeatureDrift:
    """PSI, JS and scaled Wasserstein of one numeric column against its profile."""
    x = numeric_values(values)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return empty_drift(name, "numeric")
    edges = np.asarray(profile.edges, dtype=np.float64)
    below = np.array([np.count_nonzero(x < edge) for edge in edges[1:-1]], dtype=np.float64)
    window = bin_shares(below, n)
    reference = np.asarray(profile.shares, dtype=np.float64)
    limits = params.drift
    evidence = [
        *binned_evidence(
            window, reference, n, n_reference, limits.psi, limits.jensen_shannon, params
        ),
        _wasserstein(x, edges, below, profile, n_reference, params),
    ]
    verdict, reason = verdict_from(evidence)
    return FeatureDrift(
        column=name, kind="numeric", n=n, verdict=verdict, reason=reason, evidence=tuple(evidence)
    )


def _wasserstein(
    x: FloatArray,
    edges: FloatArray,
    below: FloatArray,
    profile: NumericProfile,
    n_reference: int,
    params: MonitoringParams,
) -> Evidence:
    """W1 / reference std, from the CDFs at the profile's edges, with exact tails.

    Inside the reference range the distance is the trapezoid integral of the gap between the
    two CDFs at the bin edges (the profile's resolution); beyond it the reference has no mass,
    so the window's own excess is exact. A two-valued column has one bin and no inner edge:
    there W1 is the difference of the means, which the profile keeps.
    """
    n = len(x)
    scale = max(profile.std, MIN_STD)
    alpha = params.noise_alpha
    if len(edges) <= 2:
        value = abs(float(x.mean()) - profile.mean) / scale
        floor = mean_shift_noise_floor(n, n_reference, alpha)
    else:
        low, high = edges[0], edges[-1]
        # F(x < e) at each edge but the last, where F(x <= max) is 1 for the reference.
        counts = np.concatenate([[np.count_nonzero(x < low)], below, [np.count_nonzero(x <= high)]])
        window_cdf = counts / n
        reference_cdf = np.concatenate([[0.0], np.cumsum(profile.shares)[:-1], [1.0]])
        tails = float(np.maximum(low - x, 0).sum() + np.maximum(x - high, 0).sum()) / n
        value = (cdf_l1(edges, window_cdf, reference_cdf) + tails) / scale
        floor = cdf_l1_noise_floor(edges, reference_cdf, n, n_reference, alpha) / scale
    return judge(
        "wasserstein",
        value,
        params.drift.wasserstein,
        floor,
        n=n,
        n_reference=n_reference,
        max_floor_ratio=params.max_floor_ratio,
    )


def category_counts(values: pd.Series, categories: tuple[str, ...]) -> FloatArray:
    """Counts of each contract category, then of every other value; nulls are not counted."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        found = np.bincount(codes[codes >= 0], minlength=len(values.cat.categories))
        position = {c: i for i, c in enumerate(categories)}
        counts = np.zeros(len(categories) + 1)
        for category, count in zip(values.cat.categories, found, strict=True):
            counts[position.get(str(category), len(categories))] += count
        return counts
    present = values[values.notna()].astype(str)
    known = pd.Categorical(present, categories=list(categories))
    codes = np.asarray(known.codes)
    counts = np.bincount(codes[codes >= 0], minlength=len(categories)).astype(np.float64)
    return np.append(counts, float(np.count_nonzero(codes < 0)))


def categorical_drift(
    name: str,
    values: pd.Series,
    profile: CategoricalProfile,
    categories: tuple[str, ...],
    n_reference: int,
    params: MonitoringParams,
) -> FeatureDrift:
    """PSI and JS distance over the contract's categories plus one bucket for anything else."""
    counts = category_counts(values, categories)
    n = int(counts.sum())
    if n == 0:
        return empty_drift(name, "categorical")
    window = counts / n
    reference = np.array([profile.frequencies.get(c, 0.0) for c in categories] + [0.0])
    evidence = binned_evidence(
        window, reference, n, n_reference, params.drift.psi, params.drift.jensen_shannon, params
    )
    verdict, reason = verdict_from(evidence)
    return FeatureDrift(
        column=name,
        kind="categorical",
        n=n,
        verdict=verdict,
        reason=reason,
        evidence=tuple(evidence),
    )


def binned_evidence(
    window: FloatArray,
    reference: FloatArray,
    n: int,
    n_reference: int,
    psi_limit: float,
    js_limit: float,
    params: MonitoringParams,
) -> list[Evidence]:
    """PSI and Jensen-Shannon distance of two binned distributions, with chi-square p-values
    beside them for information."""
    bins = max(int(np.count_nonzero(reference)), 2)
    alpha, ratio = params.noise_alpha, params.max_floor_ratio
    stability = population_stability_index(window, reference)
    distance = js_distance(window, reference)
    return [
        judge(
            "psi",
            stability,
            psi_limit,
            psi_noise_floor(bins, n, n_reference, alpha),
            n=n,
            n_reference=n_reference,
            max_floor_ratio=ratio,
            p_value=binned_p_value(stability, bins, n, n_reference),
        ),
        judge(
            "jensen_shannon",
            distance,
            js_limit,
            js_noise_floor(bins, n, n_reference, alpha),
            n=n,
            n_reference=n_reference,
            max_floor_ratio=ratio,
            p_value=binned_p_value(8 * distance**2, bins, n, n_reference),
        ),
    ]


def empty_drift(name: str, kind: Literal["numeric", "categorical", "score"]) -> FeatureDrift:
    return FeatureDrift(
        column=name, kind=kind, n=0, verdict=Verdict.INSUFFICIENT, reason="no values to compare"
    )


def _missing(name: str, kind: Literal["numeric", "categorical"]) -> FeatureDrift:
    return FeatureDrift(
        column=name,
        kind=kind,
        n=0,
        verdict=Verdict.SKIPPED,
        reason="not in the window (see the schema check)",
    )


def feature_drift(
    frame: pd.DataFrame, name: str, profile: ReferenceProfile, params: MonitoringParams
) -> FeatureDrift:
    """One contract feature of the window against its profile."""
    spec = next(s for s in FEATURES if s.name == name)
    kind: Literal["numeric", "categorical"] = (
        "categorical" if isinstance(spec, CategoricalColumn) else "numeric"
    )
    if name not in frame.columns:
        return _missing(name, kind)
    if isinstance(spec, CategoricalColumn):
        return categorical_drift(
            name, frame[name], profile.categorical[name], spec.categories, profile.n_rows, params
        )
    return numeric_drift(name, frame[name], profile.numeric[name], profile.n_rows, params)


def check_drift(
    frame: pd.DataFrame,
    profile: ReferenceProfile,
    params: MonitoringParams,
    prediction: FeatureDrift | None = None,
) -> DriftReport:
    """Every contract feature against the reference profile, with the prediction drift if any
    (``prediction.score_drift``)."""
    features = tuple(feature_drift(frame, spec.name, profile, params) for spec in FEATURES)
    checks = [*features, *([prediction] if prediction is not None else [])]
    verdict = worst(c.verdict for c in checks if c.verdict is not Verdict.SKIPPED)
    alerts = [c.column or "" for c in checks if c.verdict is Verdict.ALERT]
    reason = f"drift in {', '.join(alerts)}" if alerts else "no feature or score drift"
    return DriftReport(features=features, prediction=prediction, verdict=verdict, reason=reason)
