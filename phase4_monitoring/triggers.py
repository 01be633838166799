"""Retraining triggers: a pure function from a champion's monitoring history to one action.

Every rule (``trigger_rules``) reads the typed evidence the monitor already produced, a
``WindowReport`` for each scored week and a ``QualityReport`` for each week whose labels
arrived (``trigger_history``), and says what it asks for, with the weeks and evidence behind
it. The decision is the most urgent request:

- **quarantine**: the latest week broke the schema or the contract, or flooded nulls or
  duplicates. Page the upstream owner; nothing retrains on broken data, whatever else fires.
- **rollback**: the champion is newer than the one before it, that one was good on its last
  labeled weeks, and the harm began with the champion's first labeled week.
- **retrain**: on schedule; or the realized AUC is below the floor, or has dropped from the
  holdout's by more than a margin, each judged on a one-sided interval bound, never the point;
  or features drifted for ``m`` consecutive weeks and the labeled drifted weeks show harm. A
  retrain started less than ``cooldown_weeks`` ago turns the last two into ``watch``.
- **investigate**: CBPE estimates a drop (a faster look, never a retrain on its own), or a
  realized quality alert below the retrain rule.
- **wait**: the rule that would decide has too few labels yet.
- **watch**: features drifted, and the labels show no harm.
"""

from __future__ import annotations

from pydantic import ConfigDict

from phase2_pipelines.evidence import Decision
from phase4_monitoring.params import TriggerParams
from phase4_monitoring.trigger_history import (
    LabeledRecord,
    MonitoringHistory,
    Promotion,
    WindowRecord,
)
from phase4_monitoring.trigger_rules import (
    URGENCY,
    Action,
    RuleOutcome,
    WeekCheck,
    cbpe_refutation,
    champion_broken,
    change_week,
    data_quality_rule,
    drift_rule,
    escalation_rule,
    estimate_rule,
    performance_rule,
    rollback_rule,
    schedule_rule,
)

__all__ = [
    "Action",
    "LabeledRecord",
    "MonitoringHistory",
    "Promotion",
    "RuleOutcome",
    "TriggerDecision",
    "WeekCheck",
    "WindowRecord",
    "decide_trigger",
]


class TriggerDecision(Decision[RuleOutcome]):
    """The action for this week, every rule's outcome (its ``checks``), and where to send
    people."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    week: int
    model_version: str
    action: Action
    rollback_to: str | None = None
    page_upstream: bool = False
    quarantine_weeks: tuple[int, ...] = ()  # weeks with broken data: never train on them
    change_week: int | None = None  # the first labeled week of the champion's current harm
    broken: str | None = None  # why the champion is known to be broken, if it is
    escalate: bool = False  # retrains keep failing: a person must look
    cbpe_refuted: str | None = None  # labels contradicted the champion's CBPE estimate

    @property
    def reasons(self) -> list[RuleOutcome]:
        """The rules that fired, most urgent first."""
        return sorted((r for r in self.checks if r.fired), key=lambda r: URGENCY[r.action])

    def rule(self, name: str) -> RuleOutcome:
        found = self.named(name)
        if found is None:
            raise KeyError(f"no trigger rule {name!r}")
        return found

    @property
    def harm(self) -> tuple[str, ...]:
        """The realized checks whose harm the retrain answers (empty for a scheduled one)."""
        if self.action is not Action.RETRAIN:
            return ()
        fired = [r for r in self.checks if r.action is Action.RETRAIN]
        return tuple(sorted({check for r in fired for check in r.harm}))

    @property
    def summary(self) -> str:
        why = "; ".join(f"{r.check}: {r.reason}" for r in self.reasons if r.action is self.action)
        return f"{self.action.value.upper()}: {why or 'nothing fired'}"

    def render(self) -> str:
        lines = [f"Trigger decision at week {self.week} (champion v{self.model_version}):"]
        lines.append(f"  {self.summary}")
        if self.rollback_to:
            lines.append(f"  roll back to v{self.rollback_to}")
        if self.page_upstream:
            lines.append("  page the upstream data owner; never train on the quarantined weeks")
        if self.broken:
            lines.append(f"  the champion is broken: {self.broken}")
        if self.escalate:
            lines.append(f"  escalate: {self.rule('escalation').reason}")
        if self.cbpe_refuted:
            lines.append(f"  {self.cbpe_refuted}")
        for outcome in sorted(self.checks, key=lambda r: URGENCY[r.action]):
            lines.append(f"  {outcome}")
            lines += [f"      {e.describe()}" for e in outcome.findings]
        return "\n".join(lines)


def decide_trigger(
    history: MonitoringHistory, policy: TriggerParams, alpha: float = 0.01
) -> TriggerDecision:
    """Every rule on the history, and the most urgent action any of them asks for (``alpha``:
    the monitor's noise level, for the CBPE reconciliation)."""
    rules = (
        data_quality_rule(history),
        rollback_rule(history, policy),
        schedule_rule(history, policy),
        performance_rule(history, policy),
        drift_rule(history, policy),
        estimate_rule(history, alpha),
        escalation_rule(history, policy),
    )
    action = min((r.action for r in rules), key=URGENCY.__getitem__)
    return TriggerDecision(
        week=history.week,
        model_version=history.champion,
        action=action,
        checks=rules,
        rollback_to=history.previous_champion() if action is Action.ROLLBACK else None,
        page_upstream=action is Action.QUARANTINE,
        quarantine_weeks=tuple(w.week for w in history.windows if w.broken),
        change_week=change_week(history, policy),
        broken=champion_broken(history, policy),
        escalate=rules[-1].fired,
        cbpe_refuted=None if (r := cbpe_refutation(history, alpha)) is None else r.describe(),
    )
