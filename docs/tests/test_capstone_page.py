"""docs/capstone.md shows each decision with the evidence the capstone recorded for it.

The event log is written by phase 5's own ``EventLog`` from ``Draft``s whose evidence has the
shapes phase 5's steps record (gate checks, trigger rules, contract problems, guardrails,
labeled weeks with business value). A real capstone run costs minutes; this costs milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import JsonValue

from docs.generate import environment
from docs.live_sources import read_capstone
from phase2_pipelines.evidence import Verdict
from phase2_pipelines.gate import GateCheck, GateDecision, UngatedSlice
from phase2_pipelines.stats import ClassCounts
from phase4_monitoring.trigger_rules import Action, RuleOutcome
from phase5_capstone.events import SETUP_WEEK, Draft, EventLog, stamp

BEATS = "dAUC -0.0310 [95% CI -0.0402, -0.0221] (0.7310 vs 0.7620; 447 churners, 1553 stayers)"
# The shapes the gate and the trigger write, built by their own types (not copied by hand).
GATE: dict[str, JsonValue] = GateDecision(
    promote=False,
    checks=(
        GateCheck.judged("floor roc_auc", False, "0.7310 vs floor 0.8000"),
        GateCheck.judged("beats champion on roc_auc", False, BEATS),
    ),
    ungated=[
        UngatedSlice(
            name="contract=Two year",
            reason="22 churners < min_slice_positives 50",
            counts=ClassCounts(n=300, positives=22, negatives=278),
        )
    ],
).model_dump(mode="json")
RETRAIN_RULE = "week 3: roc_auc 0.718, 95% upper bound 0.739 < floor 0.80; n=2,000"
FIRED = RuleOutcome(
    check="performance", verdict=Verdict.ALERT, action=Action.RETRAIN, reason=RETRAIN_RULE
).brief()
NULLS = "tenure: null values in 600 row(s)"
QUALITY: dict[str, JsonValue] = {
    "verdict": "alert",
    "metrics": {"n": 1003.0, "roc_auc": 0.7301, "net_value": 9660.0},
    "checks": [
        {"evidence": [{"metric": "roc_auc", "interval": [0.6982, 0.7614]}]},
    ],
}
LOG: list[tuple[int, str, Draft]] = [
    (SETUP_WEEK, "bootstrap", Draft(kind="bootstrapped", summary="v1 ships", model_version="1")),
    (
        2,
        "decide",
        Draft(kind="decision", summary="NONE: nothing fired", evidence={"action": "none"}),
    ),
    (
        4,
        "decide",
        Draft(
            kind="decision",
            summary="RETRAIN: performance",
            model_version="1",
            evidence={
                "action": "retrain",
                "fired": [FIRED],
                "rollback_to": None,
                "quarantine_weeks": [],
            },
        ),
    ),
    (
        4,
        "retrain",
        Draft(
            kind="candidate_rejected",
            summary="v2 rejected | by the gate",
            model_version="2",
            evidence={
                "train_weeks": [0, 1, 2],
                "holdout_weeks": [3],
                "train_rows": 6000,
                "holdout_rows": 2000,
                "faults": ["label_shuffle"],
                "gate": GATE,
            },
        ),
    ),
    (
        5,
        "ingest",
        Draft(
            kind="quarantined",
            summary="batch quarantined",
            evidence={"rows": 2000, "bad_rows": 600, "problems": [NULLS]},
        ),
    ),
    (
        7,
        "labels",
        Draft(
            kind="labels_arrived",
            summary="week 5 was quarantined",
            evidence={"event_week": 5, "labels": 2000},
        ),
    ),
    (
        8,
        "labels",
        Draft(
            kind="labels_arrived",
            summary="week 6: realized roc_auc 0.730",
            model_version="3",
            evidence={
                "event_week": 6,
                "labels": 2000,
                "quality": QUALITY,
                "business_value": {
                    "served_usd": 17030.0,
                    "customers": 2000,
                    "previous_version": "1",
                    "previous_usd": 18460.0,
                    "difference_usd": -1430.0,
                },
            },
        ),
    ),
    (
        9,
        "rollout",
        Draft(
            kind="guardrail_rollback",
            summary="v4 in canary: a live guardrail fired",
            model_version="4",
            evidence={"stage": "canary", "guardrail": ["p95_latency"]},
        ),
    ),
    (
        10,
        "decide",
        Draft(
            kind="rolled_back",
            summary="v3 rolled back",
            model_version="1",
            evidence={"from": "3", "to": "1"},
        ),
    ),
]


@pytest.fixture
def page(tmp_path: Path) -> str:
    log = EventLog.open(tmp_path / "capstone" / "default" / "events.jsonl")
    for week, step, draft in LOG:
        log.append(stamp([draft], week, step, log.next_seq))
    runs = read_capstone(tmp_path)
    return environment().get_template("capstone.md.j2").render(live=SimpleNamespace(capstone=runs))


def decisions(page: str) -> str:
    return page.split("### Decisions and their evidence", 1)[1].split("\n### ", 1)[0]


def test_each_gate_decision_shows_its_checks_intervals_and_class_counts(page: str) -> None:
    shown = decisions(page)
    assert "- **week 4, candidate_rejected (v2)**: v2 rejected | by the gate" in shown
    assert "trained on weeks [0, 1, 2] (6000 rows); gated on holdout weeks [3] (2000 rows)" in shown
    assert "injected fault: label_shuffle" in shown
    assert f"[FAIL] beats champion on roc_auc: {BEATS}" in shown
    assert "not gated: contract=Two year: 22 churners < min_slice_positives 50" in shown


def test_each_trigger_that_fired_shows_its_rule_and_bounds(page: str) -> None:
    shown = decisions(page)
    assert f"[ALERT] performance: {RETRAIN_RULE} -> retrain" in shown
    assert "NONE: nothing fired" not in shown  # a quiet week is no decision
    assert "| 2 | decide | decision | - | NONE: nothing fired |" in page  # but is in the log


def test_quarantines_guardrails_and_rollbacks_show_their_reasons(page: str) -> None:
    shown = decisions(page)
    assert "600 of 2000 rows broke the contract" in shown
    assert f"contract: {NULLS}" in shown
    assert "[ALERT] p95_latency: breached in the canary; the challenger was rolled back" in shown
    assert "- **week 10, rolled_back (v1)**: v3 rolled back" in shown
    assert "from v3 to v1" in shown


def test_business_value_per_labeled_week(page: str) -> None:
    rows = [line for line in page.splitlines() if line.startswith("| 6 | v3 |")]
    assert rows == [
        "| 6 | v3 | 2,000 | 0.730 [0.698, 0.761] (n=1,003) | alert | $17,030 | $8.52 |"
        " v1: $18,460 (-1,430 as served) |"
    ]
    assert "| 5 |" not in page.split("### Business value per labeled week")[1].split("###")[0]
