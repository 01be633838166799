"""A finished drill on disk for the postmortem, review and interview tests: its record and an
event log written by the capstone's own ``EventLog`` (the kinds and evidence a run writes)."""

from __future__ import annotations

from pathlib import Path

from phase5_capstone.events import Draft, EventLog, stamp
from simulator.records import (
    Declaration,
    DrillRecord,
    ScoreBreakdown,
    ScorePart,
    SignalSighting,
    SimulatorPaths,
)

INJECT_WEEK = 3
DECLARED_WEEK = 5
FIRST_SIGNAL_WEEK = 4
LABEL_DELAY = 2


def _week(week: int, version: str, verdict: str, drifted: list[str]) -> list[tuple[str, Draft]]:
    drafts = [
        ("ingest", Draft(kind="ingested", summary="1,000 customers pass the contract")),
        ("score", Draft(kind="scored", summary="1,000 scored", model_version=version)),
        (
            "monitor",
            Draft(
                kind="monitored",
                summary=f"{verdict}: week {week}",
                model_version=version,
                evidence={"verdict": verdict, "drifted_features": list(drifted)},
            ),
        ),
        (
            "decide",
            Draft(
                kind="decision",
                summary="wait" if verdict == "ok" else "retrain: drift sustained",
                evidence={"action": "wait" if verdict == "ok" else "retrain"},
            ),
        ),
    ]
    drafts.append(
        (
            "advise",
            Draft(
                kind="advice",
                summary="the trigger policy advises none",
                evidence={"action": "none", "fired": []},
            ),
        )
    )
    if week >= LABEL_DELAY:
        drafts.append(
            (
                "labels",
                Draft(
                    kind="labels_arrived",
                    summary=f"week {week - LABEL_DELAY}: realized roc_auc 0.84",
                    model_version=version,
                    evidence={"event_week": week - LABEL_DELAY, "labels": 1000},
                ),
            )
        )
    return drafts


def write_events(run_dir: Path, weeks: int = 8) -> Path:
    log = EventLog.open(run_dir / "events.jsonl")
    boot = Draft(
        kind="bootstrapped",
        summary="v1 is the champion the system starts with",
        model_version="1",
        evidence={"train_weeks": [0, 1], "holdout_weeks": [2]},
    )
    log.append(stamp([boot], -1, "bootstrap", log.next_seq))
    for week in range(weeks):
        drifted = ["monthlycharges"] if week >= FIRST_SIGNAL_WEEK else []
        version = "1" if week < 6 else "2"
        for step, draft in _week(week, version, "alert" if drifted else "ok", drifted):
            log.append(stamp([draft], week, step, log.next_seq))
        if week == 5:
            promoted = Draft(
                kind="promoted",
                summary="v2 passed 1 week(s) of canary; champion from week 6 (was v1)",
                model_version="2",
                evidence={"canary_weeks": 1, "previous_champion": "1"},
            )
            log.append(stamp([promoted], week, "rollout", log.next_seq))
    return log.path


def finished_record(
    root: Path, drill_id: str = "shift-1", scenario: str = "harmless_shift"
) -> DrillRecord:
    run_dir = root / "drills" / drill_id / "capstone" / "run"
    write_events(run_dir)
    return DrillRecord(
        drill_id=drill_id,
        scenario=scenario,
        title="Prices go up",
        seed=7,
        weeks=8,
        inject_week=INJECT_WEEK,
        week=8,
        started_at="2026-12-04T10:00:00+00:00",
        finished_at="2026-12-04T10:20:00+00:00",
        declarations=(
            Declaration(
                week=DECLARED_WEEK,
                signal="feature_drift",
                root_cause="covariate_shift",
                response="wait_and_watch",
            ),
        ),
        score=ScoreBreakdown(
            parts=(
                ScorePart(name="detection", points=15, max_points=25, explanation="1 week late"),
                ScorePart(
                    name="customer_impact",
                    points=20,
                    max_points=20,
                    explanation="$0 of business value lost against the healthy world's $9,000",
                ),
            )
        ),
        debrief=(
            SignalSighting(signal="feature_drift", first_week=FIRST_SIGNAL_WEEK, detail="PSI 0.4"),
            SignalSighting(signal="latency", first_week=None, detail="never fired"),
        ),
        run_dir=str(run_dir),
    )


def saved_drill(paths: SimulatorPaths) -> DrillRecord:
    record = finished_record(paths.root)
    paths.save_drill(record)
    return record
