"""The shared statistics, checked against oracles that share none of their code.

sklearn's ``roc_auc_score`` on explicitly repeated rows checks the weighted AUC of every resample;
DeLong's variance of a paired AUC difference (written out here from the 1988 paper's placement
values) checks the bootstrap's standard error and ``paired_auc_delong``; a bootstrap checks
``auc_delong``'s error; the Wilson formula is checked at known values and the Wilson and
Clopper-Pearson bounds by their coverage in simulation; the PSI against its definition written
out with Evidently's rule for empty bins, and its lower bound against scipy's chi-square; the
inverse-variance mean against weights worked out by hand; Hanley and McNeil's error against
DeLong's.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from phase2_pipelines.stats import (
    EMPTY_BIN_SHARE,
    ClassCounts,
    InverseVarianceMean,
    _Placements,
    auc_delong,
    auc_standard_error,
    bootstrap_auc_differences,
    clopper_pearson_lower_bound,
    paired_auc_delong,
    paired_auc_difference,
    population_stability_index,
    psi_lower_bound,
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
        weights_pos.astype(np.int32), weights_neg.astype(np.int32)
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


def test_wilson_interval_covers_the_rate_as_promised() -> None:
    rng = np.random.default_rng(11)
    p, n = 0.08, 150
    covered = [
        low <= p <= high for low, high in (wilson_interval(x, n) for x in rng.binomial(n, p, 4_000))
    ]
    assert np.mean(covered) == pytest.approx(0.95, abs=0.02)  # Wilson is near-exact, not exact
    low, high = wilson_interval(30, 100, alpha=0.01)
    assert low < 0.3 < high
    assert wilson_interval(30, 100, alpha=0.01)[1] > wilson_interval(30, 100)[1]  # 99% is wider


def test_no_trials_is_no_evidence_and_an_impossible_count_is_an_error() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)  # every proportion: "not enough evidence"
    with pytest.raises(ValueError, match="successes <= n"):
        wilson_interval(3, 2)
    with pytest.raises(ValueError, match="successes <= n"):
        wilson_interval(-1, 10)


def test_clopper_pearson_bound_covers_as_promised() -> None:
    rng = np.random.default_rng(0)
    p, n, alpha = 0.03, 400, 0.05
    draws = rng.binomial(n, p, 4_000)
    covered = [clopper_pearson_lower_bound(int(x), n, alpha) <= p for x in draws]
    assert np.mean(covered) >= 1 - alpha  # exact: at least 95% of bounds are below the truth
    assert clopper_pearson_lower_bound(0, n, alpha) == 0.0
    assert clopper_pearson_lower_bound(5, 0, alpha) == 0.0


def test_psi_is_its_definition_with_empty_bins_counted_as_a_small_share() -> None:
    window, reference = np.array([0.6, 0.4]), np.array([0.5, 0.5])
    expected = 0.1 * np.log(0.6 / 0.5) + (-0.1) * np.log(0.4 / 0.5)
    assert population_stability_index(window, reference) == pytest.approx(expected)
    assert population_stability_index(reference, reference) == 0.0
    assert population_stability_index(reference, window) == pytest.approx(expected)  # symmetric
    # Evidently's rule, written out: an empty share is read as 0.0001.
    window, reference = np.array([0.0, 0.3, 0.7]), np.array([0.2, 0.3, 0.5])
    expected = (0.0001 - 0.2) * np.log(0.0001 / 0.2) + 0.2 * np.log(0.7 / 0.5)
    assert EMPTY_BIN_SHARE == 0.0001
    assert population_stability_index(window, reference) == pytest.approx(expected)
    # A bin empty on both sides adds nothing.
    padded = population_stability_index(np.append(window, 0.0), np.append(reference, 0.0))
    assert padded == pytest.approx(expected)


def test_psi_bound_is_zero_when_chance_explains_the_shift() -> None:
    df = 9
    chance = float(stats.chi2.ppf(0.5, df))  # a typical statistic with no shift at all
    assert psi_lower_bound(chance, n_eff=200, df=df, alpha=0.001) == 0.0
    shifted = psi_lower_bound(400.0, n_eff=200, df=df, alpha=0.001)
    assert 0.5 < shifted < 2.0  # a PSI near 2 observed: the bound is well above zero, below it
    # At the bound, the statistic is exactly the (1 - alpha) quantile of the noncentral law.
    assert stats.ncx2.sf(400.0, df, 200 * shifted) == pytest.approx(0.001, rel=1e-3)


def separable_scores() -> tuple[np.ndarray, np.ndarray]:
    """3,000 customers, 30% churners, scored by one model with an AUC near 0.8."""
    rng = np.random.default_rng(1)
    labels = rng.random(3_000) < 0.3
    return labels, rng.normal(size=3_000) + labels * 1.2


def test_delong_auc_is_sklearns_and_its_error_matches_a_bootstrap() -> None:
    labels, scores = separable_scores()
    rng = np.random.default_rng(2)  # the bootstrap's own draws
    auc, se = auc_delong(labels, scores)
    assert auc == pytest.approx(roc_auc_score(labels, scores))
    boot = []
    for _ in range(300):
        pick = rng.integers(0, len(labels), len(labels))
        boot.append(roc_auc_score(labels[pick], scores[pick]))
    assert se == pytest.approx(np.std(boot), rel=0.2)
    assert all(np.isnan(auc_delong(np.zeros(5), np.arange(5.0))))  # one class: undefined


def test_paired_delong_is_the_1988_formula() -> None:
    labels, a, b = correlated_scores(1500, seed=12)
    difference, se = paired_auc_delong(labels, a, b)
    assert difference == pytest.approx(roc_auc_score(labels, a) - roc_auc_score(labels, b))
    assert se == pytest.approx(delong_difference_se(labels, a, b), rel=1e-9)


def test_a_difference_that_rounds_to_zero_has_no_minus_sign() -> None:
    from phase2_pipelines.stats import signed

    assert signed(-0.00004) == "+0.0000"  # the f-string alone prints "-0.0000"
    assert f"{-0.00004:+.4f}" == "-0.0000"
    assert signed(-0.00005001) == "-0.0001"
    assert signed(0.0317) == "+0.0317"
    assert signed(-0.25, places=2) == "-0.25"


def test_inverse_variance_mean_weighs_each_estimate_by_its_precision() -> None:
    equal = InverseVarianceMean.of([(0.70, 0.02), (0.80, 0.02)])
    assert equal is not None
    assert equal.mean == pytest.approx(0.75)  # equal errors: the plain mean
    assert equal.standard_error == pytest.approx(0.02 / math.sqrt(2))
    # Errors 0.01 and 0.03: weights 10,000 and 1,111.1, so the precise one dominates 9 to 1.
    uneven = InverseVarianceMean.of([(0.70, 0.01), (0.80, 0.03)])
    assert uneven is not None
    assert uneven.mean == pytest.approx((0.70 * 9 + 0.80) / 10)
    assert uneven.standard_error == pytest.approx((1 / 0.01**2 + 1 / 0.03**2) ** -0.5)


def test_inverse_variance_mean_skips_estimates_without_a_usable_error() -> None:
    only = InverseVarianceMean.of([(0.9, 0.0), (0.1, float("inf")), (0.6, 0.05), (0.2, -1.0)])
    assert only is not None
    assert (only.mean, only.standard_error) == pytest.approx((0.6, 0.05))
    assert InverseVarianceMean.of([]) is None
    assert InverseVarianceMean.of([(0.5, 0.0), (0.5, float("nan"))]) is None


def test_hanley_mcneil_error_agrees_with_delongs() -> None:
    labels, scores = separable_scores()
    auc, se = auc_delong(labels, scores)
    assert auc == pytest.approx(roc_auc_score(labels, scores))
    positives = labels.sum()
    assert auc_standard_error(auc, positives, len(labels) - positives) == pytest.approx(se, rel=0.2)
