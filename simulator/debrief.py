"""After (or during) a drill: which signals fired when, what the incident cost, the score.

The signals are read week by week from the run's files (``signals.py``) against how the system
looked before: the starting champion's reference and the first weeks' latency. The debrief
names, per signal, the first week it fired from the injection on, and whether it pointed at the
cause. ``drill_outcome`` gathers what the pure scorer needs (``drill_score.py``).
"""

from __future__ import annotations

from phase1_foundations.settings import Settings
from simulator.drill_score import DrillOutcome
from simulator.drills import load_catalogue
from simulator.impact import week_values
from simulator.records import DrillRecord, SignalSighting
from simulator.signals import Baseline, Fired, fired_in, latency_baseline
from simulator.system import context_of, starting_champion


def week_signals(record: DrillRecord, settings: Settings | None = None) -> list[Fired]:
    """The signals that fired in each week played so far (what the dashboard shows)."""
    ctx = context_of(record, settings)
    knobs = load_catalogue().settings
    chunk = ctx.capstone.score_chunk_rows
    started = starting_champion(ctx)
    if started is None:
        return []
    base = Baseline(
        reference=started[1],
        monitoring=ctx.monitoring,
        label_delay_weeks=ctx.scenario.label_delay_weeks,
        chunk_rows=chunk,
        baseline_ms=latency_baseline(ctx.paths, knobs.latency_baseline_weeks, chunk),
        latency_ratio=knobs.latency_alert_ratio,
        latency_added_ms=knobs.latency_alert_added_ms,
    )
    try:
        return [fired_in(ctx.paths, week, base) for week in range(record.week)]
    finally:
        ctx.close()


def debrief(record: DrillRecord, settings: Settings | None = None) -> tuple[SignalSighting, ...]:
    """Per signal that fired or should have, the first week it did from the injection on."""
    spec = load_catalogue().drill(record.scenario)
    fired = week_signals(record, settings)
    names = list(spec.signals) + sorted({s for week in fired for s in week} - set(spec.signals))
    sightings = []
    for name in names:
        weeks = [w for w, signals in enumerate(fired) if name in signals]
        after = [w for w in weeks if w >= record.inject_week]
        before = [w for w in weeks if w < record.inject_week]
        points = "points to the cause" if name in spec.signals else "did not point to the cause"
        detail = f"{points}; " + (fired[after[0]][name] if after else "never fired after injection")
        if before:
            detail += f"; also fired before the injection in weeks {before} (false alarms)"
        sightings.append(
            SignalSighting(signal=name, first_week=after[0] if after else None, detail=detail)
        )
    return tuple(sightings)


def drill_outcome(
    record: DrillRecord, sightings: tuple[SignalSighting, ...], settings: Settings | None = None
) -> DrillOutcome:
    """What the scorer needs: the first signal of the cause (from the debrief's ``sightings``),
    the declarations, the value lost against a healthy system (``impact.py``)."""
    spec = load_catalogue().drill(record.scenario)
    firsts = [
        s.first_week for s in sightings if s.signal in spec.signals and s.first_week is not None
    ]
    ctx = context_of(record, settings)
    try:
        started = starting_champion(ctx)
        assert started is not None
        values = week_values(ctx, range(record.inject_week, record.weeks), started[0])
    finally:
        ctx.close()
    return DrillOutcome(
        spec=spec,
        inject_week=record.inject_week,
        first_signal_week=min(firsts) if firsts else None,
        declarations=record.declarations,
        value_lost_usd=sum(v.healthy_usd - v.served_usd for v in values),
        value_at_stake_usd=sum(v.healthy_usd for v in values),
    )
