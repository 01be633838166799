"""Each protected group's realized quality, every labeled week: AUC and calibration, intervals.

The oracles are independent of the code: scikit-learn's ``roc_auc_score`` for the AUC, and the
known truth of a simulation for the intervals (scores that are the true probabilities, so the
calibration gap is zero in expectation; a group whose scores ignore its labels, AUC 0.5).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from phase2_pipelines.params import load_params
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.quality import QualityBaseline, check_quality, group_quality, slice_quality

RNG_SEED = 11
FAMILY = "seniorcitizen"


def _week(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels drawn from calibrated scores; seniors (about 16%) churn more."""
    rng = np.random.default_rng(seed)
    senior = (rng.random(n) < 0.16).astype(int)
    scores = np.clip(rng.beta(2, 5, n) + 0.15 * senior, 0.01, 0.99)
    labels = (rng.random(n) < scores).astype(np.int64)
    return labels, scores, senior


def test_each_group_gets_its_auc_and_calibration(monitoring_params: MonitoringParams) -> None:
    labels, scores, senior = _week(2_000, RNG_SEED)
    found = {
        q.slice: q
        for q in slice_quality(group_quality(labels, scores, {FAMILY: senior}), monitoring_params)
    }
    assert set(found) == {"seniorcitizen=0", "seniorcitizen=1"}
    for value, quality in found.items():
        rows = senior == int(value.split("=")[1])
        assert quality.n == rows.sum()
        assert quality.churners == labels[rows].sum()
        assert quality.roc_auc == pytest.approx(roc_auc_score(labels[rows], scores[rows]))
        assert quality.calibration_gap == pytest.approx(labels[rows].mean() - scores[rows].mean())
        assert quality.roc_auc_interval is not None
        low, high = quality.roc_auc_interval
        assert low < quality.roc_auc < high
    seniors, others = found["seniorcitizen=1"], found["seniorcitizen=0"]
    width = lambda q: q.roc_auc_interval[1] - q.roc_auc_interval[0]  # noqa: E731
    assert width(seniors) > width(others)  # fewer churners: a wider interval


def test_calibrated_scores_have_gap_intervals_that_cover_zero(
    monitoring_params: MonitoringParams,
) -> None:
    """Over many simulated weeks, the calibration interval of calibrated scores covers 0 at
    about the monitor's confidence (1 - noise_alpha)."""
    covered = []
    for seed in range(200):
        labels, scores, senior = _week(1_000, seed)
        for quality in slice_quality(
            group_quality(labels, scores, {FAMILY: senior}), monitoring_params
        ):
            low, high = quality.calibration_interval
            covered.append(low <= 0.0 <= high)
    assert np.mean(covered) >= 1 - 2 * monitoring_params.noise_alpha


def test_a_group_whose_scores_ignore_it_shows_an_auc_near_half(
    monitoring_params: MonitoringParams,
) -> None:
    labels, scores, senior = _week(4_000, RNG_SEED)
    rng = np.random.default_rng(1)
    scores = scores.copy()
    seniors = senior == 1
    scores[seniors] = rng.permutation(scores[seniors])  # a model blind for seniors
    found = {
        q.slice: q
        for q in slice_quality(group_quality(labels, scores, {FAMILY: senior}), monitoring_params)
    }
    blind = found["seniorcitizen=1"]
    assert blind.roc_auc_interval is not None
    assert blind.roc_auc_interval[0] < 0.5 < blind.roc_auc_interval[1]
    assert found["seniorcitizen=0"].roc_auc_interval[0] > 0.6  # type: ignore[index]


def test_the_quality_report_carries_the_groups(monitoring_params: MonitoringParams) -> None:
    labels, scores, senior = _week(2_000, RNG_SEED)
    baseline = QualityBaseline(n=2_000, roc_auc=0.75, churn_rate=0.3, net_value_per_customer=5.0)
    report = check_quality(
        labels,
        scores,
        baseline,
        threshold=0.35,
        business=load_params().evaluate.business,
        calibration_bins=10,
        params=monitoring_params,
        slices={"seniorcitizen": senior},
    )
    assert [q.slice for q in report.slices] == ["seniorcitizen=0", "seniorcitizen=1"]
    assert "slices" in report.model_dump(mode="json")  # in the labeled week's evidence
