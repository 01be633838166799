"""The model side of a week: advance a rollout, decide with the trigger policy (and roll back
if it says so), retrain and gate a challenger. Phase 4 decides; phase 2 trains, gates and
moves aliases; phase 3 swaps and guards. This module only sequences them and records why.
"""

from __future__ import annotations

import json

from pydantic import JsonValue

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.files import write_atomically
from phase2_pipelines.evidence import Check, Verdict
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.pipeline import WorkDir
from phase2_pipelines.recalibrate import NotRecalibratable, recalibration_fitter
from phase2_pipelines.registry import CHAMPION, PREVIOUS_CHAMPION, Registry
from phase4_monitoring.trigger_history import (
    LabeledRecord,
    MonitoringHistory,
    Promotion,
    WindowRecord,
)
from phase4_monitoring.triggers import Action, TriggerDecision, decide_trigger
from phase5_capstone.context import Context
from phase5_capstone.events import Draft
from phase5_capstone.faults import LabelShuffle
from phase5_capstone.state import CycleState, RolloutState, StepOutcome
from phase5_capstone.training import (
    Gated,
    Window,
    gate_candidate,
    plan_window,
    register_candidate,
    run_params,
)
from phase5_capstone.weekly import LABELED_FILE, ROLLOUT_FILE, WINDOW_FILE

REPLAY_FILE = "shadow_replay.json"

RETRAIN = "retrain"


def _registry(ctx: Context) -> Registry:
    ctx.configure_mlflow()
    return Registry(ctx.model_name)


def promote_champion(
    ctx: Context,
    week: int,
    state: CycleState,
    version: str,
    reason: str = "canary passed its guardrails",
    *,
    override: bool = False,
) -> CycleState:
    """``version`` becomes champion in the registry and in the service; it serves next week.

    The canary's promotion calls it; so does an operator's hand release (``reason`` says why,
    ``override`` records that no gate and no canary made it).
    """
    registry = _registry(ctx)
    if registry.version_for(CHAMPION) != version:  # a rerun after a kill finds it done
        registry.promote(version, f"capstone week {week}: {reason}", override=override)
    ctx.service.set_rollout("off")
    ctx.service.reload()
    return state.model_copy(
        update={
            "champion": version,
            "previous_champion": state.champion,
            "champion_since": week + 1,
            "rollout": None,
            "promotions": (*state.promotions, (version, week + 1)),
        }
    )


def rollout(ctx: Context, week: int, state: CycleState) -> StepOutcome:
    """After a week of shadow or canary traffic: stop on a guardrail breach, else advance."""
    staged = state.rollout
    if staged is None or week in state.quarantined_weeks:  # no traffic: no evidence this week
        return StepOutcome(week=week, step="rollout", state=state)
    path = ctx.paths.week(week) / ROLLOUT_FILE
    status: dict[str, JsonValue] = json.loads(path.read_text()) if path.exists() else {}
    breach = status.get("last_breach")
    if status.get("mode") == "off" and breach:
        reason = str(breach.get("reason", "")) if isinstance(breach, dict) else str(breach)
        draft = Draft(
            kind="guardrail_rollback",
            summary=f"v{staged.version} in {staged.stage}: a live guardrail fired; the service"
            f" stopped the rollout and retired it; v{state.champion} keeps serving ({reason})",
            model_version=staged.version,
            evidence={"stage": staged.stage, "guardrail": _breached(breach)},
            measured={"breach": breach},
        )
        ctx.service.reload()
        state = state.model_copy(
            update={
                "rollout": None,
                "rolled_back_versions": (*state.rolled_back_versions, staged.version),
                "rejected_weeks": (*state.rejected_weeks, staged.staged_week),
            }
        )
        return StepOutcome(week=week, step="rollout", events=(draft,), state=state)
    weeks = staged.weeks_in_stage + 1
    params = ctx.capstone.rollout
    guardrails = status.get("guardrails")
    if staged.stage == "shadow" and weeks >= params.shadow_weeks:
        ctx.service.set_rollout("canary", params.canary_percent)
        draft = Draft(
            kind="canary_started",
            summary=f"v{staged.version} passed {weeks} week(s) of shadow; it now serves"
            f" {params.canary_percent:g}% of customers",
            model_version=staged.version,
            evidence={"shadow_weeks": weeks, "canary_percent": params.canary_percent},
            measured={"guardrails": guardrails},
        )
        new = RolloutState(version=staged.version, stage="canary", staged_week=staged.staged_week)
        return StepOutcome(
            week=week,
            step="rollout",
            events=(draft,),
            state=state.model_copy(update={"rollout": new}),
        )
    if staged.stage == "canary" and weeks >= params.canary_weeks:
        previous = state.champion
        state = promote_champion(ctx, week, state, staged.version)
        draft = Draft(
            kind="promoted",
            summary=f"v{staged.version} passed {weeks} week(s) of canary; champion from week"
            f" {week + 1} (was v{previous})",
            model_version=staged.version,
            evidence={"canary_weeks": weeks, "previous_champion": previous},
            measured={"guardrails": guardrails},
        )
        return StepOutcome(week=week, step="rollout", events=(draft,), state=state)
    new = staged.model_copy(update={"weeks_in_stage": weeks})
    return StepOutcome(week=week, step="rollout", state=state.model_copy(update={"rollout": new}))


def _breached(breach: JsonValue) -> JsonValue:
    """The guardrail that fired (its name), without its timing-dependent numbers."""
    if not isinstance(breach, dict):
        return None
    verdict = breach.get("verdict")
    if not isinstance(verdict, dict):
        return None
    checks = verdict.get("checks")
    if not isinstance(checks, list):
        return None
    found = [Check.model_validate(c) for c in checks if isinstance(c, dict)]
    return [c.check for c in found if c.verdict is Verdict.ALERT]


def history(ctx: Context, week: int, state: CycleState) -> MonitoringHistory:
    """What the trigger knows at ``week``: every window and labeled week so far, promotions."""
    windows, labeled = [], []
    for w in range(week + 1):
        folder = ctx.paths.week(w)
        if (folder / WINDOW_FILE).exists():
            windows.append(WindowRecord.model_validate_json((folder / WINDOW_FILE).read_bytes()))
        if (folder / LABELED_FILE).exists():
            labeled.append(LabeledRecord.model_validate_json((folder / LABELED_FILE).read_bytes()))
    return MonitoringHistory(
        windows=tuple(windows),
        labeled=tuple(labeled),
        promotions=tuple(Promotion(version=v, week=w) for v, w in state.promotions),
        retrain_weeks=state.retrain_weeks,
        rejected_weeks=state.rejected_weeks,
    )


CHANGE_WEEK = "change_week"
BROKEN = "broken"
ESCALATE = "escalate"
HARM = "harm"
CALIBRATION_HARM = frozenset({"calibration", "segment_calibration"})


def decide(ctx: Context, week: int, state: CycleState) -> StepOutcome:
    """Phase 4's trigger policy on the history; a rollback is carried out at once. A retrain
    request carries what the retrain needs to know: where the harm began, and whether the
    champion is known to be broken."""
    known = history(ctx, week, state)
    decision = decide_trigger(known, ctx.monitoring.triggers, ctx.monitoring.noise_alpha)
    draft = Draft(
        kind="decision",
        summary=decision.summary[:400],
        model_version=decision.model_version,
        evidence={**_decision_evidence(decision), "value_at_stake": value_at_stake(ctx, known)},
    )
    drafts = [draft]
    data: dict[str, JsonValue] = {ESCALATE: decision.escalate}
    if decision.escalate and not _escalated_before(ctx, week):
        drafts.append(
            Draft(
                kind="escalated",
                summary=f"a person must look: {decision.rule('escalation').reason}",
                model_version=decision.model_version,
                evidence={"rejected_weeks": list(decision.rule("escalation").weeks)},
            )
        )
    if decision.action is Action.ROLLBACK and decision.rollback_to is not None:
        state, rolled = rollback(ctx, week, state, decision)
        drafts.append(rolled)
    elif decision.action is Action.RETRAIN:
        if state.rollout is not None:
            drafts.append(
                Draft(
                    kind="retrain_deferred",
                    summary=f"retrain deferred: v{state.rollout.version} is in"
                    f" {state.rollout.stage}",
                    model_version=state.rollout.version,
                )
            )
        else:
            data |= {
                RETRAIN: True,
                CHANGE_WEEK: decision.change_week,
                BROKEN: decision.broken,
                HARM: list[JsonValue](decision.harm),
            }
    return StepOutcome(week=week, step="decide", events=tuple(drafts), state=state, data=data)


def value_at_stake(ctx: Context, known: MonitoringHistory) -> dict[str, JsonValue]:
    """What the champion's latest labeled week says acting is worth: its realized campaign
    value per customer below its holdout's (with the interval), times a week's customers."""
    labeled = known.labeled_by(known.champion, 0)
    if not labeled:
        return {}
    latest = labeled[-1]
    check = next((c for c in latest.quality.checks if c.column == "business_value"), None)
    drop = next((e for e in (check.evidence if check else ()) if e.interval), None)
    if drop is None or drop.interval is None:
        return {}
    customers = ctx.scenario.rows_per_week
    low, high = drop.interval
    return {
        "week": latest.week,
        "value_drop_usd_per_customer": round(drop.value, 3),
        "realized_usd_per_customer": [round(low, 3), round(high, 3)],
        "at_stake_usd_per_week": round(drop.value * customers, 2),
    }


def _escalated_before(ctx: Context, week: int) -> bool:
    """Whether last week's decision already escalated (one event per streak, not per week)."""
    previous = ctx.paths.read_outcome(week - 1, "decide") if week > 0 else None
    return previous is not None and bool(previous.data.get(ESCALATE))


def _decision_evidence(decision: TriggerDecision) -> dict[str, JsonValue]:
    return {
        "action": decision.action.value,
        "fired": [r.brief() for r in decision.reasons],
        "rollback_to": decision.rollback_to,
        "quarantine_weeks": list(decision.quarantine_weeks),
        "change_week": decision.change_week,
        "broken": decision.broken,
        "escalate": decision.escalate,
        "cbpe_refuted": decision.cbpe_refuted,
        "rules": [json.loads(r.model_dump_json()) for r in decision.checks],
    }


def rollback(
    ctx: Context, week: int, state: CycleState, decision: TriggerDecision
) -> tuple[CycleState, Draft]:
    """Restore the previous champion in the registry, then in the service."""
    assert decision.rollback_to is not None
    return roll_back_to(
        ctx,
        week,
        state,
        decision.rollback_to,
        decision.summary[:300],
        "after its labeled weeks regressed",
    )


def roll_back_to(
    ctx: Context, week: int, state: CycleState, target: str, reason: str, why: str
) -> tuple[CycleState, Draft]:
    """``target`` is champion again (registry alias, then the service's reload); it serves from
    next week. The trigger policy's rollback calls it; so does an operator's hand rollback."""
    current = state.champion
    assert current is not None
    registry = _registry(ctx)
    if registry.version_for(CHAMPION) == current:  # a rerun after a kill finds it done
        if registry.version_for(PREVIOUS_CHAMPION) != target:
            registry.client.set_registered_model_alias(ctx.model_name, PREVIOUS_CHAMPION, target)
        registry.rollback(f"capstone week {week}: {reason}")
    ctx.service.reload()
    state = state.model_copy(
        update={
            "champion": target,
            "previous_champion": None,
            "champion_since": week + 1,
            "rolled_back_versions": (*state.rolled_back_versions, current),
            "promotions": (*state.promotions, (target, week + 1)),
        }
    )
    draft = Draft(
        kind="rolled_back",
        summary=f"v{current} rolled back {why}; v{target} serves from week {week + 1}",
        model_version=target,
        evidence={"from": current, "to": target},
    )
    return state, draft


def data_lineage(ctx: Context, work: WorkDir) -> dict[str, JsonValue]:
    """What the model learned from: fingerprints of its frames and the DVC version of the real
    data the world is calibrated on."""
    from phase2_pipelines.stages.ingest import dvc_data_version

    summary = json.loads((work.ingest / "ingest.json").read_text())
    return {
        "train_fingerprint": summary["train_fingerprint"],
        "holdout_fingerprint": summary["holdout_fingerprint"],
        "world_calibrated_on_dvc_md5": dvc_data_version(ctx.settings),
    }


def retrain(
    ctx: Context,
    week: int,
    state: CycleState,
    wanted: bool,
    request: dict[str, JsonValue] | None = None,
) -> StepOutcome:
    """Train candidates on the released labels with phase 2, gate them against the champion on
    the same rows, and stage the best that passes; say why when it waits or when all fail.

    The candidates: a retrain of the configured family, and, when labels show harm since a known
    week and the policy allows, the champion recalibrated per segment (cheap, and often as good
    on the first weeks after a change). Both are judged by the same gate on the same rows.
    """
    if not wanted:
        return StepOutcome(week=week, step="retrain", state=state)
    request = request or {}
    change = request.get(CHANGE_WEEK)
    change = change if isinstance(change, int) else None
    broken = request.get(BROKEN)
    plan = plan_window(ctx, week, state.quarantined_weeks, change)
    if plan is None:
        draft = Draft(kind="retrain_skipped", summary="too few labeled weeks to train on yet")
        return StepOutcome(week=week, step="retrain", events=(draft,), state=state)
    if isinstance(plan, str):
        draft = Draft(
            kind="retrain_waiting",
            summary=f"no retrain launched: {plan}",
            evidence={CHANGE_WEEK: change},
        )
        return StepOutcome(week=week, step="retrain", events=(draft,), state=state)
    state = state.model_copy(update={"retrain_weeks": (*state.retrain_weeks, week)})
    params = run_params(ctx, week, "challenger")
    policy = ctx.capstone.policy
    if policy.evaluation == "crossfit":
        params = params.model_copy(
            update={
                "evaluate": params.evaluate.model_copy(
                    update={"crossfit_folds": policy.crossfit_folds}
                )
            }
        )
    burden = gate_burden(request, policy.broken_champion_burden)
    if burden is not None:
        params = params.model_copy(
            update={
                "gate": params.gate.model_copy(
                    update={"burden": burden[0], "burden_reason": burden[1]}
                )
            }
        )
    scenario = ctx.scenario
    bug = scenario.training_bug(week)
    packaging = scenario.packaging_faults(week)
    candidates = [
        gate_candidate(ctx, "retrain", _work(ctx, week, "pipeline"), params, plan, bug=bug)
    ]
    recalibration = recalibration_candidate(ctx, week, state, plan, params, bug)
    if recalibration is not None:
        candidates.append(recalibration)
    chosen = choose_candidate(candidates)
    registration = register_candidate(ctx, chosen, packaging)
    decision = registration.decision
    faults: list[str] = [f.kind for f in [*([bug] if bug else []), *packaging]]
    run_ids = {"train": registration.run_id} if registration.run_id else {}
    drafts = [_outscored(other, chosen, faults) for other in candidates if other is not chosen]
    evidence: dict[str, JsonValue] = {
        "candidate": chosen.kind,
        **chosen.window.describe(),
        "faults": list[JsonValue](faults),
        "gate": json.loads(decision.model_dump_json()),
        "expected_value": expected_value(ctx, chosen),
        "version": registration.version,
        "data": data_lineage(ctx, chosen.work),
    }
    staged = decision.promote and registration.challenger == registration.version
    if not staged:
        drafts.append(
            Draft(
                kind="candidate_rejected",
                summary=f"v{registration.version} ({chosen.kind}) rejected:"
                f" {decision.summary[:300]}",
                model_version=registration.version,
                evidence=evidence,
                measured={"registration": registration.note},
                run_ids=run_ids,
            )
        )
        if change is not None or broken:  # a fix that failed; a refresh that lost is no failure
            state = state.model_copy(update={"rejected_weeks": (*state.rejected_weeks, week)})
        return StepOutcome(week=week, step="retrain", events=tuple(drafts), state=state)
    ctx.service.reload()
    ctx.service.set_rollout("shadow")
    drafts.append(
        Draft(
            kind="challenger_staged",
            summary=f"v{registration.version} ({chosen.kind}) passed the gate"
            f" ({decision.summary[:200]}); {_next_stage(ctx, week, state)}",
            model_version=registration.version,
            evidence=evidence,
            measured={"registration": registration.note},
            run_ids=run_ids,
        )
    )
    new = RolloutState(version=registration.version, stage="shadow", staged_week=week)
    state = state.model_copy(update={"rollout": new})
    if ctx.capstone.rollout.shadow == "replay" and week not in state.quarantined_weeks:
        state, replayed = replay_shadow(ctx, week, state)
        drafts.append(replayed)
    return StepOutcome(week=week, step="retrain", events=tuple(drafts), state=state)


def gate_burden(request: dict[str, JsonValue], when_broken: str) -> tuple[str, str] | None:
    """The gate's burden for this retrain, with the reason the decision record gives: the burden
    fits the harm. A broken champion (its realized AUC below the floor) asks only that a
    candidate be no worse than it; harm to calibration alone (the ranking held) asks that a
    candidate rank as well and be better calibrated; otherwise the gate's default, superiority."""
    broken = request.get(BROKEN)
    if isinstance(broken, str) and broken and when_broken == "non_inferiority":
        return "non_inferiority", broken
    harm = request.get(HARM)
    found = {str(h) for h in harm} if isinstance(harm, list) else set()
    if found and found <= CALIBRATION_HARM:
        return "calibration", (
            f"the labels show harm to calibration ({', '.join(sorted(found))}) and not to the"
            " ranking: a recalibration that ranks as well and is better calibrated is a fix"
        )
    return None


def _work(ctx: Context, week: int, name: str) -> WorkDir:
    return WorkDir(ctx.paths.week(week) / name)


def _next_stage(ctx: Context, week: int, state: CycleState) -> str:
    if ctx.capstone.rollout.shadow == "replay" and week not in state.quarantined_weeks:
        return "its shadow replays this week's customers now"
    return "shadow from next week"


def recalibration_candidate(
    ctx: Context,
    week: int,
    state: CycleState,
    window: Window,
    params: PipelineParams,
    bug: LabelShuffle | None,
) -> Gated | None:
    """The champion recalibrated per segment on the labels since the change, judged on the same
    rows as the retrain (cross-fitted); None when there is no change, or the policy or the
    champion's kind rule it out."""
    policy = ctx.capstone.policy
    if not policy.recalibrate or window.change_week is None or state.champion is None:
        return None
    try:
        fitter = recalibration_fitter(
            ctx.champion(state.champion).pipeline,
            policy.recalibration_columns,
            policy.recalibration_prior_sd,
        )
    except NotRecalibratable:
        return None
    since = Window(
        train_weeks=(),
        holdout_weeks=window.holdout_weeks,
        train=window.train.iloc[0:0].copy(),
        holdout=window.holdout,
        change_week=window.change_week,
    )
    work = _work(ctx, week, "pipeline-recalibration")
    return gate_candidate(ctx, "recalibration", work, params, since, fitter, bug)


def choose_candidate(candidates: list[Gated]) -> Gated:
    """The candidate to register: among those the gate passed, the one whose lead over the
    champion has the highest lower bound (a recalibration wins ties: it is the smaller change);
    if none passed, the one that came closest, so its rejection is on record."""

    def lead(gated: Gated) -> tuple[float, float]:
        comparison = gated.decision.comparison
        if comparison is None:
            return (float("-inf"), 0.0)
        return (comparison.low, 1.0 if gated.kind == "recalibration" else 0.0)

    passed = [c for c in candidates if c.decision.promote]
    return max(passed or candidates, key=lead)


def _outscored(other: Gated, chosen: Gated, faults: list[str]) -> Draft:
    """A candidate not registered: rejected by the gate, or beaten by the chosen one."""
    comparison = other.decision.comparison
    lead = "" if comparison is None else f"; {comparison.render()}"
    if other.decision.promote:
        kind, what = "candidate_outscored", f"passed the gate but {chosen.kind} led by more"
    else:
        kind, what = "candidate_rejected", f"rejected: {other.decision.summary[:250]}"
    return Draft(
        kind=kind,
        summary=f"{other.kind} candidate {what}{lead}",
        evidence={
            "candidate": other.kind,
            **other.window.describe(),
            "faults": list[JsonValue](faults),
            "gate": json.loads(other.decision.model_dump_json()),
            "registered": False,
        },
    )


def expected_value(ctx: Context, gated: Gated) -> dict[str, JsonValue]:
    """The campaign's value per customer on the judged rows, candidate (at its chosen threshold)
    beside the champion (at its own), and what the difference is worth in a week of customers."""
    import pandas as pd

    from phase2_pipelines.evaluate import net_value

    paired = gated.work.gate / "paired_scores.parquet"
    if not paired.exists():
        return {}
    rows = pd.read_parquet(paired)
    report = json.loads((gated.work.evaluate / "metrics.json").read_text())
    labels = rows[LABEL_COLUMN].to_numpy()
    business = ctx.pipeline.evaluate.business
    version = gated.decision.champion_version
    champion_threshold = ctx.champion(version).threshold if version else 0.5
    candidate = net_value(labels, rows["score"].to_numpy() >= report["threshold"], business)
    champion = net_value(labels, rows["champion_score"].to_numpy() >= champion_threshold, business)
    per_customer = (candidate - champion) / max(len(rows), 1)
    return {
        "rows": len(rows),
        "candidate_threshold": round(float(report["threshold"]), 4),
        "champion_threshold": round(float(champion_threshold), 4),
        "candidate_usd_per_customer": round(candidate / max(len(rows), 1), 3),
        "champion_usd_per_customer": round(champion / max(len(rows), 1), 3),
        "gain_usd_per_week": round(per_customer * ctx.scenario.rows_per_week, 2),
    }


def replay_shadow(ctx: Context, week: int, state: CycleState) -> tuple[CycleState, Draft]:
    """The shadow scores this week's customers again, at once, beside the champion (whose
    answers are the ones kept); its guardrails judge it; then it goes to canary next week."""
    from phase5_capstone.weekly import batch_of

    assert state.rollout is not None
    staged = state.rollout
    frame = batch_of(ctx, week)
    ctx.service.score(frame, ctx.capstone.score_chunk_rows)
    status = ctx.service.settle(len(frame))
    write_atomically(ctx.paths.week(week) / REPLAY_FILE, json.dumps(status), durable=True)
    breach = status.get("last_breach")
    if status.get("mode") == "off" and breach:
        reason = str(breach.get("reason", "")) if isinstance(breach, dict) else str(breach)
        ctx.service.reload()
        state = state.model_copy(
            update={
                "rollout": None,
                "rolled_back_versions": (*state.rolled_back_versions, staged.version),
                "rejected_weeks": (*state.rejected_weeks, staged.staged_week),
            }
        )
        return state, Draft(
            kind="guardrail_rollback",
            summary=f"v{staged.version} in its shadow replay: a live guardrail fired; the service"
            f" retired it; v{state.champion} keeps serving ({reason})",
            model_version=staged.version,
            evidence={"stage": "shadow", "guardrail": _breached(breach)},
            measured={"breach": breach},
        )
    params = ctx.capstone.rollout
    ctx.service.set_rollout("canary", params.canary_percent)
    canary = RolloutState(version=staged.version, stage="canary", staged_week=staged.staged_week)
    return state.model_copy(update={"rollout": canary}), Draft(
        kind="canary_started",
        summary=f"v{staged.version} passed its shadow replay of week {week}'s {len(frame):,}"
        f" customers; it serves {params.canary_percent:g}% of customers from next week",
        model_version=staged.version,
        evidence={"shadow": "replay", "canary_percent": params.canary_percent},
        measured={"guardrails": status.get("guardrails")},
    )
