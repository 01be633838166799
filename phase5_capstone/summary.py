"""What a run did, read back from its event log: the end-of-run table and ``explain --week``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial

from phase1_foundations.world import World
from phase2_pipelines.evidence import Check
from phase2_pipelines.stats import InverseVarianceMean
from phase5_capstone.events import SETUP_WEEK, Event
from phase5_capstone.params import YardstickParams
from phase5_capstone.scenario import Beat
from phase5_capstone.truth import MODEL_CHANGES, RunJudgement, WeekTruth, judge_run

NOTABLE = {
    "bootstrapped": "champion v{v} shipped",
    "quarantined": "batch held (quarantined)",
    "candidate_rejected": "v{v} rejected by the gate",
    "retrain_waiting": "retrain waits for labels",
    "challenger_staged": "v{v} staged",
    "escalated": "escalated: a person must look",
    "canary_started": "v{v} canary",
    "promoted": "v{v} promoted",
    "guardrail_rollback": "v{v} stopped by a guardrail",
    "rolled_back": "rolled back to v{v}",
    "retrain_deferred": "retrain deferred",
    "version_skew": "a replica serves an old version",
}


def _auc(event: Event) -> str:
    quality = event.evidence.get("quality")
    if not isinstance(quality, dict):
        return ""
    metrics = quality.get("metrics")
    value = metrics.get("roc_auc") if isinstance(metrics, dict) else None
    return f"w{event.evidence.get('event_week')}:{value:.3f}" if isinstance(value, float) else ""


def _notable(event: Event) -> str:
    """One event in a few words; a candidate that was never registered is named by its kind."""
    if event.model_version is None and event.kind == "candidate_rejected":
        return f"{event.evidence.get('candidate', 'a')} candidate rejected"
    if event.kind == "quarantined" and not event.evidence.get("held"):
        bad, good = event.evidence.get("quarantined_rows"), event.evidence.get("accepted_rows")
        if isinstance(bad, int) and isinstance(good, int):
            return f"{bad:,} rows quarantined, {good:,} scored"
    text = NOTABLE[event.kind].format(v=event.model_version)
    kind = event.evidence.get("candidate")
    if event.kind == "challenger_staged" and isinstance(kind, str):
        text += f", a {kind}"
    return text


def summary_table(events: list[Event]) -> str:
    """One line per week: who served, what the monitor and the trigger said, what happened."""
    weeks = sorted({e.week for e in events})
    lines = [
        f"{'week':>4}  {'served':<9} {'monitor':<8} {'decision':<11} {'realized AUC':<13}"
        " what happened"
    ]
    for week in weeks:
        mine = [e for e in events if e.week == week]
        served = next((e for e in mine if e.kind == "scored"), None)
        served_by = served.evidence.get("served_by") if served else None
        by = ",".join(served_by) if isinstance(served_by, dict) else "-"
        monitor = next((e.evidence.get("verdict") for e in mine if e.kind == "monitored"), "-")
        decision = next((e.evidence.get("action") for e in mine if e.kind == "decision"), "-")
        aucs = " ".join(a for a in (_auc(e) for e in mine if e.kind == "labels_arrived") if a)
        happened = "; ".join(_notable(e) for e in mine if e.kind in NOTABLE)
        label = "setup" if week == SETUP_WEEK else str(week)
        lines.append(f"{label:>4}  {by:<9} {monitor!s:<8} {decision!s:<11} {aucs:<13} {happened}")
    return "\n".join(lines)


LEGEND = """how to read it:
  served        the versions that scored the week's customers (two of them: a canary split;
                "-": nothing scored, the batch was held)
  monitor       ok, or alert: the week's inputs or predictions drifted from the champion's
                reference, or its data broke the contract
  decision      the trigger's action: none; wait (not enough evidence either way yet); watch
                (a change is seen, the labels show no harm); investigate (a person should look);
                retrain; rollback; quarantine
  realized AUC  w5:0.737 = the labels of week 5 arrived this week, and that week's ROC AUC was
                0.737 (the yardstick is the serving model's own holdout AUC)"""


def closing_lines(events: list[Event], yardstick: YardstickParams) -> list[str]:
    """The state the run leaves: who serves and since when, its latest realized quality, and
    what is still open (unfixed harm, escalations, a rollout in flight)."""
    moves = [e for e in events if e.kind in ("bootstrapped", "promoted", "rolled_back")]
    if not moves:
        return ["state at the end: no champion yet"]
    last = moves[-1]
    serving = last.model_version
    since = "the start" if last.kind == "bootstrapped" else f"week {last.week + 1}"
    staged = [e for e in events if e.kind == "challenger_staged" and e.model_version == serving]
    kind = staged[-1].evidence.get("candidate") if staged else None
    what = f" (a {kind})" if isinstance(kind, str) else ""
    lines = [f"state at the end: v{serving}{what} serves, since {since}"]
    mine = [e for e in events if e.kind == "labels_arrived" and e.model_version == serving]
    latest = mine[-1] if mine else None
    measured = _auc_with_error(latest) if latest is not None else None
    if latest is not None and measured is not None:
        latest_weeks = mine[-yardstick.recent_label_weeks :]
        recent = pooled_realized_auc(latest_weeks)
        pooled = "" if recent is None else f", {recent[0]:.3f} over its latest {len(latest_weeks)}"
        lines.append(
            f"  its realized roc_auc: {measured[0]:.3f} on week {_event_week(latest)}'s labels"
            f" (the latest){pooled}"
        )
    else:
        lines.append("  its realized quality: no labels of its weeks have arrived yet")
    final = max((e.week for e in events), default=0)
    decisions = [e for e in events if e.kind == "decision" and e.week == final]
    open_items = []
    if decisions:
        evidence = decisions[-1].evidence
        if evidence.get("broken"):
            open_items.append(f"the champion is broken: {evidence['broken']}")
        if evidence.get("escalate"):
            open_items.append("retrains keep failing: escalated to a person")
        if evidence.get("cbpe_refuted"):
            open_items.append("CBPE is refuted for this model: trust only the labels")
        action = evidence.get("action")
        if action not in ("none", "watch", None):
            open_items.append(f"the last decision was {action}")
    rollout = [e for e in events if e.kind in ("challenger_staged", "canary_started")]
    ended = {"promoted", "guardrail_rollback", "rolled_back"}
    if rollout and not any(e.kind in ended and e.week >= rollout[-1].week for e in events):
        open_items.append(f"v{rollout[-1].model_version} is still in its rollout")
    lines.append("  still open: " + ("; ".join(open_items) if open_items else "nothing"))
    return lines


def counts(events: list[Event]) -> dict[str, int]:
    found: dict[str, int] = {}
    for event in events:
        found[event.kind] = found.get(event.kind, 0) + 1
    return found


def explain_week(events: list[Event], week: int) -> str:
    """Which model served the week, why it was chosen, what it learned from, and the evidence."""
    mine = [e for e in events if e.week == week]
    if not mine:
        return f"week {week}: no events (not run yet?)"
    scored = next((e for e in mine if e.kind == "scored"), None)
    serving = scored.model_version if scored else None
    lines = [f"week {week}"]
    if scored is None:
        lines.append("  served: nothing (the batch was quarantined)")
    else:
        lines.append(f"  served: champion v{serving}; {json.dumps(scored.evidence)}")
    chosen = [
        e
        for e in events
        if e.model_version == serving
        and e.kind in ("bootstrapped", "challenger_staged", "promoted", "rolled_back")
        and e.week <= week
    ]
    for event in chosen:
        lines.append(f"  why v{serving} (week {event.week}, {event.kind}): {event.summary}")
        gate = event.evidence.get("gate")
        if isinstance(gate, dict):
            checks = gate.get("checks")
            for check in checks if isinstance(checks, list) else []:
                if isinstance(check, dict):
                    lines.append(f"      {Check.model_validate(check)}")
        for key in ("train_weeks", "holdout_weeks", "data"):
            if key in event.evidence:
                lines.append(f"      {key}: {json.dumps(event.evidence[key])}")
    lines.append("  decisions this week:")
    for event in mine:
        lines.append(f"    [{event.step}/{event.kind}] {event.summary}")
    return "\n".join(lines)


def _in(events: list[Event], first: int, last: int) -> list[Event]:
    return [e for e in events if first <= e.week <= last]


def _kinds(events: list[Event]) -> set[str]:
    return {e.kind for e in events}


def _actions(events: list[Event]) -> set[str]:
    return {str(e.evidence.get("action")) for e in events if e.kind == "decision"}


def _faulty_rejection(events: list[Event], fault: str) -> bool:
    return any(
        e.kind == "candidate_rejected" and fault in str(e.evidence.get("faults")) for e in events
    )


def _recalibration_promoted(events: list[Event]) -> bool:
    """A recalibrated champion was staged and promoted within the beat's weeks."""
    staged = {
        e.model_version
        for e in events
        if e.kind == "challenger_staged" and e.evidence.get("candidate") == "recalibration"
    }
    return any(e.kind == "promoted" and e.model_version in staged for e in events)


def _healthy(events: list[Event]) -> bool:
    """No alert, no quarantine, no model change; a retrain only on the schedule."""
    moved = {"quarantined", "challenger_staged", "promoted", "rolled_back", "guardrail_rollback"}
    alerts = [e for e in events if e.kind == "monitored" and e.evidence.get("verdict") != "ok"]
    unscheduled = [
        f
        for e in events
        if e.kind == "decision" and e.evidence.get("action") == "retrain"
        for f in (e.evidence.get("fired") or [])  # type: ignore[union-attr]
        if isinstance(f, dict) and f.get("action") == "retrain" and f.get("check") != "schedule"
    ]
    return not alerts and not (moved & _kinds(events)) and not unscheduled


def _auc_with_error(event: Event) -> tuple[float, float] | None:
    """The realized ROC AUC of a labeled week and its standard error, from the event."""
    quality = event.evidence.get("quality")
    checks = quality.get("checks") if isinstance(quality, dict) else None
    for check in checks if isinstance(checks, list) else []:
        if not isinstance(check, dict) or check.get("column") != "roc_auc":
            continue
        items = check.get("evidence")
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("metric") == "roc_auc":
                value, error = item.get("value"), item.get("standard_error")
                if isinstance(value, float) and isinstance(error, float) and error > 0:
                    return value, error
    return None


def _event_week(event: Event) -> int:
    week = event.evidence.get("event_week")
    return week if isinstance(week, int) else -1


def pooled_realized_auc(labeled: list[Event]) -> tuple[float, float] | None:
    """Inverse-variance pooled realized AUC of labeled weeks, and its standard error."""
    pooled = InverseVarianceMean.of(p for p in map(_auc_with_error, labeled) if p is not None)
    return None if pooled is None else (pooled.mean, pooled.standard_error)


def recoveries(events: list[Event], yardstick: YardstickParams) -> list[str]:
    """Promotions after which quality recovered, judged on realized AUC with its interval: the
    promoted model's labeled weeks must be significantly better than the weeks the harmed
    champion served before it, and not shown to be below the floor (both one-sided, at the
    yardstick's recovery confidence). A retrain and a promotion that did not fix anything show
    nothing."""
    z, floor = yardstick.recovery_z, yardstick.recovery_floor
    labeled = [e for e in events if e.kind == "labels_arrived" and _auc_with_error(e)]
    since = min((e.week for e in events), default=0)  # the beat's first week: the change
    found = []
    for promotion in (e for e in events if e.kind == "promoted"):
        fix = promotion.model_version
        after = [e for e in labeled if e.model_version == fix and _event_week(e) > promotion.week]
        before = [
            e
            for e in labeled
            if e.model_version != fix and since <= _event_week(e) <= promotion.week
        ]
        fixed, harmed = pooled_realized_auc(after), pooled_realized_auc(before)
        if fixed is None or harmed is None:
            continue
        lead = fixed[0] - harmed[0]
        lead_low = lead - z * (fixed[1] ** 2 + harmed[1] ** 2) ** 0.5
        upper = fixed[0] + z * fixed[1]
        if lead_low > 0 and upper >= floor:
            found.append(
                f"v{fix} promoted in week {promotion.week}: realized roc_auc {fixed[0]:.3f}"
                f" (upper bound {upper:.3f} >= floor {floor:.2f}) on {len(after)} labeled"
                f" week(s), {lead:+.3f} [lower bound {lead_low:+.3f}] over the {harmed[0]:.3f}"
                " of the weeks before"
            )
    return found


# What each named beat must show in its weeks, judged from the event log alone (and
# concept_drift_recovered, which also reads the yardstick: see check_beats).
BEAT_CHECKS: dict[str, Callable[[list[Event]], bool]] = {
    "healthy_control": _healthy,
    "stable_start": lambda ev: _actions(ev) <= {"none", "wait"} and "quarantined" not in _kinds(ev),
    "harmless_drift": lambda ev: (
        any(e.kind == "monitored" and e.evidence.get("drifted_features") for e in ev)
        and "retrain" not in _actions(ev)
        and "watch" in _actions(ev)
    ),
    "null_flood_quarantined": lambda ev: "quarantined" in _kinds(ev),
    "crippled_candidate_rejected": lambda ev: _faulty_rejection(ev, "label_shuffle"),
    "recalibrated_within_a_week": lambda ev: _recalibration_promoted(ev),
    "slow_candidate_rolled_back": lambda ev: "guardrail_rollback" in _kinds(ev),
}


def _recovered(events: list[Event], yardstick: YardstickParams) -> bool:
    return "retrain" in _actions(events) and bool(recoveries(events, yardstick))


def check_beats(
    events: list[Event], beats: Sequence[Beat], yardstick: YardstickParams
) -> list[tuple[Beat, bool | None]]:
    """Each beat of the scenario and whether the log shows it (None: no check for that name)."""
    checks: dict[str, Callable[[list[Event]], bool]] = {
        **BEAT_CHECKS,
        "concept_drift_recovered": partial(_recovered, yardstick=yardstick),
    }
    results: list[tuple[Beat, bool | None]] = []
    for beat in beats:
        check = checks.get(beat.name)
        results.append((beat, None if check is None else check(_in(events, *beat.weeks))))
    return results


def render_beats(results: list[tuple[Beat, bool | None]]) -> str:
    marks = {True: "shown", False: "NOT SHOWN", None: "not checked"}
    return "\n".join(
        f"  [{marks[ok]}] weeks {beat.weeks[0]}-{beat.weeks[1]} {beat.name}: {beat.shows}"
        for beat, ok in results
    )


def judge_events(events: list[Event], world: World) -> RunJudgement:
    """The run against the world's yardsticks (regret, degraded weeks, time to recover), read
    from its ``truth`` events and its promotions and rollbacks."""
    truths = [WeekTruth.model_validate(e.evidence) for e in events if e.kind == "truth"]
    changes = [(e.week, str(e.model_version)) for e in events if e.kind in MODEL_CHANGES]
    release = {t.week: world.label_release_week(t.week) for t in truths}
    return judge_run(truths, changes, release)
