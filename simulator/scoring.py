"""A drill's score: pure functions of what happened, each part with its points and its reason.

Parts: detection (weeks from the first signal to the declaration), diagnosis (the signal and the
root cause), response (the catalogue's credit for it), customer impact (business value lost
against a healthy system on the same customers) and discipline (false alarms and needless retrains).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.drills import DrillSpec, ScoringSettings
from simulator.records import Declaration, Response, ScoreBreakdown, ScorePart

RETRAIN: Response = "retrain_recent"
QUIET_RESPONSES: tuple[Response, ...] = ("wait_and_watch",)


@dataclass(frozen=True)
class DrillOutcome:
    """What the scorer needs to know about a finished drill."""

    spec: DrillSpec
    inject_week: int
    first_signal_week: int | None  # the first week a signal of the cause fired (None: never)
    declarations: tuple[Declaration, ...]
    value_lost_usd: float  # business value lost against a healthy system, from injection on
    value_at_stake_usd: float  # what the healthy system earned in those weeks


def incident_declaration(outcome: DrillOutcome) -> Declaration | None:
    """The declaration that is judged: the first made after the incident began."""
    after = [d for d in outcome.declarations if d.week > outcome.inject_week]
    return after[0] if after else None


def false_alarms(outcome: DrillOutcome) -> list[Declaration]:
    """Declarations that acted on an incident that was not there (or not yet there)."""
    if not outcome.spec.incident:
        return [d for d in outcome.declarations if d.response not in QUIET_RESPONSES]
    return [
        d
        for d in outcome.declarations
        if d.week <= outcome.inject_week and d.response not in QUIET_RESPONSES
    ]


def needless_retrains(outcome: DrillOutcome) -> list[Declaration]:
    """Retrains asked for when retraining is no credited answer of the drill."""
    if outcome.spec.credit(RETRAIN) > 0:
        return []
    return [d for d in outcome.declarations if d.response == RETRAIN]


def score_detection(outcome: DrillOutcome, points: ScoringSettings) -> ScorePart:
    name, top = "detection", points.detection
    declared = incident_declaration(outcome)
    if not outcome.spec.incident:
        if false_alarms(outcome):
            return ScorePart(
                name=name,
                points=0,
                max_points=top,
                explanation="nothing harmful happened, and an incident was acted on: a false alarm",
            )
        return ScorePart(
            name=name,
            points=top,
            max_points=top,
            explanation="nothing harmful happened, and nothing was acted on",
        )
    if declared is None:
        return ScorePart(
            name=name,
            points=0,
            max_points=top,
            explanation=f"no incident was declared after it began (week {outcome.inject_week})",
        )
    start = outcome.first_signal_week
    if start is None:
        start = outcome.inject_week
    late = max(0, declared.week - 1 - start)  # declaring in week w acts on weeks 0..w-1 seen
    earned = top * max(0.0, 1.0 - late / points.detection_weeks)
    return ScorePart(
        name=name,
        points=round(earned, 2),
        max_points=top,
        explanation=f"the first signal fired in week {start}; declared after week"
        f" {declared.week - 1}: {late} week(s) later (no points after"
        f" {points.detection_weeks})",
    )


def score_diagnosis(outcome: DrillOutcome, points: ScoringSettings) -> tuple[ScorePart, ...]:
    spec = outcome.spec
    declared = incident_declaration(outcome) if spec.incident else None
    if not spec.incident:
        declared = outcome.declarations[0] if outcome.declarations else None
    if declared is None and not spec.incident and not spec.signals:
        reason = "nothing happened, and nothing was declared: the right diagnosis"
        return (
            ScorePart(
                name="signal", points=points.signal, max_points=points.signal, explanation=reason
            ),
            ScorePart(
                name="root_cause",
                points=points.root_cause,
                max_points=points.root_cause,
                explanation=reason,
            ),
        )
    if declared is None:
        reason = "no declaration to judge" if spec.incident else "nothing declared"
        if not spec.incident:
            reason += f"; the right call was {spec.root_cause!r}, watched"
        return (
            ScorePart(name="signal", points=0, max_points=points.signal, explanation=reason),
            ScorePart(
                name="root_cause", points=0, max_points=points.root_cause, explanation=reason
            ),
        )
    right = spec.signals or ("none",)
    signal_ok = declared.signal in right
    cause_ok = declared.root_cause == spec.root_cause
    return (
        ScorePart(
            name="signal",
            points=points.signal if signal_ok else 0,
            max_points=points.signal,
            explanation=f"declared {declared.signal!r}; the signals that pointed at the cause:"
            f" {', '.join(right)}",
        ),
        ScorePart(
            name="root_cause",
            points=points.root_cause if cause_ok else 0,
            max_points=points.root_cause,
            explanation=f"declared {declared.root_cause!r}; the cause was {spec.root_cause!r}",
        ),
    )


def score_response(outcome: DrillOutcome, points: ScoringSettings) -> ScorePart:
    spec = outcome.spec
    declared = incident_declaration(outcome)
    if not spec.incident and not outcome.declarations:
        credit, what = spec.credit("wait_and_watch"), "nothing was done"
    elif declared is None and spec.incident:
        credit, what = 0.0, "nothing was done after the incident began"
    else:
        chosen = (declared or outcome.declarations[0]).response
        credit, what = spec.credit(chosen), f"the response was {chosen!r}"
    return ScorePart(
        name="response",
        points=round(points.response * credit, 2),
        max_points=points.response,
        explanation=f"{what}: {credit:.0%} credit; the best was {spec.best!r}"
        + (
            f" (partial credit: {', '.join(f'{r} {c:.0%}' for r, c in spec.partial.items())})"
            if spec.partial
            else ""
        ),
    )


def score_impact(outcome: DrillOutcome, points: ScoringSettings) -> ScorePart:
    lost, stake = outcome.value_lost_usd, outcome.value_at_stake_usd
    share = 0.0 if stake <= 0 else max(0.0, min(1.0, lost / stake))
    return ScorePart(
        name="customer_impact",
        points=round(points.impact * (1.0 - share), 2),
        max_points=points.impact,
        explanation=f"${lost:,.0f} of business value lost against a healthy system's"
        f" ${stake:,.0f} from week {outcome.inject_week} on ({share:.0%})",
    )


def score_discipline(outcome: DrillOutcome, points: ScoringSettings) -> ScorePart:
    alarms, retrains = false_alarms(outcome), needless_retrains(outcome)
    penalty = (
        len(alarms) * points.false_alarm_penalty + len(retrains) * points.needless_retrain_penalty
    )
    return ScorePart(
        name="discipline",
        points=max(0.0, points.discipline - penalty),
        max_points=points.discipline,
        explanation=f"{len(alarms)} false alarm(s)"
        + (f" (weeks {', '.join(str(d.week) for d in alarms)})" if alarms else "")
        + f", {len(retrains)} needless retrain(s)",
    )


def score_drill(outcome: DrillOutcome, points: ScoringSettings) -> ScoreBreakdown:
    """Every part of the score, in the order the debrief shows them."""
    return ScoreBreakdown(
        parts=(
            score_detection(outcome, points),
            *score_diagnosis(outcome, points),
            score_response(outcome, points),
            score_impact(outcome, points),
            score_discipline(outcome, points),
        )
    )
