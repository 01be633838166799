"""The review checks the learner's judgement against the drill's record: a fluent postmortem of
the wrong incident scores low, the same postmortem with the record's facts scores 100.

The record is a finished drill on disk with an event log the capstone's own ``EventLog`` wrote
(``postmortem_fixtures``): a unit change injected in week 3, first seen in week 4, quarantined
and hot-fixed from week 5; v1 served, then v2; v1 learned from weeks 0-1, gated on week 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.postmortem import ActionItem, Postmortem, TimelineEntry
from simulator.postmortem_prefill import prefill_postmortem
from simulator.record_facts import RecordFacts, facts_of
from simulator.records import Declaration, DrillRecord
from simulator.review import amounts, durations, review_postmortem
from simulator.tests.postmortem_fixtures import finished_record

LOST_USD = 12_400.0
AT_STAKE_USD = 61_000.0


@pytest.fixture
def record(tmp_path: Path) -> DrillRecord:
    base = finished_record(tmp_path, drill_id="units-1", scenario="unit_change")
    return base.model_copy(
        update={
            "title": "Charges arrive in cents",
            "declarations": (
                Declaration(
                    week=5,
                    signal="data_quality",
                    root_cause="unit_change",
                    response="quarantine_hotfix",
                ),
            ),
            "value_lost_usd": LOST_USD,
            "value_at_stake_usd": AT_STAKE_USD,
        }
    )


# The record's facts, written by hand from the fixture (not read from the code under test):
# weeks 3-4 played before the hotfix of week 5; $12,400 lost; v1 and v2 served; weeks 0-2.
TRUE = Postmortem(
    drill_id="units-1",
    scenario="unit_change",
    title="Postmortem: charges arrive in cents",
    date="2026-12-04",
    summary="Upstream billing sent monthlycharges in cents; every batch was quarantined until"
    " our ingest converted the unit back.",
    impact="About 1,000 customers a week were not scored for 2 weeks, so the campaign lost"
    " $12,400 of value against a healthy week.",
    root_causes="The billing export changed the unit of monthlycharges from dollars to cents,"
    " which made every value 100 times larger and put it out of the contract's range, so"
    " whole batches were quarantined. The contract caught it, but no check ran on the"
    " export before it shipped, so nobody upstream noticed.",
    trigger="Billing deployed a new export in week 3.",
    resolution="A hotfix in ingest divided monthlycharges by 100 from week 5.",
    detection="Data quality fired in week 4; declared before week 5.",
    action_items=(
        ActionItem(description="Contract test in billing's CI", kind="prevent", owner="billing"),
        ActionItem(description="Page on the first quarantine", kind="mitigate", owner="on-call"),
    ),
    went_well="The contract quarantined the batches instead of scoring them.",
    went_wrong="Nobody was paged on the first quarantined week.",
    got_lucky="The unit was a clean factor of 100.",
    timeline=(TimelineEntry(week=3, kind="injected", summary="the fault starts"),),
    model_version="v1 served until week 5, then v2",
    rollback_path="v1, through the previous_champion alias",
    data_window="v1 trained on weeks 0-1, gated on week 2",
    drift_test="PSI > 0.2",
    feature_schema_diff="monthlycharges x100",
    skew_check="none",
    label_delay="2 weeks",
    detection_latency="2 weeks of the fault played before the declaration",
)
# The same postmortem, fluent, with its judgement false: the wrong cause, six weeks instead of
# two, ten times the cost, and a version that never served.
FALSE = TRUE.model_copy(
    update={
        "impact": "About 1,000 customers a week were mis-scored for 6 weeks, which cost"
        " $124,000 of campaign value.",
        "root_causes": "Customers on fiber started to churn differently, which made the"
        " model's scores stale because it had learned the old behaviour. The gate did not"
        " check for concept drift, so nobody noticed before the labels arrived.",
        "model_version": "v7 served from week 2",
    }
)


def test_the_facts_come_from_the_record_and_its_event_log(record: DrillRecord) -> None:
    facts = facts_of(record)
    assert (facts.inject_week, facts.incident_weeks) == (3, 2)  # hot-fixed in week 5
    assert facts.served_versions == ("1", "2")
    assert facts.data_weeks == (0, 1, 2)
    assert (facts.exposed_weeks, facts.late_weeks) == (2, 0)  # declared right after week 4
    assert facts.root_cause == "unit_change"


def test_a_fluent_postmortem_of_the_wrong_incident_scores_at_most_half(
    record: DrillRecord,
) -> None:
    review = review_postmortem(FALSE, facts_of(record))
    print(f"\nfluent but false: {review.score} ({review.completeness:.0%} x {review.accuracy:.0%})")
    assert review.score <= 50
    assert review.completeness == 1.0  # every field is there and reads well
    failed = {c.name: c.missing for c in review.checks if not c.passed}
    assert set(failed) == {"fact_cause", "fact_duration", "fact_cost", "fact_versions"}
    assert "unit change" in failed["fact_cause"]  # each says what the record shows
    assert "2 weeks" in failed["fact_duration"]
    assert "$12,400" in failed["fact_cost"]
    assert "v7" in failed["fact_versions"]
    assert "v1, v2" in failed["fact_versions"]


def test_the_same_postmortem_with_the_records_facts_scores_100(record: DrillRecord) -> None:
    review = review_postmortem(TRUE, facts_of(record))
    print(f"\nwith the record's facts: {review.score}")
    assert review.missing == []
    assert review.score == 100.0


RENAMED = (
    "Upstream renamed the monthlycharges column, which made every batch miss a required"
    " column, so whole batches were quarantined. The contract caught it, but no check ran on"
    " the export before it shipped, so nobody upstream noticed."
)


@pytest.mark.parametrize(
    ("field", "value", "check"),
    [
        ("impact", "About 1,000 customers were not scored for 3 days, losing $12,400.", "duration"),
        ("impact", "About 1,000 customers were not scored for 2 weeks, losing $1,240.", "cost"),
        ("root_causes", RENAMED, "cause"),
        ("model_version", "v3 served all along", "versions"),
        ("data_window", "trained on weeks 5-8", "data_window"),
        ("detection_latency", "5 weeks before the declaration", "latency"),
        ("rollback_path", "back to v9", "rollback"),
    ],
)
def test_each_false_fact_fails_its_own_check(
    record: DrillRecord, field: str, value: str, check: str
) -> None:
    review = review_postmortem(TRUE.model_copy(update={field: value}), facts_of(record))
    failed = [c.name for c in review.checks if not c.passed]
    assert failed == [f"fact_{check}"], failed
    assert review.score < 100


def test_a_denied_cause_does_not_count_as_naming_it(record: DrillRecord) -> None:
    text = (
        "It was not a unit change: customers on fiber started to churn differently, which"
        " made the scores stale because the model learned the old behaviour, and no gate"
        " checked for it."
    )
    review = review_postmortem(TRUE.model_copy(update={"root_causes": text}), facts_of(record))
    assert "fact_cause" in [c.name for c in review.checks if not c.passed]


def test_a_cost_called_an_estimate_with_its_basis_passes(record: DrillRecord) -> None:
    impact = (
        "About 1,000 customers were not scored for 2 weeks; we estimate the loss at $20,000,"
        " based on the campaign's average weekly value."
    )
    review = review_postmortem(TRUE.model_copy(update={"impact": impact}), facts_of(record))
    assert review.missing == []


def test_the_prefilled_facts_pass_and_the_judgement_is_left_to_write(
    record: DrillRecord,
) -> None:
    facts: RecordFacts = facts_of(record)
    review = review_postmortem(prefill_postmortem(record), facts)
    failed_facts = [c.name for c in review.checks if c.kind == "fact" and c.stated and not c.passed]
    assert failed_facts == []  # what the system fills in is true
    assert review.score < 60  # the judgement (cause, duration, ...) is still missing


def test_durations_and_amounts_are_read_as_people_write_them() -> None:
    assert [w for _, w in durations("for two weeks and 14 days, then 3 hours")] == pytest.approx(
        [2, 2, 3 / 168]
    )
    assert [v for _, v in amounts("$4,200, $4.2k, 4200 USD and -$750")] == [
        4200,
        4200,
        4200,
        -750,
    ]
