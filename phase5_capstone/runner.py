"""The embedded runner: every step of every week, in order, in this process, resumable.

A step's outcome is written to ``weeks/<week>/<step>.json`` before its events are appended to
the log (``state.py``); a rerun reads back each finished step's outcome instead of running it
again, appends any of its events a kill kept out of the log, and carries on from the first
step with no outcome. A step that was cut short runs again from its start: each is written to
be safe to repeat (phase 2's registration finds a model it registered already; an alias move
looks before it moves).
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pydantic import JsonValue

from phase1_foundations.settings import Settings, get_settings
from phase2_pipelines.params import PARAMS_FILE, load_params
from phase2_pipelines.pipeline import WorkDir
from phase3_serving.params import load_serving_params
from phase4_monitoring.params import load_monitoring_params
from phase5_capstone import decisions, score_week, weekly
from phase5_capstone.context import Context
from phase5_capstone.events import SETUP_WEEK, Draft, EventLog, stamp
from phase5_capstone.params import CapstoneParams, load_capstone_params
from phase5_capstone.scenario import CapstoneScenario
from phase5_capstone.state import CycleState, Manifest, RunPaths, StepOutcome
from phase5_capstone.training import bootstrap_window, run_params, train_and_register

Step = Callable[[Context, int, CycleState], StepOutcome]
BOOTSTRAP = "bootstrap"
TRUTH_STEP = "truth"  # the world's yardsticks (truth.py): judged, never read by a decision
RETRAIN = "retrain"  # the last step of every week, after STEPS
STEPS: tuple[tuple[str, Step], ...] = (
    ("ingest", weekly.ingest),
    ("score", score_week.score),
    (TRUTH_STEP, weekly.judge_with_truth),
    ("rollout", decisions.rollout),
    ("labels", weekly.release_labels),
    ("monitor", weekly.monitor),
    ("decide", decisions.decide),
)


class RunRefused(RuntimeError):  # noqa: N818 - the outcome, said in one line
    """The run cannot go on as asked; the message says why and what to run instead."""


@dataclass(frozen=True)
class RunResult:
    paths: RunPaths
    state: CycleState
    already_finished: bool
    events: EventLog


def bootstrap(ctx: Context, week: int, state: CycleState) -> StepOutcome:
    """The champion the system ships with, trained and gated by phase 2 on pre-run weeks."""
    window = bootstrap_window(ctx)
    work = WorkDir(ctx.paths.week(SETUP_WEEK) / "pipeline")
    registration = train_and_register(ctx, work, run_params(ctx, week, "champion"), window)
    if registration.champion is None:
        raise RunRefused(f"the bootstrap model was not promoted: {registration.note}")
    draft = Draft(
        kind="bootstrapped",
        summary=f"v{registration.champion} is the champion the system starts with"
        f" ({registration.decision.summary[:200]})",
        model_version=registration.champion,
        evidence={
            "train_weeks": list(window.train_weeks),
            "holdout_weeks": list(window.holdout_weeks),
            "gate": registration.decision.model_dump(mode="json"),
            "data": decisions.data_lineage(ctx, work),
        },
        run_ids={"train": registration.run_id},
    )
    champion = registration.champion
    state = state.model_copy(
        update={"champion": champion, "champion_since": 0, "promotions": ((champion, 0),)}
    )
    return StepOutcome(week=week, step=BOOTSTRAP, events=(draft,), state=state)


def _retrain(
    ctx: Context, week: int, state: CycleState, *, request: dict[str, JsonValue]
) -> StepOutcome:
    return decisions.retrain(ctx, week, state, bool(request.get(decisions.RETRAIN)), request)


def build_context(
    scenario: CapstoneScenario,
    run: str | None = None,
    base: Settings | None = None,
    params: CapstoneParams | None = None,
    params_file: Path = PARAMS_FILE,
) -> Context:
    """The run's context; every section of ``params_file`` (``params.yaml`` unless a benchmark
    compares another policy) says how the system decides."""
    base = base or get_settings()
    paths = RunPaths.of(base.state_dir, run or scenario.name)
    # The service reads its own section when it starts, after the champion is trained: a bad
    # one is refused here, before any work, as the other sections are.
    load_serving_params(params_file)
    return Context(
        paths=paths,
        settings=paths.settings(base),
        scenario=scenario,
        capstone=params or load_capstone_params(params_file),
        pipeline=load_params(params_file),
        monitoring=load_monitoring_params(params_file),
        params_file=params_file,
    )


def _check_manifest(ctx: Context, fresh: bool) -> Manifest:
    paths = ctx.paths
    if fresh and paths.root.exists():
        shutil.rmtree(paths.root)
    manifest = paths.read_manifest()
    fingerprint = ctx.scenario.fingerprint()
    if manifest is not None and manifest.scenario_fingerprint != fingerprint:
        raise RunRefused(
            f"{paths.root} holds a run of another version of scenario {manifest.scenario!r};"
            " run again with --fresh to start over"
        )
    if manifest is None:
        manifest = Manifest(
            run=paths.root.name,
            scenario=ctx.scenario.name,
            scenario_fingerprint=fingerprint,
            weeks=ctx.scenario.weeks,
        )
        paths.write_manifest(manifest)
    return manifest


def execute(
    ctx: Context, log: EventLog, week: int, name: str, step: Step, state: CycleState
) -> StepOutcome:
    """Run one step unless its outcome is on disk; then make sure its events are in the log."""
    outcome = ctx.paths.read_outcome(week, name)
    if outcome is None:
        started = time.perf_counter()
        outcome = step(ctx, week, state)
        outcome = outcome.model_copy(update={"seconds": time.perf_counter() - started})
        ctx.paths.write_outcome(outcome)
    log.append(stamp(outcome.events, week, name, log.next_seq))
    return outcome


def retrain_request(ctx: Context, week: int) -> dict[str, JsonValue]:
    """What this week's ``decide`` asked of the retrain (read from its durable outcome)."""
    decided = ctx.paths.read_outcome(week, "decide")
    return {} if decided is None else dict(decided.data)


def retrain_wanted(ctx: Context, week: int) -> bool:
    """Whether this week's ``decide`` asked for a retrain (read from its durable outcome)."""
    return bool(retrain_request(ctx, week).get(decisions.RETRAIN))


def execute_retrain(ctx: Context, log: EventLog, week: int, state: CycleState) -> StepOutcome:
    """The week's last step. It always leaves an outcome, empty when no retrain was wanted:
    that outcome is the mark that the week is done (``next_week``)."""
    request = retrain_request(ctx, week)
    return execute(ctx, log, week, RETRAIN, partial(_retrain, request=request), state)


def run_week(ctx: Context, log: EventLog, week: int, state: CycleState) -> CycleState:
    """One week's steps in order, then the retrain step (the Dagster job runs the same calls,
    one op each: ``orchestrator.py``)."""
    for name, step in STEPS:
        state = execute(ctx, log, week, name, step, state).state
    return execute_retrain(ctx, log, week, state).state


def run_bootstrap(ctx: Context, log: EventLog) -> CycleState:
    """The champion the run starts with (read back once it exists)."""
    return execute(ctx, log, SETUP_WEEK, BOOTSTRAP, bootstrap, CycleState()).state


def next_week(ctx: Context) -> int:
    """The first week whose last step has no outcome yet."""
    week = 0
    while week < ctx.scenario.weeks and ctx.paths.read_outcome(week, RETRAIN) is not None:
        week += 1
    return week


def open_run(ctx: Context, *, fresh: bool = False) -> tuple[Manifest, EventLog]:
    """The run's manifest (refusing another version of its scenario) and its event log."""
    manifest = _check_manifest(ctx, fresh)
    return manifest, EventLog.open(ctx.paths.events)


def finish_run(ctx: Context, manifest: Manifest) -> bool:
    """Mark the run finished once its last week is done; whether it is."""
    if next_week(ctx) < ctx.scenario.weeks:
        return False
    if not manifest.finished:
        ctx.paths.write_manifest(manifest.model_copy(update={"finished": True}))
    return True


def run(
    ctx: Context, *, fresh: bool = False, progress: bool = True, max_weeks: int | None = None
) -> RunResult:
    """Every week of the scenario (or the next ``max_weeks`` of them, for a scheduler that runs
    one week at a time); a finished run is reported, not redone."""
    manifest, log = open_run(ctx, fresh=fresh)
    if manifest.finished:
        last = ctx.paths.read_outcome(ctx.scenario.weeks - 1, RETRAIN)
        return RunResult(ctx.paths, last.state if last else CycleState(), True, log)
    from tqdm import tqdm  # type: ignore[import-untyped]

    bar = tqdm(
        total=ctx.scenario.weeks,
        desc=f"capstone {ctx.scenario.name}",
        unit="week",
        disable=not progress,
        file=sys.stderr,
    )
    try:
        state = run_bootstrap(ctx, log)
        stop = ctx.scenario.weeks
        if max_weeks is not None:
            stop = min(stop, next_week(ctx) + max_weeks)
        for week in range(stop):
            state = run_week(ctx, log, week, state)
            bar.set_postfix_str(f"champion v{state.champion}")
            bar.update(1)
    finally:
        bar.close()
        ctx.close()
    finish_run(ctx, manifest)
    return RunResult(ctx.paths, state, False, log)
