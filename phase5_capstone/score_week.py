"""The score step: every accepted customer of the week through the running service, and a check
that only the versions that should serve did (a replica left on an old version shows up here).

During a rollout, each week's traffic is one guardrail experiment: the step starts a fresh plan
of the same stage before it sends the week, so the service's evidence (its calls, errors and
scores) is exactly this week's. A step cut short by a kill runs again from its start with a
fresh plan too, so nothing the killed attempt counted is counted again: the evidence, and the
decision it feeds, are rebuilt identically.
"""

from __future__ import annotations

import pandas as pd
from pydantic import JsonValue

from phase1_foundations.contract import ID_COLUMN
from phase1_foundations.files import write_atomically
from phase3_serving.rollout import canary_bucket
from phase5_capstone.context import STALE_ALIAS, Context
from phase5_capstone.events import Draft
from phase5_capstone.serving import Scored
from phase5_capstone.state import CycleState, StepOutcome
from phase5_capstone.weekly import ROLLOUT_FILE, SCORES_FILE, accepted_of


def score_batch(
    ctx: Context, week: int, state: CycleState, frame: pd.DataFrame
) -> tuple[Scored, int]:
    """Through the service; with a stale replica, its share of customers goes there instead.
    Returns the answers and how many customers the (up-to-date) service scored."""
    chunk = ctx.capstone.score_chunk_rows
    fault = ctx.scenario.stale_replica(week)
    if fault is None:
        return ctx.service.score(frame, chunk), len(frame)
    pin_stale_replica(ctx, state)
    to_replica = (frame[ID_COLUMN].map(canary_bucket) < fault.share_percent).to_numpy()
    main = ctx.service.score(frame[~to_replica], chunk)
    replica = ctx.stale_replica.score(frame[to_replica], chunk)
    both = pd.concat([main.frame, replica.frame]).set_index(ID_COLUMN).loc[frame[ID_COLUMN]]
    return Scored(both.reset_index(), main.seconds + replica.seconds), len(main.frame)


def pin_stale_replica(ctx: Context, state: CycleState) -> None:
    """The replica's version is pinned once, when the fault begins, and survives restarts."""
    from phase2_pipelines.registry import Registry

    ctx.configure_mlflow()
    registry = Registry(ctx.model_name)
    if registry.version_for(STALE_ALIAS) is None and state.champion is not None:
        registry.client.set_registered_model_alias(ctx.model_name, STALE_ALIAS, state.champion)


def version_skew(state: CycleState, served: pd.Series) -> Draft | None:
    """Customers served by a version that is neither the champion nor a canary challenger."""
    expected = {state.champion}
    if state.rollout is not None and state.rollout.stage == "canary":
        expected.add(state.rollout.version)
    stray = {str(v): int(n) for v, n in served.items() if str(v) not in expected}
    if not stray:
        return None
    return Draft(
        kind="version_skew",
        summary=f"{sum(stray.values()):,} customers served by"
        f" {', '.join(f'v{v}' for v in sorted(stray))}, which should not serve: a replica is"
        " on an old version",
        model_version=state.champion,
        evidence={"unexpected": dict(stray), "expected": sorted(v for v in expected if v)},
    )


def start_week_of_rollout(ctx: Context, state: CycleState) -> None:
    """A fresh plan of the rollout's stage: the service counts this week's traffic alone."""
    staged = state.rollout
    if staged is None:
        return
    percent = ctx.capstone.rollout.canary_percent if staged.stage == "canary" else 0.0
    ctx.service.set_rollout(staged.stage, percent)


def score(ctx: Context, week: int, state: CycleState) -> StepOutcome:
    """Every accepted customer of the week through the real service (a held batch: none); the
    answers kept per week."""
    if week in state.quarantined_weeks:
        return StepOutcome(week=week, step="score", state=state)
    start_week_of_rollout(ctx, state)
    scored, by_service = score_batch(ctx, week, state, accepted_of(ctx, week))
    folder = ctx.paths.week(week)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{SCORES_FILE}.partial"
    scored.frame.to_parquet(partial, index=False)
    partial.replace(folder / SCORES_FILE)
    served = scored.frame["model_version"].value_counts().sort_index()
    evidence: dict[str, JsonValue] = {
        "rows": len(scored.frame),
        "served_by": {f"v{v}": int(n) for v, n in served.items()},
        "predicted_churn_rate": round(float(scored.frame["score"].mean()), 6),
    }
    measured: dict[str, JsonValue] = {"seconds": round(scored.seconds, 3)}
    if state.rollout is not None:
        to_challenger = scored.frame["model_version"] == state.rollout.version
        rows = by_service if state.rollout.stage == "shadow" else int(to_challenger.sum())
        status = ctx.service.settle(rows)
        write_atomically(folder / ROLLOUT_FILE, pd.Series(status).to_json(), durable=True)
        measured["rollout"] = status
    draft = Draft(
        kind="scored",
        summary=f"{len(scored.frame):,} customers scored by the service",
        model_version=state.champion,
        evidence=evidence,
        measured=measured,
    )
    skew = version_skew(state, served)
    return StepOutcome(
        week=week, step="score", events=(draft, *([skew] if skew else [])), state=state
    )
