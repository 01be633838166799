"""The trigger's rules, one pure function each: what the rule asks for, why, and the evidence.

Each reads the monitor's own findings from a ``MonitoringHistory``; only the performance rule
computes something new, a one-sided interval bound from the standard errors the quality check
recorded. ``triggers.decide_trigger`` picks the most urgent request.
"""

from __future__ import annotations

import math
from enum import StrEnum
from statistics import NormalDist
from typing import get_args

from pydantic import BaseModel, ConfigDict, JsonValue

from phase2_pipelines.evidence import Check, Evidence, Verdict, worst
from phase2_pipelines.stats import InverseVarianceMean
from phase4_monitoring.params import HarmCheck, TriggerParams
from phase4_monitoring.trigger_history import LabeledRecord, MonitoringHistory, WindowRecord

# The checks that judge realized quality (labels), as params.yaml may name them.
REALIZED_CHECKS: tuple[HarmCheck, ...] = get_args(HarmCheck)


SEGMENT_PREFIX = "segment_"


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


class WeekCheck(Check):
    """A check of one week, by the model that served it: the monitor's own check (its base
    fields; a subclass's extras are left out), or a trigger's interval judgement."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    week: int
    model_version: str

    def describe(self) -> str:
        column = f" {self.column}" if self.column else ""
        where = f"week {self.week} v{self.model_version} {self.check}{column}"
        return f"{where}: {self.reason}"


class RuleOutcome(Check):
    """What one rule (``check``) asks for (``action``; ``none`` when it does not fire), why
    (``reason``), on which weeks, and the weeks' checks it rests on (``findings``).

    Its ``verdict`` is what the evidence shows, which the action need not follow: a scheduled
    retrain shows nothing (ok); harm during a cooldown is still an alert, watched, not acted on.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    verdict: Verdict = Verdict.OK
    action: Action = Action.NONE
    weeks: tuple[int, ...] = ()
    findings: tuple[WeekCheck, ...] = ()
    harm: tuple[str, ...] = ()  # the realized checks whose harm this rule acts on

    @property
    def fired(self) -> bool:
        return self.action is not Action.NONE

    def __str__(self) -> str:
        return f"[{self.action.value}] {self.check}: {self.reason}"

    def brief(self) -> dict[str, JsonValue]:
        """The outcome without its findings, as JSON: what an event log keeps of a rule."""
        brief: dict[str, JsonValue] = self.model_dump(
            mode="json", include={"check", "verdict", "action", "reason", "weeks"}
        )
        return brief


def _found(record: WindowRecord | LabeledRecord, checks: list[Check]) -> tuple[WeekCheck, ...]:
    return tuple(
        WeekCheck(
            week=record.week,
            model_version=record.model_version,
            check=c.check,
            column=c.column,
            verdict=c.verdict,
            reason=c.reason,
            evidence=c.evidence,
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
        return RuleOutcome(check="data_quality", reason="schema, contract, nulls, duplicates ok")
    parts: list[Check] = [quality.schema_check, quality.contract, *quality.nulls]
    failed = [c for c in [*parts, quality.duplicates] if c.verdict in (Verdict.FAIL, Verdict.ALERT)]
    return RuleOutcome(
        check="data_quality",
        verdict=worst(c.verdict for c in failed),
        action=Action.QUARANTINE,
        reason=f"week {latest.week}: {quality.reason}; never retrain on broken data",
        weeks=(latest.week,),
        findings=_found(latest, failed),
    )


def clock_start(history: MonitoringHistory, policy: TriggerParams) -> int:
    """Where the schedule and the cooldown count from: the champion's promotion, or (with
    ``clock_from: retrain``) also the latest retrain, promoted or not."""
    since = history.served_since()
    if policy.clock_from == "retrain":
        since = max(since, history.last_retrain() or -1)
    return since


def schedule_rule(history: MonitoringHistory, policy: TriggerParams) -> RuleOutcome:
    """The backstop: a champion older than ``schedule_weeks`` is challenged by a retrain on the
    newest labels, whatever the monitors say, in case they missed a change too slow or too
    small for any of them. The clock is the champion's age, so a rejected scheduled retrain
    does not reset it: while the champion stays overdue it is challenged again every
    ``cooldown_weeks``, each time on newer weeks. (With ``clock_from: retrain``, the policy
    before issue 17, any retrain restarted the clock, so a rejected one put the next try a whole
    schedule away.)"""
    if policy.schedule_weeks == 0:
        return RuleOutcome(check="schedule", reason="no scheduled retraining")
    since = clock_start(history, policy)
    age = history.week - since
    if age < policy.schedule_weeks:
        return RuleOutcome(
            check="schedule", reason=f"{age} of {policy.schedule_weeks} weeks since week {since}"
        )
    tried = history.last_retrain()
    recent = tried is not None and tried >= since and history.week - tried < policy.cooldown_weeks
    if policy.clock_from == "promotion" and tried is not None and recent:
        return RuleOutcome(
            check="schedule",
            reason=f"overdue ({age} weeks since week {since}); challenged in week {tried},"
            f" next in week {tried + policy.cooldown_weeks}",
        )
    return RuleOutcome(
        check="schedule",
        action=Action.RETRAIN,
        reason=f"{age} weeks since week {since} (every {policy.schedule_weeks})",
        weeks=(since, history.week),
    )


def _cooled(outcome: RuleOutcome, history: MonitoringHistory, policy: TriggerParams) -> RuleOutcome:
    """A model was promoted (or, with ``clock_from: retrain``, a retrain started) less than
    ``cooldown_weeks`` ago: watch instead of retraining again. A rejected retrain starts no
    cooldown: the next week may try again, on more labels; but once ``escalate_after`` retrains
    in a row have failed, the tries back off (``backoff_weeks``) while a person looks."""
    if outcome.action is not Action.RETRAIN:
        return outcome
    if policy.clock_from == "promotion":
        promotion = history.promotion_of(history.champion)
        started = promotion.week - 1 if promotion is not None and promotion.week > 0 else None
        what = "promoted, serving from week"
        shown = None if promotion is None else promotion.week
    else:
        started = history.last_retrain()
        what, shown = "a retrain started at week", started
    if started is not None and history.week - started < policy.cooldown_weeks:
        who = f"v{history.champion} " if policy.clock_from == "promotion" else ""
        detail = f"{outcome.reason} (cooldown: {who}{what} {shown})"
        return outcome.model_copy(update={"action": Action.WATCH, "reason": detail})
    streak = history.rejections_in_a_row()
    wait = backoff_weeks(len(streak), policy)
    if wait and history.week - streak[-1] < wait:
        detail = (
            f"{outcome.reason} (backing off: {len(streak)} retrains in a row failed, the"
            f" latest in week {streak[-1]}; next try in week {streak[-1] + wait})"
        )
        return outcome.model_copy(update={"action": Action.WATCH, "reason": detail})
    return outcome


def backoff_weeks(failures: int, policy: TriggerParams) -> int:
    """Weeks between tries once retrains keep failing: none until ``escalate_after`` failures in
    a row, then 1, 2, 4, ... (exponential backoff), never more than ``cooldown_weeks``."""
    if not policy.escalate_after or failures < policy.escalate_after:
        return 0
    return int(min(2 ** (failures - policy.escalate_after), policy.cooldown_weeks))


class PooledAuc(_Frozen):
    """The champion's realized AUC over its latest labeled weeks, against its holdout."""

    weeks: tuple[int, ...]
    n: int
    auc: float
    auc_se: float  # of the pooled AUC (each week's DeLong error)
    drop: float
    drop_se: float  # of the pooled drop: the weeks' errors had nothing changed, and the holdout's

    def bounds(self, z: float) -> tuple[float, float, float, float]:
        """(AUC low, AUC high, drop low, drop high) at ``z``."""
        return (
            self.auc - z * self.auc_se,
            self.auc + z * self.auc_se,
            self.drop - z * self.drop_se,
            self.drop + z * self.drop_se,
        )


def _auc_evidence(record: LabeledRecord) -> dict[str, Evidence] | None:
    check = next((c for c in record.quality.checks if c.column == "roc_auc"), None)
    if check is None:
        return None
    found = {e.metric: e for e in check.evidence}
    needed = ("roc_auc", "auc_drop")
    if any(found.get(m) is None or found[m].standard_error is None for m in needed):
        return None
    return found


def pooled_auc(records: list[LabeledRecord]) -> PooledAuc | None:
    """Inverse-variance pooling of the weeks' AUCs and drops. The holdout's own error is common
    to every week, so it is added once, after pooling, not divided by the number of weeks."""
    found = [(r, e) for r in records if (e := _auc_evidence(r)) is not None]
    if not found:
        return None
    holdout = found[-1][1].get("holdout_roc_auc")
    base_se = holdout.standard_error if holdout and holdout.standard_error else 0.0
    weeks = []  # a week's AUC and drop, each with its own error, or neither
    for _, e in found:
        auc_se = e["roc_auc"].standard_error or float("inf")
        drop_se = e["auc_drop"].standard_error or float("inf")
        week_se = math.sqrt(max(drop_se**2 - base_se**2, 1e-12))
        if math.isfinite(auc_se) and math.isfinite(week_se) and auc_se != 0:
            weeks.append(((e["roc_auc"].value, auc_se), (e["auc_drop"].value, week_se)))
    auc = InverseVarianceMean.of(pair for pair, _ in weeks)
    drop = InverseVarianceMean.of(pair for _, pair in weeks)
    if auc is None or drop is None:
        return None
    return PooledAuc(
        weeks=tuple(r.week for r, _ in found),
        n=sum(r.n for r, _ in found),
        auc=auc.mean,
        auc_se=auc.standard_error,
        drop=drop.mean,
        drop_se=math.sqrt(1 / drop.weight + base_se**2),
    )


def interval_findings(
    records: list[LabeledRecord], policy: TriggerParams
) -> tuple[Check, PooledAuc] | None:
    """The realized AUC against the floor and the holdout, on one-sided interval bounds, in three
    states: harm shown (a bound clears its limit), no harm shown (the interval keeps clear of
    both limits), or not enough evidence (it straddles one).

    The weeks are scanned as pools ending at the latest labeled week, the latest alone, then the
    latest two, and so on: a sudden drop shows in the short pools before older, healthy weeks
    dilute it, a sustained small drop only in the long ones. Every pool is judged at a
    Bonferroni-corrected level, so the scan fires no more often than one look would.
    """
    pools = [pooled_auc(records[-size:]) for size in range(1, len(records) + 1)]
    found = [p for p in pools if p is not None]
    if not found:
        return None
    z = NormalDist().inv_cdf(1 - (1 - policy.confidence) / len(found))
    judged = [_judge_pool(pool, policy, z) for pool in found]
    fired = [j for j in judged if j[0].verdict is Verdict.ALERT]
    return fired[0] if fired else judged[-1]


def _judge_pool(pooled: PooledAuc, policy: TriggerParams, z: float) -> tuple[Check, PooledAuc]:
    limits = policy.performance
    auc_low, auc_high, drop_low, drop_high = pooled.bounds(z)
    low_auc = Evidence(
        metric="roc_auc_upper_bound",
        value=auc_high,
        threshold=limits.auc_floor,
        n=pooled.n,
        interval=(auc_low, auc_high),
        standard_error=pooled.auc_se,
        exceeded=auc_high < limits.auc_floor,
    )
    dropped = Evidence(
        metric="auc_drop_lower_bound",
        value=drop_low,
        threshold=limits.auc_drop,
        n=pooled.n,
        interval=(drop_low, drop_high),
        standard_error=pooled.drop_se,
        exceeded=drop_low > limits.auc_drop,
    )
    where = _weeks_of(pooled.weeks)
    confidence = NormalDist().cdf(z)
    reasons = [
        f"roc_auc {pooled.auc:.3f} on {pooled.n:,} labels of {where}, {confidence:.1%}"
        f" upper bound {auc_high:.3f} {'<' if low_auc.exceeded else '>='} floor"
        f" {limits.auc_floor:.2f}",
        f"drop from holdout {pooled.drop:+.3f}, bounds [{drop_low:+.3f}, {drop_high:+.3f}] vs"
        f" margin {limits.auc_drop:.2f}",
    ]
    if low_auc.exceeded or dropped.exceeded:
        verdict = Verdict.ALERT
    elif drop_high <= limits.auc_drop and auc_low >= limits.auc_floor:
        verdict = Verdict.OK
    else:
        verdict = Verdict.INSUFFICIENT
    finding = Check(
        check="trigger",
        column="roc_auc",
        verdict=verdict,
        reason="; ".join(reasons),
        evidence=(low_auc, dropped),
    )
    return finding, pooled


def _weeks_of(weeks: tuple[int, ...]) -> str:
    return f"week {weeks[0]}" if len(weeks) == 1 else f"weeks {weeks[0]}-{weeks[-1]}"


def champion_pool(history: MonitoringHistory, policy: TriggerParams) -> list[LabeledRecord]:
    """The champion's latest ``pool_weeks`` labeled weeks since it began serving."""
    labeled = history.labeled_by(history.champion, history.served_since())
    return labeled[-policy.performance.pool_weeks :]


def champion_broken(history: MonitoringHistory, policy: TriggerParams) -> str | None:
    """Why the champion is known to be broken (its pooled realized AUC's upper bound is below
    the floor), or None."""
    judged = interval_findings(champion_pool(history, policy), policy)
    if judged is None:
        return None
    finding, pooled = judged
    low_auc = finding.evidence[0]
    if not low_auc.exceeded:
        return None
    return (
        f"v{history.champion}'s realized roc_auc {pooled.auc:.3f} on {pooled.n:,} labels of"
        f" {_weeks_of(pooled.weeks)} has its upper bound {low_auc.value:.3f} below the floor"
        f" {policy.performance.auc_floor:.2f}"
    )


def change_week(history: MonitoringHistory, policy: TriggerParams) -> int | None:
    """The first labeled week of the champion's current harm: walking back from its latest
    labeled week, the earliest of the weeks in a row whose realized checks show harm."""
    checks = (*policy.harm_checks, *policy.performance.act_on)
    labeled = history.labeled_by(history.champion, history.served_since())
    first = None
    for record in reversed(labeled):
        if not record.alerts(checks):
            break
        first = record.week
    if first is None:
        judged = interval_findings(champion_pool(history, policy), policy)
        if judged is not None and judged[0].verdict is Verdict.ALERT:
            first = judged[1].weeks[0]
    return first


def performance_rule(history: MonitoringHistory, policy: TriggerParams) -> RuleOutcome:
    """The champion's latest labeled weeks, pooled: retrain on a drop or a broken floor their
    interval proves, or on a realized alert of ``act_on``; wait while the evidence is short."""
    pool = champion_pool(history, policy)
    if not pool:
        return RuleOutcome(
            check="performance",
            verdict=Verdict.SKIPPED,
            reason="no labeled week of the champion yet",
        )
    latest = pool[-1]
    judged = interval_findings(pool, policy)
    if judged is None:
        return RuleOutcome(
            check="performance",
            verdict=Verdict.SKIPPED,
            reason=f"week {latest.week}: no realized AUC",
        )
    finding, pooled = judged
    evidence = _found(latest, [finding])
    acting = latest.alerts(policy.performance.act_on)
    if pooled.n < policy.min_labels:
        return RuleOutcome(
            check="performance",
            verdict=Verdict.INSUFFICIENT,
            action=Action.WAIT,
            reason=f"not enough evidence: {pooled.n:,} labels < {policy.min_labels:,};"
            f" {finding.reason}",
            weeks=pooled.weeks,
            findings=evidence,
        )
    if finding.verdict is Verdict.ALERT or acting:
        what = [finding.reason] if finding.verdict is Verdict.ALERT else []
        what += [f"{c.column}: {c.reason}" for c in acting]
        harmed = (("roc_auc",) if finding.verdict is Verdict.ALERT else ()) + tuple(
            c.column or "" for c in acting
        )
        outcome = RuleOutcome(
            check="performance",
            verdict=Verdict.ALERT,
            action=Action.RETRAIN,
            reason=f"harm shown in {_weeks_of(pooled.weeks)}: {'; '.join(what)}",
            weeks=pooled.weeks,
            findings=evidence + _found(latest, acting),
            harm=harmed,
        )
        return _cooled(outcome, history, policy)
    alerts = latest.alerts(REALIZED_CHECKS)
    if alerts:
        return RuleOutcome(
            check="performance",
            verdict=Verdict.ALERT,
            action=Action.INVESTIGATE,
            reason=f"week {latest.week}: realized {', '.join(c.column or '' for c in alerts)}"
            " alert, not one the policy retrains on",
            weeks=(latest.week,),
            findings=_found(latest, alerts) + evidence,
        )
    if finding.verdict is Verdict.INSUFFICIENT:
        return RuleOutcome(
            check="performance",
            verdict=Verdict.INSUFFICIENT,
            action=Action.WAIT,
            reason=f"not enough evidence either way: {finding.reason}",
            weeks=pooled.weeks,
            findings=evidence,
        )
    return RuleOutcome(check="performance", reason=f"no harm shown: {finding.reason}")


def escalation_rule(history: MonitoringHistory, policy: TriggerParams) -> RuleOutcome:
    """After ``escalate_after`` rejected retrains in a row, a person must look: the policy
    keeps trying, and says that it is not succeeding."""
    streak = history.rejections_in_a_row()
    if policy.escalate_after == 0 or len(streak) < policy.escalate_after:
        return RuleOutcome(check="escalation", reason=f"{len(streak)} rejected retrain(s) in a row")
    return RuleOutcome(
        check="escalation",
        verdict=Verdict.ALERT,
        action=Action.INVESTIGATE,
        reason=f"{len(streak)} retrains in a row rejected (weeks"
        f" {', '.join(str(w) for w in streak)}): the policy cannot fix this alone, a person must"
        " look (the data, the features, the floors, the model family)",
        weeks=streak,
    )


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
        return RuleOutcome(check="drift", reason=detail)
    onset = run[0].week
    evidence = tuple(
        e
        for record in run
        for e in _found(
            record, [f for f in record.report.drift.features if f.verdict is Verdict.ALERT]
        )
    )
    columns = sorted({e.column or "" for e in evidence})
    what = f"{', '.join(columns)} drifted in weeks {onset}-{run[-1].week}"
    weeks = tuple(r.week for r in run)
    if not policy.drift.needs_harm:
        outcome = RuleOutcome(
            check="drift",
            verdict=Verdict.ALERT,
            action=Action.RETRAIN,
            reason=what,
            weeks=weeks,
            findings=evidence,
        )
        return _cooled(outcome, history, policy)
    labeled = history.labeled_by(history.champion, onset)
    harm = [(r, r.alerts(policy.harm_checks)) for r in labeled]
    harmed = [(r, checks) for r, checks in harm if checks]
    if harmed:
        found = tuple(e for r, checks in harmed for e in _found(r, checks))
        outcome = RuleOutcome(
            check="drift",
            verdict=Verdict.ALERT,
            action=Action.RETRAIN,
            reason=f"{what}; labels show harm in {_weeks([r for r, _ in harmed])}",
            weeks=weeks,
            findings=evidence + found,
            harm=tuple(sorted({c.column or "" for _, checks in harmed for c in checks})),
        )
        return _cooled(outcome, history, policy)
    n = sum(r.n for r in labeled)
    unsure_checks = [
        (r.week, c.column or "")
        for r in labeled
        for c in r.quality.checks
        if c.column in policy.harm_checks and c.verdict is Verdict.INSUFFICIENT
    ]
    # A segment too small to judge is a caveat, not a veto: the overall checks decide "no harm".
    unsure = [f"week {w} {c}" for w, c in unsure_checks if not c.startswith(SEGMENT_PREFIX)]
    small = sorted({c for _, c in unsure_checks if c.startswith(SEGMENT_PREFIX)})
    if n >= policy.min_labels and not unsure:
        caveat = f" (too few labels to judge {', '.join(small)})" if small else ""
        detail = f"{what}; no harm shown on {n:,} labels of {_weeks(labeled)}{caveat}"
        return RuleOutcome(
            check="drift", action=Action.WATCH, reason=detail, weeks=weeks, findings=evidence
        )
    if unsure:
        detail = f"{what}; not enough evidence yet ({', '.join(unsure[:4])} too uncertain)"
    else:
        detail = f"{what}; {n:,} labels of the drifted weeks so far, {policy.min_labels:,} needed"
    return RuleOutcome(
        check="drift",
        verdict=Verdict.INSUFFICIENT,
        action=Action.WAIT,
        reason=detail,
        weeks=weeks,
        findings=evidence,
    )


class Refutation(_Frozen):
    """Labels that contradicted CBPE for one model: the week, what it estimated, what came."""

    version: str
    week: int
    estimated: float
    realized: float
    band: tuple[float, float]

    def describe(self) -> str:
        low, high = self.band
        return (
            f"CBPE refuted for v{self.version} by week {self.week}'s labels: realized roc_auc"
            f" {self.realized:.3f} outside [{low:.3f}, {high:.3f}] around its estimate"
            f" {self.estimated:.3f}; the estimate is not trusted for this model until it is"
            " recalibrated (retrained or recalibrated: a new version)"
        )


def cbpe_refutation(history: MonitoringHistory, alpha: float) -> Refutation | None:
    """The champion's first labeled week whose realized AUC left the band CBPE gave for that
    same week. Each band is widened for the number of weeks compared (Bonferroni), so over a
    long healthy run a refutation stays an alpha-level event, not a weekly coin toss."""
    windows = {w.week: w for w in history.windows if w.model_version == history.champion}
    pairs = []
    for record in history.labeled_by(history.champion, 0):
        window = windows.get(record.week)
        auc = record.quality.metrics.get("roc_auc")
        estimate = None if window is None else window.report.estimate
        if estimate is None or auc is None or not math.isfinite(auc):
            continue
        pairs.append((record.week, estimate, float(auc)))
    if not pairs:
        return None
    z_band = NormalDist().inv_cdf(1 - alpha / 2)
    z = NormalDist().inv_cdf(1 - alpha / (2 * len(pairs)))
    for week, estimate, auc in pairs:
        low, high = estimate.roc_auc_band
        half = (high - low) / 2 * z / z_band
        band = (estimate.roc_auc - half, estimate.roc_auc + half)
        if not band[0] <= auc <= band[1]:
            return Refutation(
                version=history.champion,
                week=week,
                estimated=estimate.roc_auc,
                realized=auc,
                band=band,
            )
    return None


def estimate_rule(history: MonitoringHistory, alpha: float = 0.01) -> RuleOutcome:
    """CBPE's estimated drop calls for a faster look, and never retrains on its own; once the
    labels have refuted it for this model, it asks for nothing and says so."""
    refuted = cbpe_refutation(history, alpha)
    if refuted is not None:
        return RuleOutcome(
            check="estimate",
            verdict=Verdict.SKIPPED,
            reason=refuted.describe(),
            weeks=(refuted.week,),
        )
    latest = history.windows[-1]
    estimate = latest.report.estimate
    if estimate is None or estimate.drop is None:
        return RuleOutcome(
            check="estimate", verdict=Verdict.SKIPPED, reason="no CBPE estimate this week"
        )
    drop = estimate.drop
    finding = Check(
        check="estimate",
        column="roc_auc",
        verdict=Verdict.ALERT if drop.exceeded else Verdict.OK,
        reason=estimate.describe() + f"; {drop.describe()}",
        evidence=(drop,),
    )
    if not drop.exceeded:
        return RuleOutcome(check="estimate", reason=f"CBPE roc_auc {estimate.roc_auc:.3f}: no drop")
    return RuleOutcome(
        check="estimate",
        verdict=Verdict.ALERT,
        action=Action.INVESTIGATE,
        reason=f"week {latest.week}: CBPE roc_auc {estimate.roc_auc:.3f}, {drop.describe()};"
        " look now, retrain only on realized harm",
        weeks=(latest.week,),
        findings=_found(latest, [finding]),
    )


def rollback_rule(history: MonitoringHistory, policy: TriggerParams) -> RuleOutcome:
    """Roll back when the harm began with a newer champion, and the previous one was good."""
    champion, previous = history.champion, history.previous_champion()
    promoted = history.promotion_of(champion)
    if promoted is None or previous is None:
        return RuleOutcome(
            check="rollback",
            verdict=Verdict.SKIPPED,
            reason=f"no earlier champion than v{champion}",
        )
    if not _newer(champion, previous):
        return RuleOutcome(
            check="rollback",
            verdict=Verdict.SKIPPED,
            reason=f"v{champion} is not newer than v{previous}",
        )
    since = history.labeled_by(champion, promoted.week)
    harmed = [r for r in since if r.alerts(policy.harm_checks)]
    if not harmed:
        return RuleOutcome(check="rollback", reason=f"no harm on v{champion}'s labeled weeks")
    if harmed[0] is not since[0]:
        detail = f"v{champion} was fine in week {since[0].week}: the harm began later"
        return RuleOutcome(check="rollback", reason=detail)
    first = promoted.week - policy.rollback.lookback_weeks
    before = history.labeled_by(previous, first, promoted.week - 1)
    n_before = sum(r.n for r in before)
    if any(r.alerts(policy.harm_checks) for r in before) or n_before < policy.min_labels:
        detail = f"v{previous} not shown good before week {promoted.week} ({n_before:,} labels)"
        return RuleOutcome(check="rollback", verdict=Verdict.INSUFFICIENT, reason=detail)
    found = tuple(e for r in harmed for e in _found(r, r.alerts(policy.harm_checks)))
    return RuleOutcome(
        check="rollback",
        verdict=Verdict.ALERT,
        action=Action.ROLLBACK,
        reason=f"v{champion}, promoted at week {promoted.week}, harmed from its first labeled week"
        f" ({_weeks(harmed)}); v{previous} was good on {n_before:,} labels of {_weeks(before)}",
        weeks=tuple(r.week for r in harmed),
        findings=found,
    )


def _newer(version: str, than: str) -> bool:
    """Registry versions are numbers; a name that is not one counts as newer."""
    if version.isdigit() and than.isdigit():
        return int(version) > int(than)
    return version != than
