"""The paired bootstrap, checked against oracles that share none of its code.

sklearn's ``roc_auc_score`` on explicitly repeated rows checks the weighted AUC of every resample;
DeLong's variance of a paired AUC difference (written out here from the 1988 paper's placement
values) checks the bootstrap's standard error; the Wilson formula is checked at a known value.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from phase2_pipelines.stats import (
    ClassCounts,
    _Placements,
    bootstrap_auc_differences,
    paired_auc_difference,
    roc_auc,
    wilson_interval,
)


def correlated_scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and two correlated models' scores, rounded so that ties occur."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.26).astype(int)
    shared = rng.normal(size=n) + 1.4 * labels
    a = np.round(shared + rng.normal(scale=0.5, size=n), 1)
    b = np.round(shared + rng.normal(scale=0.5, size=n), 1)
    return labels, a, b


def delong_difference_se(labels: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """DeLong, DeLong & Clarke-Pearson (1988): variance of AUC(a) - AUC(b) on the same rows."""
    positives, negatives = labels == 1, labels == 0
    components = []
    for scores in (a, b):
        x, y = scores[positives][:, None], scores[negatives][None, :]
        kernel = (x > y) + 0.5 * (x == y)
        components.append((kernel.mean(axis=1), kernel.mean(axis=0)))
    v10 = np.stack([c[0] for c in components])  # per positive, per model
    v01 = np.stack([c[1] for c in components])  # per negative, per model
    s10, s01 = np.cov(v10), np.cov(v01)
    contrast = np.array([1.0, -1.0])
    variance = contrast @ s10 @ contrast / positives.sum() + contrast @ s01 @ contrast / (
        negatives.sum()
    )
    return float(np.sqrt(variance))


def test_auc_matches_sklearn_with_ties() -> None:
    labels, a, _ = correlated_scores(500, seed=1)
    assert roc_auc(labels, a) == pytest.approx(roc_auc_score(labels, a), abs=1e-12)


def test_auc_is_undefined_with_one_class() -> None:
    assert np.isnan(roc_auc(np.zeros(5), np.arange(5.0)))


def test_weighted_auc_equals_auc_of_repeated_rows() -> None:
    labels, a, _ = correlated_scores(300, seed=2)
    rng = np.random.default_rng(3)
    positive, negative = a[labels == 1], a[labels == 0]
    weights_pos = rng.multinomial(len(positive), np.full(len(positive), 1 / len(positive)), 4)
    weights_neg = rng.multinomial(len(negative), np.full(len(negative), 1 / len(negative)), 4)
    got = _Placements(positive, negative).weighted_auc(
        weights_pos.astype(float), weights_neg.astype(float)
    )
    for row in range(4):
        scores = np.concatenate(
            [np.repeat(positive, weights_pos[row]), np.repeat(negative, weights_neg[row])]
        )
        truth = np.concatenate([np.ones(weights_pos[row].sum()), np.zeros(weights_neg[row].sum())])
        assert got[row] == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)


def test_bootstrap_standard_error_agrees_with_delong() -> None:
    labels, a, b = correlated_scores(2000, seed=4)
    result = paired_auc_difference(labels, a, b, confidence=0.95, resamples=4000, seed=0)
    delong = delong_difference_se(labels, a, b)
    assert result.standard_error == pytest.approx(delong, rel=0.1)
    assert result.difference == pytest.approx(roc_auc_score(labels, a) - roc_auc_score(labels, b))
    assert result.low < result.difference < result.high


def test_pairing_narrows_the_interval() -> None:
    """The point of pairing: the difference is far more certain than either AUC alone."""
    labels, a, b = correlated_scores(2000, seed=5)
    paired = paired_auc_difference(labels, a, b, confidence=0.95, resamples=2000, seed=0)
    # Against a constant scorer (AUC exactly 0.5 in every resample): a's own AUC interval.
    alone = paired_auc_difference(
        labels, a, np.zeros_like(b), confidence=0.95, resamples=2000, seed=0
    )
    assert paired.high - paired.low < 0.75 * (alone.high - alone.low)


def test_identical_models_differ_by_exactly_zero() -> None:
    labels, a, _ = correlated_scores(400, seed=6)
    result = paired_auc_difference(labels, a, a.copy(), confidence=0.95, resamples=500, seed=0)
    assert (result.difference, result.low, result.high) == (0.0, 0.0, 0.0)


def test_resamples_keep_the_class_counts() -> None:
    labels, a, b = correlated_scores(300, seed=7)
    result = paired_auc_difference(labels, a, b, confidence=0.9, resamples=300, seed=1)
    assert result.counts == ClassCounts(300, int(labels.sum()), int(300 - labels.sum()))
    assert result.resamples == 300
    draws = bootstrap_auc_differences(labels, a, b, resamples=300, rng=np.random.default_rng(1))
    assert np.isfinite(draws).all()  # every resample has both classes, so every AUC exists


def test_same_seed_same_interval() -> None:
    labels, a, b = correlated_scores(300, seed=8)
    first = paired_auc_difference(labels, a, b, confidence=0.95, resamples=500, seed=9)
    again = paired_auc_difference(labels, a, b, confidence=0.95, resamples=500, seed=9)
    assert first == again


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5])
def test_confidence_must_be_a_probability(confidence: float) -> None:
    labels, a, b = correlated_scores(50, seed=10)
    with pytest.raises(ValueError, match="confidence"):
        paired_auc_difference(labels, a, b, confidence=confidence, resamples=200, seed=0)


def test_one_class_cannot_be_compared() -> None:
    with pytest.raises(ValueError, match="both churners and stayers"):
        bootstrap_auc_differences(
            np.ones(5), np.arange(5.0), np.arange(5.0), resamples=10, rng=np.random.default_rng(0)
        )


def test_wilson_interval_at_known_values() -> None:
    z2 = 1.959963984540054**2
    low, high = wilson_interval(0, 50)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert high == pytest.approx(z2 / (50 + z2))  # the closed form at zero successes
    low, high = wilson_interval(25, 50)
    assert low + high == pytest.approx(1.0)  # symmetric around one half
