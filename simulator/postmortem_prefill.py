"""Fill a postmortem with what the system already knows, so the user writes only the judgement.

Sources, all on disk: the drill record (scenario, injection week, declarations, score and the
debrief's first sightings), the capstone event log in the drill's run folder (the timeline,
the model versions, the training windows, drifted features, quarantines, version skew, and the
label delay as the gap between a week and the week its labels arrived) and ``params.yaml`` (the
drift test's thresholds and the trigger's k-of-m rule).
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from phase2_pipelines.params import PARAMS_FILE
from phase4_monitoring.params import load_monitoring_params
from phase5_capstone.events import Event, read_events
from simulator.drill_score import impact_words
from simulator.drills import load_catalogue
from simulator.postmortem import Postmortem, TimelineEntry
from simulator.records import DrillRecord

EVENTS_FILE = "events.jsonl"
QUIET_KINDS = {"ingested", "scored", "labels_arrived", "retrain_skipped"}
QUIET_ACTIONS = {"wait", "watch", "none"}
ACTION_KINDS = ("decision", "advice")  # the trigger's decision; a drill's advice to the user
IMPACT_PART = "customer_impact"
SERVING_KINDS = ("bootstrapped", "promoted", "rolled_back", "hand_release")
VERSION_KINDS = (*SERVING_KINDS, "challenger_staged")
# within a week: the fault starts first, then the user's declaration (made before the week is
# played), then what the system did
ORDER = {"injected": 0, "declared": 1}


def drill_events(record: DrillRecord) -> list[Event]:
    """The drill's event log (empty when the run folder has none yet)."""
    return read_events(Path(record.run_dir) / EVENTS_FILE)


def _notable(event: Event) -> bool:
    if event.kind in QUIET_KINDS:
        return False
    if event.kind == "monitored":
        return event.evidence.get("verdict") not in ("ok", None)
    if event.kind in ACTION_KINDS:
        return event.evidence.get("action") not in QUIET_ACTIONS
    return True


def build_timeline(record: DrillRecord, events: list[Event]) -> tuple[TimelineEntry, ...]:
    """The log's decisions and alerts, the injection and the user's declarations, by week."""
    entries = [
        TimelineEntry(
            week=event.week,
            kind=event.kind,
            summary=event.summary,
            model_version=event.model_version,
        )
        for event in events
        if _notable(event)
    ]
    if record.finished:
        entries.append(
            TimelineEntry(
                week=record.inject_week,
                kind="injected",
                summary=f"the drill's fault ({record.scenario}) starts",
            )
        )
    for declaration in record.declarations:
        entries.append(
            TimelineEntry(
                week=declaration.week,
                kind="declared",
                summary=f"incident declared on {declaration.signal}: cause"
                f" {declaration.root_cause}, response {declaration.response}",
            )
        )
    return tuple(sorted(entries, key=lambda entry: (entry.week, ORDER.get(entry.kind, 2))))


def _model_versions(events: list[Event]) -> tuple[str, str]:
    """Every version move, and for each champion change the version it could go back to."""
    moves = [e for e in events if e.kind in VERSION_KINDS and e.model_version]
    text = "; ".join(f"week {e.week}: {e.kind} v{e.model_version}" for e in moves)
    served = [e for e in moves if e.kind in SERVING_KINDS]
    ways_back = [
        f"week {now.week}: v{now.model_version} replaced v{before.model_version}, so the way back"
        f" was v{before.model_version}"
        for before, now in pairwise(served)
        if before.model_version != now.model_version
    ]
    if not served:
        return "", ""
    if not ways_back:
        return text, "none: only one champion served (retrain on recent data instead)"
    how = "the registry's previous_champion alias (make rollback with a REASON)"
    return text, "; ".join(ways_back) + f"; through {how}"


def _data_window(events: list[Event]) -> str:
    for event in reversed(events):
        train = event.evidence.get("train_weeks")
        if isinstance(train, list) and event.kind in ("bootstrapped", *VERSION_KINDS):
            holdout = event.evidence.get("holdout_weeks")
            return f"v{event.model_version}: trained on weeks {train}, gated on {holdout}"
    return ""


def _drift_test(params_path: Path) -> str:
    monitoring = load_monitoring_params(params_path)
    drift, rule = monitoring.drift, monitoring.triggers.drift
    return (
        f"per feature against the champion's reference: PSI > {drift.psi}, Wasserstein/std >"
        f" {drift.wasserstein} (numeric), Jensen-Shannon > {drift.jensen_shannon} (categorical);"
        f" an alert needs {rule.features} feature(s) in {rule.windows} consecutive weeks"
        f" (noise floor alpha {monitoring.noise_alpha})"
    )


def _feature_schema_diff(record: DrillRecord, events: list[Event]) -> str:
    drifted: dict[str, int] = {}
    problems: list[str] = []
    for event in events:
        if event.week < record.inject_week:
            continue
        features = event.evidence.get("drifted_features")
        if event.kind == "monitored" and isinstance(features, list):
            for feature in features:
                drifted.setdefault(str(feature), event.week)
        if event.kind == "quarantined":
            found = event.evidence.get("problems")
            if isinstance(found, list):
                problems.extend(f"week {event.week}: {problem}" for problem in found[:3])
    parts = [f"{name} (from week {week})" for name, week in drifted.items()]
    text = f"drifted: {', '.join(parts)}" if parts else "no feature drifted past its threshold"
    if problems:
        text += f"; contract violations: {'; '.join(problems)}"
    return text


def _skew_check(events: list[Event]) -> str:
    skew = [e for e in events if e.kind == "version_skew"]
    if skew:
        return f"version skew in weeks {sorted({e.week for e in skew})}: {skew[0].summary}"
    return (
        "no version skew logged; training and serving share one fitted pipeline object,"
        " so feature code cannot differ between them"
    )


def _label_delay(events: list[Event]) -> str:
    gaps = sorted(
        {
            e.week - week
            for e in events
            if e.kind == "labels_arrived" and isinstance(week := e.evidence.get("event_week"), int)
        }
    )
    if gaps:
        return f"{_weeks(gaps[0])} (labels of week w arrive in week w+{gaps[0]}; event log)"
    delay = load_catalogue().settings.label_delay_weeks
    return f"{_weeks(delay)} (the drill catalogue's default; no labels arrived in this drill)"


def _impact(record: DrillRecord) -> str:
    """The business value the drill lost (from its record, else its score); who and how long
    are the user's."""
    if record.value_lost_usd is not None and record.value_at_stake_usd is not None:
        words = impact_words(record.value_lost_usd, record.value_at_stake_usd, record.inject_week)
        return f"From the drill's record: {words}."
    if record.score is None:
        return ""
    part = next((p for p in record.score.parts if p.name == IMPACT_PART), None)
    return f"From the drill's score: {part.explanation}." if part else ""


def _weeks(count: int) -> str:
    return f"{count} week" if count == 1 else f"{count} weeks"


def detection(record: DrillRecord) -> str:
    """How it was seen: the user's declaration, then each signal's first week (the debrief)."""
    lines = [
        f"Declared before week {d.week} on {d.signal} (diagnosis {d.root_cause})."
        for d in record.declarations
    ] or ["No incident was declared."]
    for sighting in record.debrief:
        when = "never fired" if sighting.first_week is None else f"week {sighting.first_week}"
        lines.append(f"Signal {sighting.signal}: {when} ({sighting.detail}).")
    return " ".join(lines)


def detection_latency(record: DrillRecord) -> str:
    """Weeks of the fault played before the first declaration, and weeks seen after the first
    signal fired (a declaration in week w is made having seen weeks up to w-1, as the scorer
    counts it)."""
    if not record.declarations:
        return f"not detected: no incident declared (fault injected in week {record.inject_week})"
    declared = min(d.week for d in record.declarations)
    exposed = max(0, declared - record.inject_week)
    text = (
        f"{_weeks(exposed)} of the fault played before the declaration (injected in week"
        f" {record.inject_week}, declared before week {declared})"
    )
    fired = [s for s in record.debrief if s.first_week is not None]
    if fired:
        first = min(fired, key=lambda s: s.first_week or 0)
        assert first.first_week is not None
        late = max(0, declared - 1 - first.first_week)
        text += (
            f"; the first signal ({first.signal}) fired in week {first.first_week}:"
            f" declared {_weeks(late)} after it could be seen"
        )
    return text


def prefill_postmortem(record: DrillRecord, params_path: Path = PARAMS_FILE) -> Postmortem:
    """A postmortem form with every field the system can fill filled, the judgement left blank."""
    events = drill_events(record)
    versions, rollback = _model_versions(events)
    return Postmortem(
        drill_id=record.drill_id,
        scenario=record.scenario,
        title=f"Postmortem: {record.title}",
        date=record.started_at[:10],
        detection=detection(record),
        timeline=build_timeline(record, events),
        model_version=versions,
        rollback_path=rollback,
        data_window=_data_window(events),
        drift_test=_drift_test(params_path),
        feature_schema_diff=_feature_schema_diff(record, events),
        skew_check=_skew_check(events),
        label_delay=_label_delay(events),
        impact=_impact(record),
        detection_latency=detection_latency(record),
    )
