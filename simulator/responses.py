"""The drill's own steps on the real system, run by the capstone's runner like its steps are.

Each is a ``(context, week, state) -> StepOutcome`` the engine hands to ``runner.execute``, so its
outcome is written to the week's folder and its events to the run's log, and a resumed drill
reads it back instead of acting twice.

- ``release``: the incident some drills begin with: a model trained by phase 2 (with a training
  bug or a faulty package, or clean) promoted straight to champion by hand, skipping the gate's
  verdict and the canary; the service hot-swaps to it.
- ``roll_back``: the user's rollback: the registry's ``previous_champion`` alias is restored and
  the service reloads (phase 5's ``roll_back_to``).
- ``advise``: phase 4's trigger policy on the history, reported and not acted on: in a drill the
  user is on call, and the automation's advice is one more signal on their dashboard.

``retrain_recent`` needs no step of its own: it is the capstone's retrain step, asked for.
"""

from __future__ import annotations

import json

from pydantic import JsonValue

from phase2_pipelines.pipeline import WorkDir
from phase4_monitoring.triggers import decide_trigger
from phase5_capstone.context import Context
from phase5_capstone.decisions import history, promote_champion, roll_back_to
from phase5_capstone.events import Draft
from phase5_capstone.faults import LabelShuffle, PackagingFault, ServingSkew, SlowServing
from phase5_capstone.state import CycleState, StepOutcome
from phase5_capstone.training import (
    bootstrap_window,
    run_params,
    train_and_register,
    training_window,
)
from simulator.drills import Release

RELEASE_STEP = "drill_release"
ROLLBACK_STEP = "drill_rollback"
ADVISE_STEP = "advise"


def release(ctx: Context, week: int, state: CycleState, spec: Release) -> StepOutcome:
    """Train a model with the release's faults and make it champion from this week.

    It learns from the latest released weeks, as a retrain would (the catalogue injects a release
    late enough for them to exist); the bootstrap's window is the fallback.
    """
    window = training_window(ctx, week - 1, state.quarantined_weeks) if week > 0 else None
    window = window or bootstrap_window(ctx)
    bug = None
    if spec.label_shuffle is not None:
        bug = LabelShuffle(start_week=0, fraction=spec.label_shuffle)
    packaging: list[PackagingFault] = [
        f for f in spec.faults if isinstance(f, SlowServing | ServingSkew)
    ]
    work = WorkDir(ctx.paths.week(week) / "release")
    registration = train_and_register(
        ctx, work, run_params(ctx, week, "challenger"), window, bug, packaging
    )
    version = registration.version
    previous = state.champion
    state = promote_champion(
        ctx,
        week - 1,
        state,
        version,
        "hand release (gate verdict and canary skipped)",
        override=True,
    )
    draft = Draft(
        kind="hand_release",
        summary=f"v{version} released by hand and champion from week {week} (was v{previous});"
        f" the gate said: {registration.decision.summary[:200]}",
        model_version=version,
        evidence={
            "train_weeks": list(window.train_weeks),
            "holdout_weeks": list(window.holdout_weeks),
            "gate": json.loads(registration.decision.model_dump_json()),
        },
        run_ids={"train": registration.run_id} if registration.run_id else {},
    )
    return StepOutcome(week=week, step=RELEASE_STEP, events=(draft,), state=state)


def roll_back(ctx: Context, week: int, state: CycleState) -> StepOutcome:
    """The user's rollback: the previous champion serves again from this week."""
    target = state.previous_champion
    if target is None or state.champion is None:
        draft = Draft(
            kind="rollback_impossible",
            summary=f"roll back asked, but v{state.champion} has no previous champion to return"
            " to; nothing changed",
            model_version=state.champion,
        )
        return StepOutcome(week=week, step=ROLLBACK_STEP, events=(draft,), state=state)
    state, draft = roll_back_to(
        ctx, week - 1, state, target, "rolled back by the on-call engineer", "by hand"
    )
    return StepOutcome(week=week, step=ROLLBACK_STEP, events=(draft,), state=state)


def advise(ctx: Context, week: int, state: CycleState) -> StepOutcome:
    """What the trigger policy would do this week, with the rules that fired; nothing is done."""
    decision = decide_trigger(
        history(ctx, week, state), ctx.monitoring.triggers, ctx.monitoring.noise_alpha
    )
    fired: list[JsonValue] = [r.brief() for r in decision.reasons]
    draft = Draft(
        kind="advice",
        summary=f"the trigger policy advises {decision.action.value}: {decision.summary[:300]}",
        model_version=decision.model_version,
        evidence={
            "action": decision.action.value,
            "fired": fired,
            "cbpe_refuted": decision.cbpe_refuted,
        },
    )
    return StepOutcome(week=week, step=ADVISE_STEP, events=(draft,), state=state)
