"""A drill's score: pure functions of what happened, each part with its points and its reason.

Parts: detection (weeks from when the cause could be seen to the declaration), diagnosis (the
signal and the root cause), response (the catalogue's credit for it, decaying with the weeks the
fault played unmitigated after it could be seen), customer impact (business value lost against
a healthy system on the same customers) and discipline (false alarms and needless retrains).

Time weighs most, as in real incident response: each ``half_life_weeks`` late halves both the
detection and the response credit, so a right answer after the damage is done earns little. A
declaration that points at a signal of something else (a decoy) detected nothing.
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


def visible_week(outcome: DrillOutcome) -> int:
    """The first week the cause could be told apart: its first signal, plus the weeks of
    evidence the catalogue says it takes (the injection week when no signal of it fired)."""
    start = outcome.first_signal_week
    if start is None:
        start = outcome.inject_week
    return start + outcome.spec.confirm_weeks


def weeks_late(outcome: DrillOutcome, declared: Declaration) -> int:
    """Weeks between when the cause could be told apart and the declaration (a declaration in
    week w is made having seen weeks up to w-1)."""
    return max(0, declared.week - 1 - visible_week(outcome))


def timeliness(late: int, points: ScoringSettings) -> float:
    """The share of credit left ``late`` weeks late: halved every ``half_life_weeks``."""
    return float(0.5 ** (late / points.half_life_weeks))


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
    if declared.signal not in outcome.spec.signals:
        return ScorePart(
            name=name,
            points=0,
            max_points=top,
            explanation=f"declared on {declared.signal!r}, which did not point at the cause"
            f" (its signals: {', '.join(outcome.spec.signals)}): that detected something else",
        )
    start = visible_week(outcome)
    late = weeks_late(outcome, declared)
    seen = f"the cause could be told apart from week {start}"
    if outcome.spec.confirm_weeks:
        seen += f" (its first signal, then {outcome.spec.confirm_weeks} week(s) of evidence)"
    return ScorePart(
        name=name,
        points=round(top * timeliness(late, points), 2),
        max_points=top,
        explanation=f"{seen}; declared after week {declared.week - 1}: {_late_words(late)}"
        f" ({_halving(points)})",
    )


def _halving(points: ScoringSettings) -> str:
    if points.half_life_weeks == 1:
        return "each week late halves it"
    return f"each {points.half_life_weeks:g} weeks late halve it"


def _late_words(late: int) -> str:
    if late == 0:
        return "on time"
    return f"{late} week late" if late == 1 else f"{late} weeks late"


def score_diagnosis(outcome: DrillOutcome, points: ScoringSettings) -> tuple[ScorePart, ...]:
    spec = outcome.spec
    declared = incident_declaration(outcome) if spec.incident else None
    if not spec.incident:
        declared = outcome.declarations[0] if outcome.declarations else None
    if declared is None and not spec.incident:
        reason = "nothing harmful happened, and nothing was declared: the right call"
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
    on_time = 1.0
    if not spec.incident and not outcome.declarations:
        credit, what = spec.credit("wait_and_watch"), "nothing was done"
    elif declared is None and spec.incident:
        credit, what = 0.0, "nothing was done after the incident began"
    else:
        chosen = declared or outcome.declarations[0]
        credit = spec.credit(chosen.response, chosen.root_cause)
        what = f"the response was {chosen.response!r}"
        if credit == 0 and spec.credit(chosen.response) > 0:
            what += f" for {chosen.root_cause!r}, which repairs only what it names"
        if spec.incident and credit > 0:
            late = weeks_late(outcome, chosen)
            on_time = timeliness(late, points)
            what += f", {_late_words(late)} after the cause could be told apart"
            if late:
                what += f" ({on_time:.0%} of its credit left)"
    partial = ", ".join(f"{r} {c:.0%}" for r, c in spec.partial.items())
    return ScorePart(
        name="response",
        points=round(points.response * credit * on_time, 2),
        max_points=points.response,
        explanation=f"{what}: {credit:.0%} credit; the best was {spec.best!r}"
        + (f" (partial credit: {partial})" if partial else ""),
    )


def score_impact(outcome: DrillOutcome, points: ScoringSettings) -> ScorePart:
    lost, stake = outcome.value_lost_usd, outcome.value_at_stake_usd
    share = 0.0 if stake <= 0 else max(0.0, min(1.0, lost / stake))
    return ScorePart(
        name="customer_impact",
        points=round(points.impact * (1.0 - share), 2),
        max_points=points.impact,
        explanation=impact_words(lost, stake, outcome.inject_week),
    )


def usd(amount: float) -> str:
    """Dollars as people write them: $1,250 and -$1,250, never $-1,250."""
    return f"-${-amount:,.0f}" if amount < 0 else f"${amount:,.0f}"


def impact_words(lost: float, stake: float, since_week: int) -> str:
    """The business value lost, in words: a gain is said as a gain, not as a negative loss."""
    healthy = f"the healthy system's {usd(stake)} from week {since_week} on"
    if round(lost) <= 0:
        more = f" ({usd(-lost)} more than the healthy system)" if round(lost) < 0 else ""
        return f"no value lost against {healthy}{more}"
    share = 0.0 if stake <= 0 else min(1.0, lost / stake)
    return f"{usd(lost)} of business value lost against {healthy} ({share:.0%})"


def score_discipline(outcome: DrillOutcome, points: ScoringSettings) -> ScorePart:
    alarms, retrains = false_alarms(outcome), needless_retrains(outcome)
    missed = outcome.spec.incident and incident_declaration(outcome) is None
    penalty = (
        len(alarms) * points.false_alarm_penalty
        + len(retrains) * points.needless_retrain_penalty
        + (points.missed_incident_penalty if missed else 0.0)
    )
    return ScorePart(
        name="discipline",
        points=max(0.0, points.discipline - penalty),
        max_points=points.discipline,
        explanation=f"{len(alarms)} false alarm(s)"
        + (f" (weeks {', '.join(str(d.week) for d in alarms)})" if alarms else "")
        + f", {len(retrains)} needless retrain(s)"
        + (", and the incident was never declared" if missed else ""),
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
