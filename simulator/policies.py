"""Scripted on-call policies for ``make bench-drills``: what each would declare, and when.

Each policy sees what the dashboards showed (the signals that fired, week by week) and knows the
catalogue; the expert, the late and the panicking policy also know the drill's true cause (they
stand for "the right answer"), the lookup policy only its runbook. Each declares at most once.

- ``silent``: never declares.
- ``panic``: declares in week 0, before anything could be seen: the true cause and its best
  response (in a control, the reflex: a retrain).
- ``lookup``: a runbook: the first week any signal fires, the first of its rules whose signal
  fired gives the cause and that cause's best response.
- ``late``: the right answer, declared in the last week.
- ``expert``: the right answer as soon as the cause can be told apart: its first signal, plus the
  catalogue's ``confirm_weeks`` of evidence. In a control it writes down what it saw and watches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from simulator.drills import DrillSpec
from simulator.records import Response

Policy = Literal["silent", "panic", "lookup", "late", "expert"]
POLICIES: tuple[Policy, ...] = ("silent", "panic", "lookup", "late", "expert")
WHAT_THEY_DO: dict[Policy, str] = {
    "silent": "never declares",
    "panic": "declares in week 0, before anything could be seen (the true cause and its fix)",
    "lookup": "the first signal that fires, mapped by a fixed runbook to a cause and its fix",
    "late": "the right answer, declared in the last week",
    "expert": "the right answer as soon as the cause can be told apart from its look-alikes",
}
Fired = Sequence[frozenset[str]]  # per week played, the signals that fired


@dataclass(frozen=True)
class Rule:
    """One line of a runbook: when this signal fires, diagnose this cause and do this."""

    signal: str
    root_cause: str
    response: Response


# The runbook a team writes from the catalogue: each signal's textbook cause and that cause's best
# response, the most specific signals first (the one the issue measured at 95.8 of 110).
RUNBOOK: tuple[Rule, ...] = (
    Rule("data_quality", "schema_break", "quarantine_hotfix"),
    Rule("version_skew", "stale_replica", "scale"),
    Rule("latency", "heavy_model", "roll_back"),
    Rule("labels_missing", "label_delay", "page_upstream"),
    Rule("realized_quality", "concept_drift", "retrain_recent"),
    Rule("prediction_drift", "bad_model", "roll_back"),
    Rule("cbpe_estimate", "bad_model", "roll_back"),
    Rule("feature_drift", "covariate_shift", "wait_and_watch"),
)


@dataclass(frozen=True)
class Plan:
    """A declaration a policy makes before ``week`` is played."""

    week: int
    signal: str
    root_cause: str
    response: Response


def first_week(fired: Fired, signals: Sequence[str], since: int = 0) -> int | None:
    """The first week from ``since`` in which one of ``signals`` fired."""
    for week in range(since, len(fired)):
        if fired[week] & set(signals):
            return week
    return None


def _right(spec: DrillSpec, week: int, fired: Fired, inject_week: int) -> Plan | None:
    """The true diagnosis, declared before ``week`` (pointing at a signal of the cause that
    fired, else the catalogue's first)."""
    seen = [s for s in spec.signals if any(s in f for f in fired[inject_week:week])]
    if not spec.incident:
        if not seen:
            return None  # nothing to write down
        return Plan(week, seen[0], spec.root_cause, "wait_and_watch")
    signal = seen[0] if seen else (spec.signals[0] if spec.signals else "feature_drift")
    return Plan(week, signal, spec.root_cause, spec.best)


def plan(
    policy: Policy,
    spec: DrillSpec,
    fired: Fired,
    inject_week: int,
    weeks: int,
    runbook: Sequence[Rule] = RUNBOOK,
) -> Plan | None:
    """What ``policy`` declares in a drill whose weeks fired ``fired`` when nobody acted (the
    declaration comes before its week, so it sees only the weeks before it)."""
    if policy == "silent":
        return None
    if policy == "panic":
        signal = spec.signals[0] if spec.signals else "feature_drift"
        return Plan(0, signal, spec.root_cause, spec.best if spec.incident else "retrain_recent")
    if policy == "late":
        return _right(spec, weeks - 1, fired, inject_week)
    if policy == "lookup":
        anything = first_week(fired, [rule.signal for rule in runbook])
        if anything is None or anything + 1 >= weeks:
            return None
        rule = next(rule for rule in runbook if rule.signal in fired[anything])
        return Plan(anything + 1, rule.signal, rule.root_cause, rule.response)
    seen = first_week(fired, spec.signals, since=inject_week)
    if seen is None:
        return None
    week = min(weeks - 1, seen + 1 + (spec.confirm_weeks if spec.incident else 0))
    return _right(spec, week, fired, inject_week)


def fitted_runbook(observed: Sequence[tuple[DrillSpec, frozenset[str]]]) -> tuple[Rule, ...]:
    """A runbook fitted in hindsight to the drills it will be scored on: for each signal, the
    cause (and its best response) most often behind the drills whose first alert included it;
    signals whose rule is right most often come first. The strongest table a runbook could be."""
    votes: dict[str, dict[tuple[str, Response], int]] = {}
    for spec, first in observed:
        answer: tuple[str, Response] = (spec.root_cause, spec.best)
        for signal in first:
            votes.setdefault(signal, {}).setdefault(answer, 0)
            votes[signal][answer] += 1
    rules = []
    for signal, counts in votes.items():
        # ties go to watching (the cautious entry), then to the drill listed first
        (cause, response), right = max(
            counts.items(), key=lambda kv: (kv[1], kv[0][1] == "wait_and_watch")
        )
        rules.append((right / sum(counts.values()), signal, Rule(signal, cause, response)))
    return tuple(rule for _, _, rule in sorted(rules, key=lambda r: (-r[0], r[1])))
