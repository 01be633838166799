"""The model side of a week: advance a rollout, decide with the trigger policy (and roll back
if it says so), retrain and gate a challenger. Phase 4 decides; phase 2 trains, gates and
moves aliases; phase 3 swaps and guards. This module only sequences them and records why.
"""

from __future__ import annotations

import json

from pydantic import JsonValue

from phase2_pipelines.pipeline import WorkDir
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
from phase5_capstone.state import CycleState, RolloutState, StepOutcome
from phase5_capstone.training import run_params, train_and_register, training_window
from phase5_capstone.weekly import LABELED_FILE, ROLLOUT_FILE, WINDOW_FILE

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
    return [c.get("guardrail") for c in checks if isinstance(c, dict) and c.get("breached")]


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
    )


def decide(ctx: Context, week: int, state: CycleState) -> StepOutcome:
    """Phase 4's trigger policy on the history; a rollback is carried out at once."""
    decision = decide_trigger(history(ctx, week, state), ctx.monitoring.triggers)
    draft = Draft(
        kind="decision",
        summary=decision.summary[:400],
        model_version=decision.model_version,
        evidence=_decision_evidence(decision),
    )
    drafts = [draft]
    data: dict[str, JsonValue] = {}
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
            data[RETRAIN] = True
    return StepOutcome(week=week, step="decide", events=tuple(drafts), state=state, data=data)


def _decision_evidence(decision: TriggerDecision) -> dict[str, JsonValue]:
    return {
        "action": decision.action.value,
        "fired": [
            {"rule": r.rule, "action": r.action.value, "detail": r.detail, "weeks": list(r.weeks)}
            for r in decision.reasons
        ],
        "rollback_to": decision.rollback_to,
        "quarantine_weeks": list(decision.quarantine_weeks),
        "rules": [json.loads(r.model_dump_json()) for r in decision.rules],
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


def retrain(ctx: Context, week: int, state: CycleState, wanted: bool) -> StepOutcome:
    """Train a challenger on the released labels with phase 2, gate it, stage it in shadow."""
    if not wanted:
        return StepOutcome(week=week, step="retrain", state=state)
    state = state.model_copy(update={"retrain_weeks": (*state.retrain_weeks, week)})
    window = training_window(ctx, week, state.quarantined_weeks)
    if window is None:
        draft = Draft(kind="retrain_skipped", summary="too few labeled weeks to train on yet")
        return StepOutcome(week=week, step="retrain", events=(draft,), state=state)
    scenario = ctx.scenario
    bug = scenario.training_bug(week)
    packaging = scenario.packaging_faults(week)
    work = WorkDir(ctx.paths.week(week) / "pipeline")
    registration = train_and_register(
        ctx, work, run_params(ctx, week, "challenger"), window, bug, packaging
    )
    decision = registration.decision
    evidence: dict[str, JsonValue] = {
        "train_weeks": list(window.train_weeks),
        "holdout_weeks": list(window.holdout_weeks),
        "train_rows": len(window.train),
        "holdout_rows": len(window.holdout),
        "faults": [f.kind for f in [*([bug] if bug else []), *packaging]],
        "gate": json.loads(decision.model_dump_json()),
        "version": registration.version,
        "data": data_lineage(ctx, work),
    }
    staged = decision.promote and registration.challenger == registration.version
    run_ids = {"train": registration.run_id} if registration.run_id else {}
    if not staged:
        draft = Draft(
            kind="candidate_rejected",
            summary=f"v{registration.version} rejected: {decision.summary[:300]}",
            model_version=registration.version,
            evidence=evidence,
            measured={"registration": registration.note},
            run_ids=run_ids,
        )
        return StepOutcome(week=week, step="retrain", events=(draft,), state=state)
    ctx.service.reload()
    ctx.service.set_rollout("shadow")
    draft = Draft(
        kind="challenger_staged",
        summary=f"v{registration.version} passed the gate ({decision.summary[:200]}); shadow"
        " from next week",
        model_version=registration.version,
        evidence=evidence,
        measured={"registration": registration.note},
        run_ids=run_ids,
    )
    new = RolloutState(version=registration.version, stage="shadow", staged_week=week)
    return StepOutcome(
        week=week, step="retrain", events=(draft,), state=state.model_copy(update={"rollout": new})
    )
