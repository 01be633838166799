"""The scoring functions on hand-made drills: each part moves the way its explanation says."""

from __future__ import annotations

import pytest

from simulator.drills import DrillSpec, ScoringSettings
from simulator.records import Declaration, Response
from simulator.scoring import DrillOutcome, false_alarms, needless_retrains, score_drill

POINTS = ScoringSettings(
    detection=20,
    detection_weeks=4,
    signal=10,
    root_cause=10,
    response=40,
    impact=10,
    discipline=10,
    false_alarm_penalty=4,
    needless_retrain_penalty=3,
)
SPEC = DrillSpec(
    name="made_up",
    title="made up",
    inject_weeks=(3, 3),
    signals=("realized_quality", "cbpe_estimate"),
    root_cause="concept_drift",
    best="retrain_recent",
    partial={"roll_back": 0.5},
    lesson="a hand-made drill",
)
CONTROL = DrillSpec(
    name="control",
    title="control",
    incident=False,
    inject_weeks=(0, 0),
    signals=(),
    root_cause="none",
    best="wait_and_watch",
    lesson="nothing happens",
)


def said(week: int, response: Response, signal: str = "realized_quality") -> Declaration:
    return Declaration(week=week, signal=signal, root_cause="concept_drift", response=response)


def outcome(*declarations: Declaration, spec: DrillSpec = SPEC, lost: float = 0.0) -> DrillOutcome:
    return DrillOutcome(
        spec=spec,
        inject_week=3,
        first_signal_week=4,
        declarations=declarations,
        value_lost_usd=lost,
        value_at_stake_usd=1000.0,
    )


def parts(result: DrillOutcome) -> dict[str, float]:
    return {part.name: part.points for part in score_drill(result, POINTS).parts}


def test_a_perfect_drill_scores_every_point() -> None:
    score = score_drill(outcome(said(5, "retrain_recent")), POINTS)
    assert score.total == score.max_total == 100  # declared the week after the signal was seen


def test_detection_loses_a_share_per_week_late_and_all_of_it_at_the_limit() -> None:
    assert parts(outcome(said(5, "retrain_recent")))["detection"] == 20
    assert parts(outcome(said(6, "retrain_recent")))["detection"] == 15  # a week late
    assert parts(outcome(said(9, "retrain_recent")))["detection"] == 0  # four weeks late


def test_a_declaration_before_the_injection_is_a_false_alarm_and_not_the_incident() -> None:
    early = said(2, "roll_back")
    result = outcome(early, said(5, "retrain_recent"))
    assert false_alarms(result) == [early]
    assert parts(result)["response"] == 40  # the incident's declaration is the later one
    assert parts(result)["discipline"] == 10 - 4


def test_responses_earn_their_credit_and_wrong_ones_nothing() -> None:
    assert parts(outcome(said(5, "roll_back")))["response"] == 20  # partial credit 0.5
    assert parts(outcome(said(5, "scale")))["response"] == 0
    assert parts(outcome())["response"] == 0  # nothing done


def test_diagnosis_checks_the_signal_and_the_cause_separately() -> None:
    wrong_signal = parts(outcome(said(5, "retrain_recent", signal="latency")))
    assert (wrong_signal["signal"], wrong_signal["root_cause"]) == (0, 10)
    wrong_cause = Declaration(
        week=5, signal="cbpe_estimate", root_cause="bad_model", response="retrain_recent"
    )
    assert (parts(outcome(wrong_cause))["signal"], parts(outcome(wrong_cause))["root_cause"]) == (
        10,
        0,
    )


def test_customer_impact_is_the_share_of_value_kept() -> None:
    assert parts(outcome(said(5, "retrain_recent"), lost=250.0))["customer_impact"] == 7.5
    assert parts(outcome(said(5, "retrain_recent"), lost=5000.0))["customer_impact"] == 0
    assert parts(outcome(said(5, "retrain_recent"), lost=-100.0))["customer_impact"] == 10


def test_in_the_control_only_watching_is_right_and_a_retrain_costs_twice() -> None:
    watched = outcome(said(4, "wait_and_watch"), spec=CONTROL)
    retrained = outcome(said(4, "retrain_recent"), spec=CONTROL)
    assert false_alarms(watched) == []
    assert needless_retrains(retrained) == list(retrained.declarations)
    assert parts(retrained)["discipline"] == 10 - 4 - 3  # a false alarm and a needless retrain
    assert score_drill(watched, POINTS).total > score_drill(retrained, POINTS).total
    silent = score_drill(outcome(spec=CONTROL), POINTS)
    assert silent.total == silent.max_total  # nothing happened, nothing was declared
    assert silent.total > score_drill(retrained, POINTS).total


@pytest.mark.parametrize("response", ["roll_back", "scale", "page_upstream", "wait_and_watch"])
def test_the_best_response_outscores_every_other_with_all_else_equal(response: Response) -> None:
    best = score_drill(outcome(said(5, "retrain_recent")), POINTS).total
    assert best > score_drill(outcome(said(5, response)), POINTS).total


def test_every_part_explains_itself() -> None:
    for part in score_drill(outcome(said(6, "roll_back")), POINTS).parts:
        assert part.explanation
        assert 0 <= part.points <= part.max_points
