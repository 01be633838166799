"""The gate: floors always, champion comparisons when there is one, and a reason for each."""

from __future__ import annotations

from dataclasses import replace

import pytest

from phase2_pipelines.evaluate import EvaluationReport, Metrics
from phase2_pipelines.gate import decide_promotion
from phase2_pipelines.params import GateParams

GOOD = Metrics(
    n=1000, churn_rate=0.26, roc_auc=0.86, pr_auc=0.68, brier=0.13, precision=0.55, recall=0.7,
    predicted_churn_rate=0.27, contacted_share=0.3, net_value=9000.0, net_value_per_customer=9.0,
)  # fmt: skip
PARAMS = GateParams()


def report(overall: Metrics = GOOD, **slice_auc: float) -> EvaluationReport:
    slices = {
        "contract": {name: replace(GOOD, n=300, roc_auc=auc) for name, auc in slice_auc.items()}
    }
    return EvaluationReport(overall=overall, slices=slices)


def names(decision_checks: list[object]) -> set[str]:
    return {getattr(check, "name") for check in decision_checks}  # noqa: B009


def test_first_model_is_judged_on_floors_and_sanity_only() -> None:
    decision = decide_promotion(report(), None, PARAMS, min_slice_rows=30)
    assert decision.promote
    assert names(decision.checks) == {
        "floor roc_auc", "floor pr_auc", "ceiling brier", "sane predicted churn rate",
    }  # fmt: skip
    assert decision.summary.startswith("PROMOTE")


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
    decision = decide_promotion(report(replace(GOOD, **change)), None, PARAMS, min_slice_rows=30)
    assert not decision.promote
    assert [check.name for check in decision.failures] == [failed]
    assert failed in decision.summary


def test_candidate_must_beat_champion_by_the_margin() -> None:
    champion = report(replace(GOOD, roc_auc=0.859))
    slightly_better = report(replace(GOOD, roc_auc=0.860))  # +0.001 < margin 0.002
    clearly_better = report(replace(GOOD, roc_auc=0.862))
    blocked = decide_promotion(slightly_better, champion, PARAMS, min_slice_rows=30)
    assert not blocked.promote
    assert [c.name for c in blocked.failures] == ["beats champion on roc_auc"]
    assert decide_promotion(clearly_better, champion, PARAMS, min_slice_rows=30).promote


def test_a_worse_slice_blocks_a_better_model() -> None:
    champion = report(replace(GOOD, roc_auc=0.80), **{"Month-to-month": 0.75, "Two year": 0.70})
    candidate = report(replace(GOOD, roc_auc=0.90), **{"Month-to-month": 0.80, "Two year": 0.60})
    decision = decide_promotion(candidate, champion, PARAMS, min_slice_rows=30)
    assert not decision.promote
    assert [c.name for c in decision.failures] == ["non-inferior on contract=Two year"]
    assert "0.6000 vs champion 0.7000" in decision.failures[0].detail


def test_slice_drop_within_tolerance_passes() -> None:
    champion = report(replace(GOOD, roc_auc=0.80), **{"Two year": 0.70})
    candidate = report(replace(GOOD, roc_auc=0.90), **{"Two year": 0.68})  # -0.02 < 0.03
    assert decide_promotion(candidate, champion, PARAMS, min_slice_rows=30).promote


def test_small_slices_are_not_gated() -> None:
    champion = report(**{"Two year": 0.90})
    candidate = report(replace(GOOD, roc_auc=0.90), **{"Two year": 0.50})
    decision = decide_promotion(candidate, champion, PARAMS, min_slice_rows=301)
    assert decision.promote
    assert not any(c.name.startswith("non-inferior") for c in decision.checks)


def test_decision_round_trips_through_json() -> None:
    decision = decide_promotion(report(replace(GOOD, roc_auc=0.5)), report(), PARAMS,
                                min_slice_rows=30, champion_version="3")  # fmt: skip
    again = type(decision).from_dict(decision.to_dict())
    assert again == decision
    assert "[FAIL] floor roc_auc" in again.render()
