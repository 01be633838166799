"""The trigger's rules, one pure function each: what the rule asks for, why, and the evidence.

Each reads the monitor's own findings from a ``MonitoringHistory``; only the performance rule
computes something new, a one-sided interval bound from the standard errors the quality check
recorded. ``triggers.decide_trigger`` picks the most urgent request.
"""

from __future__ import annotations

import math
from enum import StrEnum
from statistics import NormalDist

from pydantic import BaseModel, ConfigDict

from phase4_monitoring.evidence import Check, Evidence, Verdict
from phase4_monitoring.params import TriggerParams
from phase4_monitoring.trigger_history import LabeledRecord, MonitoringHistory, WindowRecord

REALIZED_CHECKS = ("roc_auc", "calibration", "target_drift", "business_value")


class Action(StrEnum):
    """What to do now, most urgent first."""

    QUARANTINE = "quarantine"
    ROLLBACK = "rollback"
    RETRAIN = "retrain"
    INVESTIGATE = "investigate"
    WAIT = "wait"
    WATCH = "watch"
    NONE = "none"


URGENCY = {action: rank for rank, action in enumerate(Action)}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WeekEvidence(_Frozen):
    """A finding of one week: the monitor's own check, or a trigger's interval judgement."""

    week: int
    model_version: str
    finding: Check  # the check's own fields (a subclass's extras are left out)

    def describe(self) -> str:
        column = f" {self.finding.column}" if self.finding.column else ""
        where = f"week {self.week} v{self.model_version} {self.finding.check}{column}"
        return f"{where}: {self.finding.reason}"


class RuleOutcome(_Frozen):
    """What one rule asks for (``none`` when it does not fire), why, and the evidence."""

    rule: str
    action: Action = Action.NONE
    detail: str
    weeks: tuple[int, ...] = ()
    evidence: tuple[WeekEvidence, ...] = ()

    @property
    def fired(self) -> bool:
        return self.action is not Action.NONE

    def __str__(self) -> str:
        return f"[{self.action.value}] {self.rule}: {self.detail}"


def _found(record: WindowRecord | LabeledRecord, checks: list[Check]) -> tuple[WeekEvidence, ...]:
    return tuple(
        WeekEvidence(
            week=record.week,
            model_version=record.model_version,
            finding=Check(
                check=c.check,
                column=c.column,
                verdict=c.verdict,
                reason=c.reason,
                evidence=c.evidence,
            ),
        )
        for c in checks
    )


def _weeks(records: list[LabeledRecord]) -> str:
    if not records:
        return "no weeks"
    first, last = records[0].week, records[-1].week
    return f"week {first}" if first == last else f"weeks {first}-{last}"


def data_quality_rule(history: MonitoringHistory) -> RuleOutcome:
    """A broken week is quarantined and its owner paged; nothing retrains on it."""
    latest = history.windows[-1]
    quality = latest.report.data_quality
    if not latest.broken:
        return RuleOutcome(rule="data_quality", detail="schema, contract, nulls, duplicates ok")
    parts: list[Check] = [quality.schema_check, quality.contract, *quality.nulls]
    failed = [c for c in [*parts, quality.duplicates] if c.verdict in (Verdict.FAIL, Verdict.ALERT)]
    return RuleOutcome(
        rule="data_quality",
        action=Action.QUARANTINE,
        detail=f"week {latest.week}: {quality.reason}; never retrain on broken data",
        weeks=(latest.week,),
        evidence=_found(latest, failed),
    )


def schedule_rule(history: MonitoringHistory, policy: TriggerParams) -> RuleOutcome:
    """Retrain at least every ``schedule_weeks``, counted from the last retrain or promotion."""
    if policy.schedule_weeks == 0:
        return RuleOutcome(rule="schedule", detail="no scheduled retraining")
    since = max(history.served_since(), history.last_retrain() or -1)
    age = history.week - since
    if age < policy.schedule_weeks:
        return RuleOutcome(
            rule="schedule", detail=f"{age} of {policy.schedule_weeks} weeks since week {since}"
        )
    return RuleOutcome(
        rule="schedule",
        action=Action.RETRAIN,
        detail=f"{age} weeks since week {since} (every {policy.schedule_weeks})",
        weeks=(since, history.week),
    )


def _cooled(outcome: RuleOutcome, history: MonitoringHistory, policy: TriggerParams) -> RuleOutcome:
    """A retrain started less than ``cooldown_weeks`` ago: watch instead of retraining again."""
    started = history.last_retrain()
    if outcome.action is not Action.RETRAIN or started is None:
        return outcome
    if history.week - started >= policy.cooldown_weeks:
        return outcome
    detail = f"{outcome.detail} (cooldown: a retrain started at week {started})"
    return outcome.model_copy(update={"action": Action.WATCH, "detail": detail})


def interval_findings(record: LabeledRecord, policy: TriggerParams) -> tuple[Check, bool] | None:
    """The realized AUC against the floor and the holdout, on one-sided interval bounds; and
    whether the point estimates alone would breach them (what too few labels can only hint)."""
    auc_check = next((c for c in record.quality.checks if c.column == "roc_auc"), None)
    if auc_check is None:
        return None
    auc = next((e for e in auc_check.evidence if e.metric == "roc_auc"), None)
    drop = next((e for e in auc_check.evidence if e.metric == "auc_drop"), None)
    if auc is None or drop is None or auc.standard_error is None or drop.standard_error is None:
        return None
    z = NormalDist().inv_cdf(policy.confidence)
    limits = policy.performance
    upper = auc.value + z * auc.standard_error
    lower = drop.value - z * drop.standard_error
    low_auc = Evidence(
        metric="roc_auc_upper_bound",
        value=upper,
        threshold=limits.auc_floor,
        n=auc.n,
        interval=(auc.value - z * auc.standard_error, upper),
        standard_error=auc.standard_error,
        exceeded=math.isfinite(upper) and upper < limits.auc_floor,
    )
    dropped = Evidence(
        metric="auc_drop_lower_bound",
        value=lower,
        threshold=limits.auc_drop,
        n=drop.n,
        n_reference=drop.n_reference,
        interval=(lower, drop.value + z * drop.standard_error),
        standard_error=drop.standard_error,
        exceeded=math.isfinite(lower) and lower > limits.auc_drop,
    )
    reasons = [
        f"roc_auc {auc.value:.3f}, {policy.confidence:.0%} upper bound {upper:.3f}"
        f" {'<' if low_auc.exceeded else '>='} floor {limits.auc_floor:.2f}",
        f"drop from holdout {drop.value:+.3f}, lower bound {lower:+.3f}"
        f" {'>' if dropped.exceeded else '<='} margin {limits.auc_drop:.2f}",
        f"n={auc.n:,}",
    ]
    verdict = Verdict.ALERT if low_auc.exceeded or dropped.exceeded else Verdict.OK
    finding = Check(
        check="trigger",
        column="roc_auc",
        verdict=verdict,
        reason="; ".join(reasons),
        evidence=(low_auc, dropped),
    )
    return finding, auc.value < limits.auc_floor or drop.value > limits.auc_drop


def performance_rule(history: MonitoringHistory, policy: TriggerParams) -> RuleOutcome:
    """The champion's latest labeled week: retrain on a drop its interval proves, else look."""
    labeled = history.labeled_by(history.champion, history.served_since())
    if not labeled:
        return RuleOutcome(rule="performance", detail="no labeled week of the champion yet")
    latest = labeled[-1]
    judged = interval_findings(latest, policy)
    if judged is None:
        return RuleOutcome(rule="performance", detail=f"week {latest.week}: no realized AUC")
    finding, looks_bad = judged
    evidence = _found(latest, [finding])
    if latest.n < policy.min_labels:
        if looks_bad:
            return RuleOutcome(
                rule="performance",
                action=Action.WAIT,
                detail=f"week {latest.week}: {latest.n:,} labels < {policy.min_labels:,};"
                f" {finding.reason}",
                weeks=(latest.week,),
                evidence=evidence,
            )
        return RuleOutcome(rule="performance", detail=f"week {latest.week}: too few labels")
    if finding.verdict is Verdict.ALERT:
        outcome = RuleOutcome(
            rule="performance",
            action=Action.RETRAIN,
            detail=f"week {latest.week}: {finding.reason}",
            weeks=(latest.week,),
            evidence=evidence,
        )
        return _cooled(outcome, history, policy)
    alerts = latest.alerts(REALIZED_CHECKS)
    if alerts:
        return RuleOutcome(
            rule="performance",
            action=Action.INVESTIGATE,
            detail=f"week {latest.week}: realized {', '.join(c.column or '' for c in alerts)}"
            " alert, below the retrain rule",
            weeks=(latest.week,),
            evidence=_found(latest, alerts) + evidence,
        )
    return RuleOutcome(rule="performance", detail=f"week {latest.week}: {finding.reason}")


def drift_run(history: MonitoringHistory, policy: TriggerParams) -> list[WindowRecord]:
    """The champion's latest consecutive weeks with at least ``k`` drifted features."""
    run: list[WindowRecord] = []
    for record in reversed(history.champion_windows()):
        drifted = len(record.report.drift.drifted) >= policy.drift.features
        if record.broken or not drifted or (run and record.week != run[0].week - 1):
            break
        run.insert(0, record)
    return run


def drift_rule(history: MonitoringHistory, policy: TriggerParams) -> RuleOutcome:
    """Sustained drift retrains when the labeled drifted weeks show harm; else watch or wait."""
    run = drift_run(history, policy)
    k, m = policy.drift.features, policy.drift.windows
    if len(run) < m:
        detail = f"{len(run)} of {m} consecutive weeks with {k}+ drifted features"
        return RuleOutcome(rule="drift", detail=detail)
    onset = run[0].week
    evidence = tuple(
        e
        for record in run
        for e in _found(
            record, [f for f in record.report.drift.features if f.verdict is Verdict.ALERT]
        )
    )
    columns = sorted({e.finding.column or "" for e in evidence})
    what = f"{', '.join(columns)} drifted in weeks {onset}-{run[-1].week}"
    weeks = tuple(r.week for r in run)
    if not policy.drift.needs_harm:
        outcome = RuleOutcome(
            rule="drift", action=Action.RETRAIN, detail=what, weeks=weeks, evidence=evidence
        )
        return _cooled(outcome, history, policy)
    labeled = history.labeled_by(history.champion, onset)
    harm = [(r, r.alerts(policy.harm_checks)) for r in labeled]
    harmed = [(r, checks) for r, checks in harm if checks]
    if harmed:
        found = tuple(e for r, checks in harmed for e in _found(r, checks))
        outcome = RuleOutcome(
            rule="drift",
            action=Action.RETRAIN,
            detail=f"{what}; labels show harm in {_weeks([r for r, _ in harmed])}",
            weeks=weeks,
            evidence=evidence + found,
        )
        return _cooled(outcome, history, policy)
    n = sum(r.n for r in labeled)
    if n >= policy.min_labels:
        detail = f"{what}; no harm on {n:,} labels of {_weeks(labeled)}"
        return RuleOutcome(
            rule="drift", action=Action.WATCH, detail=detail, weeks=weeks, evidence=evidence
        )
    detail = f"{what}; {n:,} labels of the drifted weeks so far, {policy.min_labels:,} needed"
    return RuleOutcome(
        rule="drift", action=Action.WAIT, detail=detail, weeks=weeks, evidence=evidence
    )


def estimate_rule(history: MonitoringHistory) -> RuleOutcome:
    """CBPE's estimated drop calls for a faster look, and never retrains on its own."""
    latest = history.windows[-1]
    estimate = latest.report.estimate
    if estimate is None or estimate.drop is None:
        return RuleOutcome(rule="estimate", detail="no CBPE estimate this week")
    drop = estimate.drop
    finding = Check(
        check="estimate",
        column="roc_auc",
        verdict=Verdict.ALERT if drop.exceeded else Verdict.OK,
        reason=estimate.describe() + f"; {drop.describe()}",
        evidence=(drop,),
    )
    if not drop.exceeded:
        return RuleOutcome(rule="estimate", detail=f"CBPE roc_auc {estimate.roc_auc:.3f}: no drop")
    return RuleOutcome(
        rule="estimate",
        action=Action.INVESTIGATE,
        detail=f"week {latest.week}: CBPE roc_auc {estimate.roc_auc:.3f}, {drop.describe()};"
        " look now, retrain only on realized harm",
        weeks=(latest.week,),
        evidence=_found(latest, [finding]),
    )


def rollback_rule(history: MonitoringHistory, policy: TriggerParams) -> RuleOutcome:
    """Roll back when the harm began with a newer champion, and the previous one was good."""
    champion, previous = history.champion, history.previous_champion()
    promoted = history.promotion_of(champion)
    if promoted is None or previous is None:
        return RuleOutcome(rule="rollback", detail=f"no earlier champion than v{champion}")
    if not _newer(champion, previous):
        return RuleOutcome(rule="rollback", detail=f"v{champion} is not newer than v{previous}")
    since = history.labeled_by(champion, promoted.week)
    harmed = [r for r in since if r.alerts(policy.harm_checks)]
    if not harmed:
        return RuleOutcome(rule="rollback", detail=f"no harm on v{champion}'s labeled weeks")
    if harmed[0] is not since[0]:
        detail = f"v{champion} was fine in week {since[0].week}: the harm began later"
        return RuleOutcome(rule="rollback", detail=detail)
    first = promoted.week - policy.rollback.lookback_weeks
    before = history.labeled_by(previous, first, promoted.week - 1)
    n_before = sum(r.n for r in before)
    if any(r.alerts(policy.harm_checks) for r in before) or n_before < policy.min_labels:
        detail = f"v{previous} not shown good before week {promoted.week} ({n_before:,} labels)"
        return RuleOutcome(rule="rollback", detail=detail)
    found = tuple(e for r in harmed for e in _found(r, r.alerts(policy.harm_checks)))
    return RuleOutcome(
        rule="rollback",
        action=Action.ROLLBACK,
        detail=f"v{champion}, promoted at week {promoted.week}, harmed from its first labeled week"
        f" ({_weeks(harmed)}); v{previous} was good on {n_before:,} labels of {_weeks(before)}",
        weeks=tuple(r.week for r in harmed),
        evidence=found,
    )


def _newer(version: str, than: str) -> bool:
    """Registry versions are numbers; a name that is not one counts as newer."""
    if version.isdigit() and than.isdigit():
        return int(version) > int(than)
    return version != than
