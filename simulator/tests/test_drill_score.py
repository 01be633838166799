"""The scoring functions on hand-made drills: each part moves the way its explanation says."""

from __future__ import annotations

import pytest

from simulator.drill_score import (
    DrillOutcome,
    false_alarms,
    impact_words,
    needless_retrains,
    score_drill,
    usd,
)
from simulator.drills import DrillSpec, ScoringSettings
from simulator.records import Declaration, Response

POINTS = ScoringSettings(
    detection=20,
    half_life_weeks=1,
    signal=10,
    root_cause=10,
    response=40,
    impact=10,
    discipline=10,
    false_alarm_penalty=4,
    needless_retrain_penalty=3,
    missed_incident_penalty=8,
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
    tell="the labels",
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
    tell="nothing fired",
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


def test_each_week_late_halves_detection_and_the_response() -> None:
    on_time, week_late, month_late = (
        parts(outcome(said(week, "retrain_recent"))) for week in (5, 6, 9)
    )
    assert (on_time["detection"], on_time["response"]) == (20, 40)
    assert (week_late["detection"], week_late["response"]) == (10, 20)  # one week late
    assert (month_late["detection"], month_late["response"]) == (1.25, 2.5)  # four weeks
    # the diagnosis is right whenever it is made: only time decays
    assert (month_late["signal"], month_late["root_cause"]) == (10, 10)


def test_a_declaration_on_a_signal_of_something_else_detected_nothing() -> None:
    decoy = parts(outcome(said(5, "retrain_recent", signal="feature_drift")))
    assert (decoy["detection"], decoy["signal"]) == (0, 0)
    assert decoy["response"] == 40  # the right response still acted on the system


def test_a_cause_that_needs_evidence_is_timed_from_when_it_could_be_told_apart() -> None:
    spec = SPEC.model_copy(update={"confirm_weeks": 1})
    assert parts(outcome(said(6, "retrain_recent"), spec=spec))["detection"] == 20
    assert parts(outcome(said(5, "retrain_recent"), spec=spec))["detection"] == 20  # early


def test_a_hotfix_or_a_page_earns_credit_only_for_the_cause_it_names() -> None:
    upstream = SPEC.model_copy(
        update={"root_cause": "unit_change", "best": "quarantine_hotfix", "partial": {}}
    )

    def declared(cause: str) -> Declaration:
        return Declaration(
            week=5, signal="realized_quality", root_cause=cause, response="quarantine_hotfix"
        )

    assert parts(outcome(declared("unit_change"), spec=upstream))["response"] == 40
    assert parts(outcome(declared("schema_break"), spec=upstream))["response"] == 0


def test_a_missed_incident_costs_discipline_and_silence_in_a_control_costs_nothing() -> None:
    assert parts(outcome())["discipline"] == 10 - 8
    harmless = CONTROL.model_copy(update={"signals": ("feature_drift",)})
    quiet = score_drill(outcome(spec=harmless), POINTS)
    assert quiet.total == quiet.max_total  # nothing needed declaring: every part earned


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


def test_customer_impact_is_the_share_of_value_kept_and_reads_as_money() -> None:
    assert parts(outcome(said(5, "retrain_recent"), lost=250.0))["customer_impact"] == 7.5
    assert parts(outcome(said(5, "retrain_recent"), lost=5000.0))["customer_impact"] == 0
    assert parts(outcome(said(5, "retrain_recent"), lost=-100.0))["customer_impact"] == 10
    assert impact_words(-750.0, 54_790.0, 5) == (
        "no value lost against the healthy system's $54,790 from week 5 on"
        " ($750 more than the healthy system)"
    )
    assert impact_words(1_250.4, 54_790.0, 5).startswith("$1,250 of business value lost")
    assert usd(-1250) == "-$1,250"


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
