"""CBPE: right under covariate shift, blind to concept drift; checked against realized AUC."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.scenarios import Scenario
from phase1_foundations.world import World
from phase4_monitoring.estimate import (
    Calibrator,
    check_calibration,
    estimate_performance,
    expected_roc_auc,
)
from phase4_monitoring.lesson.weeks import labeled_week
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.tests.conftest import WorldChampion
from phase4_monitoring.tests.helpers import LOYAL_CUSTOMERS_LEAVE
from testing.expectations import expectation

SHIFTED_WEEKS = range(4, 12)  # the ramp and the full shift


def cbpe_and_realized(
    champion: WorldChampion, scenario: str | Scenario, week: int, seed: int = 5
) -> tuple[float, float]:
    frame = labeled_week(World(seed, scenario, rows_per_week=4_000).week(week))
    scores = champion.score(frame)
    calibrator = champion.reference.calibrator
    estimate = expected_roc_auc(calibrator.apply(scores) if calibrator else scores)
    return estimate, float(roc_auc_score(frame[LABEL_COLUMN], scores))


def test_expected_auc_equals_realized_auc_on_labels_drawn_from_the_scores() -> None:
    # Independent oracle: when labels really are Bernoulli(score), the realized AUC averages
    # to the expected one.
    rng = np.random.default_rng(0)
    scores = rng.beta(2, 5, size=200_000)
    labels = rng.random(len(scores)) < scores
    assert expected_roc_auc(scores) == pytest.approx(roc_auc_score(labels, scores), abs=0.005)


@pytest.mark.parametrize("scenario", ["covariate_shift", "category_shift"])
def test_cbpe_tracks_realized_auc_under_covariate_shift(
    world_champion: WorldChampion, scenario: str
) -> None:
    pairs = [cbpe_and_realized(world_champion, scenario, w) for w in SHIFTED_WEEKS]
    errors = [abs(estimate - realized) for estimate, realized in pairs]
    print(f"CBPE mean absolute error under {scenario}: {np.mean(errors):.4f}")
    bound = expectation("cbpe_mean_absolute_error")
    assert bound.holds(float(np.mean(errors))), bound.explain(float(np.mean(errors)))


def test_cbpe_cannot_see_concept_drift(world_champion: WorldChampion) -> None:
    clean_estimate, _ = cbpe_and_realized(world_champion, "baseline", 8)
    for scenario in ("concept_drift", LOYAL_CUSTOMERS_LEAVE):
        estimate, realized = cbpe_and_realized(world_champion, scenario, 8)
        assert estimate == pytest.approx(clean_estimate, abs=0.01)  # the scores did not move
        assert abs(realized - estimate) > 0.05  # the labels did


def test_a_miscalibrated_model_is_recalibrated_on_the_holdout(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    holdout = world_champion.holdout
    labels = holdout[LABEL_COLUMN].to_numpy()
    overconfident = np.clip(world_champion.score(holdout) * 1.8, 0, 1)
    check = check_calibration(labels, overconfident, 10, monitoring_params.cbpe.max_ece)
    assert not check.calibrated
    assert isinstance(check.calibrator, Calibrator)
    # the shared check shape: its evidence is the error against its limit, on the holdout's n
    [ece] = check.evidence
    limit = monitoring_params.cbpe.max_ece
    assert (ece.metric, ece.n, ece.threshold) == ("expected_calibration_error", len(labels), limit)
    assert ece.exceeded
    assert ece.value > limit
    assert str(check).startswith("[ALERT] cbpe_calibration: holdout expected calibration error")
    fixed = check_calibration(labels, check.calibrator.apply(overconfident), 10, 0.03)
    assert fixed.calibrated  # isotonic on the same rows: calibrated by construction


def test_estimate_reports_expected_business_value(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    scores = np.array([0.9, 0.9, 0.1, 0.1])
    business = world_champion.params.evaluate.business
    estimate = estimate_performance(
        scores, threshold=0.5, business=business, params=monitoring_params
    )
    # Two contacted customers, each churning with probability 0.9.
    per_contact = 0.9 * business.save_rate * business.retained_value - business.contact_cost
    assert estimate.expected_net_value_per_customer == pytest.approx(2 * per_contact / 4)
    assert estimate.expected_churn_rate == pytest.approx(0.5)
