"""The gate: floors always; against a champion, intervals decide, and every check shows them."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from phase2_pipelines.evaluate import EvaluationReport, Metrics
from phase2_pipelines.gate import GateDecision, HoldoutComparison, decide_promotion
from phase2_pipelines.tests.conftest import gate_params

GOOD = Metrics(
    n=1000, churn_rate=0.26, roc_auc=0.86, pr_auc=0.68, brier=0.13, precision=0.55, recall=0.7,
    predicted_churn_rate=0.27, contacted_share=0.3, net_value=9000.0, net_value_per_customer=9.0,
)  # fmt: skip
PARAMS = gate_params(resamples=1000, slices=("contract",), min_slice_positives=30)
N = 3000


def report(overall: Metrics = GOOD) -> EvaluationReport:
    return EvaluationReport(overall=overall)


def holdout(
    candidate_noise: float,
    champion_noise: float = 1.0,
    *,
    seed: int = 0,
    small_slice_noise: float | None = None,
) -> HoldoutComparison:
    """A synthetic holdout: both models see the same signal plus their own noise (less is better).

    Rows 0-299 are contract "Two year" with few churners; the rest "Month-to-month".
    """
    rng = np.random.default_rng(seed)
    contract = np.where(np.arange(N) < 300, "Two year", "Month-to-month")
    rate = np.where(contract == "Two year", 0.07, 0.3)
    labels = (rng.random(N) < rate).astype(int)
    signal = 1.5 * labels
    champion = signal + rng.normal(scale=champion_noise, size=N)
    candidate = signal + rng.normal(scale=candidate_noise, size=N)
    if small_slice_noise is not None:
        rows = contract == "Two year"
        candidate[rows] = signal[rows] + rng.normal(scale=small_slice_noise, size=rows.sum())
    return HoldoutComparison(
        labels=labels,
        candidate=candidate,
        champion=champion,
        slices={"contract": contract, "internetservice": np.where(labels == 1, "DSL", "No")},
        champion_version="3",
    )


def names(decision: GateDecision) -> list[str]:
    return [check.check for check in decision.checks]


def test_first_model_is_judged_on_floors_and_sanity_only() -> None:
    decision = decide_promotion(report(), None, PARAMS)
    assert decision.promote
    assert names(decision) == [
        "floor roc_auc",
        "floor pr_auc",
        "ceiling brier",
        "sane predicted churn rate",
    ]
    assert decision.summary == "PROMOTE: first model, passed all 4 checks against floors"
    assert decision.comparison is None


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        ({"roc_auc": 0.70}, "floor roc_auc"),
        ({"pr_auc": 0.40}, "floor pr_auc"),
        ({"brier": 0.30}, "ceiling brier"),
        ({"predicted_churn_rate": 0.95}, "sane predicted churn rate"),
        ({"predicted_churn_rate": 0.01}, "sane predicted churn rate"),
        ({"roc_auc": float("nan")}, "floor roc_auc"),
    ],
)
def test_each_floor_blocks_alone(change: dict[str, float], failed: str) -> None:
    decision = decide_promotion(report(replace(GOOD, **change)), None, PARAMS)
    assert not decision.promote
    assert [check.check for check in decision.failures] == [failed]
    assert failed in decision.summary


def test_clearly_better_candidate_is_promoted_with_its_interval() -> None:
    decision = decide_promotion(report(), holdout(candidate_noise=0.7), PARAMS)
    assert decision.promote, decision.render()
    evidence = decision.comparison
    assert evidence is not None
    assert evidence.low > PARAMS.superiority_margin  # judged on the lower bound
    assert evidence.counts.n == N
    assert evidence.counts.positives + evidence.counts.negatives == N
    assert (
        decision.summary == f"PROMOTE: passed all {len(decision.checks)} checks against champion v3"
    )


def test_a_gain_inside_the_noise_is_not_superiority() -> None:
    """Equal skill: the point estimate may favour the candidate; the interval does not."""
    for seed in range(5):
        decision = decide_promotion(report(), holdout(1.0, 1.0, seed=seed), PARAMS)
        superiority = decision.checks[4]
        assert superiority.check == "beats champion on roc_auc"
        assert superiority.comparison is not None
        assert superiority.comparison.low < superiority.comparison.difference
        if not superiority.passed:
            assert "lower bound <= margin" in superiority.reason
        assert superiority.passed == (superiority.comparison.low > PARAMS.superiority_margin)


def test_positive_point_estimate_with_wide_interval_is_rejected() -> None:
    comparison = holdout(candidate_noise=0.97, seed=3)
    decision = decide_promotion(report(), comparison, PARAMS)
    evidence = decision.comparison
    assert evidence is not None
    assert evidence.difference > PARAMS.superiority_margin  # a point-estimate gate would promote
    assert evidence.low <= PARAMS.superiority_margin
    assert not decision.promote
    assert [c.check for c in decision.failures] == ["beats champion on roc_auc"]


def test_candidate_identical_to_champion_has_nothing_to_promote() -> None:
    comparison = holdout(candidate_noise=1.0)
    same = replace(comparison, candidate=comparison.champion.copy())
    decision = decide_promotion(report(), same, PARAMS)
    assert not decision.promote
    assert decision.same_as_champion
    assert decision.summary.startswith("NOTHING TO PROMOTE: candidate is champion v3")
    assert "beats champion" not in decision.render()  # never compared with itself


def test_a_worse_slice_blocks_a_better_model() -> None:
    comparison = holdout(candidate_noise=0.7, small_slice_noise=4.0)
    params = gate_params(resamples=1000, slices=("contract",), min_slice_positives=10)
    decision = decide_promotion(report(), comparison, params)
    assert not decision.promote
    assert [c.check for c in decision.failures] == ["non-inferior on contract=Two year"]
    failed = decision.failures[0]
    assert failed.comparison is not None
    assert failed.comparison.low <= -params.slice_tolerance
    assert "lower bound <= -tolerance -0.0500" in failed.reason


def test_small_slices_are_listed_with_the_reason_and_not_gated() -> None:
    comparison = holdout(candidate_noise=0.7, small_slice_noise=4.0)
    churners = int(comparison.labels[:300].sum())
    params = gate_params(resamples=1000, slices=("contract",), min_slice_positives=churners + 1)
    decision = decide_promotion(report(), comparison, params)
    assert decision.promote  # the broken slice is too small to judge, and says so
    ungated = {u.name: u.reason for u in decision.ungated}
    assert ungated["contract=Two year"] == (
        f"{churners} churners < min_slice_positives {churners + 1}"
    )
    assert ungated["internetservice=DSL"] == (
        "internetservice is not in gate.slices or gate.protected_attributes"
    )
    assert "non-inferior on contract=Month-to-month" in names(decision)


def test_render_shows_the_difference_and_both_kinds_of_slices() -> None:
    params = gate_params(resamples=500, slices=("contract",), min_slice_positives=30)
    text = decide_promotion(report(), holdout(candidate_noise=0.7), params).render()
    assert "vs champion v3: dAUC +" in text
    assert "95% CI" in text
    assert "gated slices:" in text
    assert "[PASS] non-inferior on contract=Month-to-month" in text
    assert "slices not gated:" in text
    assert "contract=Two year: not gated, " in text


def test_decision_round_trips_through_json() -> None:
    decision = decide_promotion(report(replace(GOOD, roc_auc=0.5)), holdout(0.7), PARAMS)
    again = GateDecision.from_dict(json.loads(json.dumps(decision.to_dict())))
    assert again == decision
    assert again.render() == decision.render()
    assert "[FAIL] floor roc_auc" in again.render()


BELOW_FLOORS = replace(GOOD, roc_auc=0.76, pr_auc=0.50)  # as a refit reaches in a harder world
BROKEN = PARAMS.model_copy(
    update={"burden": "non_inferiority", "burden_reason": "v3's realized AUC is 0.66"}
)


def test_the_floor_no_longer_blocks_a_clear_improvement_on_a_broken_champion() -> None:
    """The world got harder: no model reaches the floors, the champion least of all. Under the
    superiority burden the floor keeps the broken champion serving; under non-inferiority the
    floors are reported, and the candidate, far better on the same rows, is promoted."""
    comparison = holdout(candidate_noise=0.6, champion_noise=1.2)
    strict = decide_promotion(report(BELOW_FLOORS), comparison, PARAMS)
    assert not strict.promote
    assert {c.check for c in strict.failures} == {"floor roc_auc", "floor pr_auc"}
    relaxed = decide_promotion(report(BELOW_FLOORS), comparison, BROKEN)
    assert relaxed.promote, relaxed.render()
    assert relaxed.relaxed
    floors = [c for c in relaxed.checks if c.check.startswith("floor")]
    assert floors
    assert all(not c.passed and not c.blocking for c in floors)
    assert "[INFO] floor roc_auc" in relaxed.render()
    assert "burden: non-inferiority, because v3's realized AUC is 0.66" in relaxed.render()
    assert relaxed.comparison is not None
    assert relaxed.comparison.low > 0  # clearly better


def test_non_inferiority_still_rejects_a_candidate_worse_than_the_broken_champion() -> None:
    comparison = holdout(candidate_noise=1.6, champion_noise=1.0)
    decision = decide_promotion(report(BELOW_FLOORS), comparison, BROKEN)
    assert not decision.promote
    failed = [c.check for c in decision.failures]
    assert failed[0] == "not worse than the broken champion on roc_auc", failed
    crippled = replace(GOOD, predicted_churn_rate=0.9)  # sanity still blocks, whatever the burden
    insane = decide_promotion(report(crippled), holdout(0.6, 1.2), BROKEN)
    assert "sane predicted churn rate" in {c.check for c in insane.failures}
