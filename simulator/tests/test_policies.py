"""The scripted on-call policies of ``make bench-drills``: each declares what and when its
definition says, on hand-made weeks of signals (the benchmark plays them on the real system)."""

from __future__ import annotations

from simulator.drills import load_catalogue
from simulator.policies import RUNBOOK, Plan, fitted_runbook, plan

CATALOGUE = load_catalogue()
WEEKS = 12


def weeks_of(*fired: tuple[int, str]) -> list[frozenset[str]]:
    out: list[set[str]] = [set() for _ in range(WEEKS)]
    for week, signal in fired:
        out[week].add(signal)
    return [frozenset(week) for week in out]


def test_silence_never_declares_and_panic_declares_before_anything_could_be_seen() -> None:
    spec = CATALOGUE.drill("unit_change")
    fired = weeks_of((4, "data_quality"))
    assert plan("silent", spec, fired, 4, WEEKS) is None
    assert plan("panic", spec, fired, 4, WEEKS) == Plan(
        0, "data_quality", "unit_change", "quarantine_hotfix"
    )
    control = CATALOGUE.drill("harmless_shift")
    panicked = plan("panic", control, fired, 3, WEEKS)
    assert panicked is not None
    assert panicked.response == "retrain_recent"  # a control's reflex: it acts


def test_the_expert_declares_at_the_first_signal_of_the_cause_not_at_a_decoy() -> None:
    spec = CATALOGUE.drill("concept_drift")
    fired = weeks_of(*[(w, "feature_drift") for w in range(3, 12)], (5, "realized_quality"))
    assert plan("expert", spec, fired, 3, WEEKS) == Plan(
        6, "realized_quality", "concept_drift", "retrain_recent"
    )
    assert plan("lookup", spec, fired, 3, WEEKS) == Plan(
        4, "feature_drift", "covariate_shift", "wait_and_watch"
    )  # the runbook answers the decoy


def test_the_expert_waits_the_evidence_a_look_alike_needs() -> None:
    spec = CATALOGUE.drill("label_delay")
    assert spec.confirm_weeks == 1
    fired = weeks_of(*[(w, "labels_missing") for w in range(3, 12)])
    expert = plan("expert", spec, fired, 2, WEEKS)
    lookup = plan("lookup", spec, fired, 2, WEEKS)
    assert expert is not None
    assert lookup is not None
    assert (expert.week, lookup.week) == (5, 4)


def test_late_declares_the_right_answer_in_the_last_week_and_watches_a_control() -> None:
    spec = CATALOGUE.drill("heavy_model")
    fired = weeks_of((6, "latency"))
    assert plan("late", spec, fired, 6, WEEKS) == Plan(11, "latency", "heavy_model", "roll_back")
    control = CATALOGUE.drill("label_hiccup")
    watched = plan("late", control, weeks_of((5, "labels_missing")), 4, WEEKS)
    assert watched == Plan(11, "labels_missing", "none", "wait_and_watch")
    assert plan("late", CATALOGUE.drill("healthy"), weeks_of(), 0, WEEKS) is None


def test_the_runbook_takes_its_first_rule_among_the_signals_that_fired() -> None:
    spec = CATALOGUE.drill("unit_change")
    fired = weeks_of((4, "data_quality"), (4, "feature_drift"))
    assert plan("lookup", spec, fired, 4, WEEKS) == Plan(
        5, "data_quality", "schema_break", "quarantine_hotfix"
    )
    assert next(rule.signal for rule in RUNBOOK) == "data_quality"


def test_a_fitted_runbook_takes_each_signals_most_common_cause() -> None:
    drills = [CATALOGUE.drill(n) for n in ("schema_break", "unit_change", "unit_change")]
    fitted = fitted_runbook([(spec, frozenset({"data_quality"})) for spec in drills])
    (rule,) = fitted
    assert (rule.signal, rule.root_cause, rule.response) == (
        "data_quality",
        "unit_change",
        "quarantine_hotfix",
    )
