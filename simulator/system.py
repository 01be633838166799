"""The drill's capstone system: its context, its shared bootstrap, and its weeks.

A drill plays the capstone's own steps (``runner.STEPS``, through ``runner.execute``, so every
outcome is durable and a resumed drill reads back what it played) with three differences: the
drill's own steps run before a week when due (a hand release, the user's rollback); the trigger
policy advises instead of acting (the user is on call); and the retrain step runs when the user
asked for one. The scenario is rebuilt from the record every time (``injection.py``).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

from phase1_foundations.settings import Settings, get_settings
from phase4_monitoring.monitor import MonitorReference
from phase4_monitoring.reference import Champion
from phase5_capstone import decisions
from phase5_capstone.context import Context
from phase5_capstone.events import SETUP_WEEK, EventLog
from phase5_capstone.params import load_capstone_params
from phase5_capstone.runner import BOOTSTRAP, STEPS, TRUTH_STEP, bootstrap, build_context, execute
from phase5_capstone.state import CycleState, RunPaths
from simulator import responses
from simulator.drills import load_catalogue
from simulator.forking import copy_run, template_key
from simulator.injection import drill_scenario
from simulator.records import DrillRecord, SimulatorPaths

RUN_NAME = "run"
Progress = Callable[[str], None]


def silent(_: str) -> None:
    return None


def paths_of(settings: Settings | None) -> tuple[Settings, SimulatorPaths]:
    base = settings or get_settings()
    return base, SimulatorPaths.of(base.state_dir)


_STARTING: dict[tuple[str, str, str], tuple[Champion, MonitorReference]] = {}


def starting_champion(ctx: Context) -> tuple[Champion, MonitorReference] | None:
    """The champion the drill's system started with, and its reference (None before the
    bootstrap), loaded from the registry once per bootstrapped run (a second or more of MLflow
    each time): every drill and fork copied from one bootstrap shares its training run, and a
    registered version never changes."""
    start = ctx.paths.read_outcome(SETUP_WEEK, BOOTSTRAP)
    version = None if start is None else start.state.champion
    if start is None or version is None:
        return None
    run_id = next(e.run_ids["train"] for e in start.events if "train" in e.run_ids)
    key = (run_id, version, str(ctx.params_file))
    if key not in _STARTING:
        _STARTING[key] = (ctx.champion(version), ctx.reference(version))
    return _STARTING[key]


def context_of(record: DrillRecord, settings: Settings | None = None) -> Context:
    """The capstone context the drill's system runs in (its scenario as of now)."""
    base, paths = paths_of(settings)
    catalogue = load_catalogue()
    spec = catalogue.drill(record.scenario)
    knobs = catalogue.settings
    scenario = drill_scenario(spec, knobs, record.seed, record.inject_week, record.declarations)
    params = load_capstone_params().model_copy(
        update={
            "train_weeks": knobs.train_weeks,
            "holdout_weeks": knobs.holdout_weeks,
            "evidently_on_alert": False,  # written on demand (dashboard.py)
        }
    )
    folder = paths.drill(record.drill_id).parent
    return build_context(scenario, RUN_NAME, base.model_copy(update={"state_dir": folder}), params)


def _play_week(
    ctx: Context, log: EventLog, record: DrillRecord, week: int, state: CycleState
) -> CycleState:
    spec = load_catalogue().drill(record.scenario)
    release = spec.release
    if release is not None and week == record.inject_week + release.after_weeks:
        step = partial(responses.release, spec=release)
        state = execute(ctx, log, week, responses.RELEASE_STEP, step, state).state
    declared = [d for d in record.declarations if d.week == week]
    if any(d.response == "roll_back" for d in declared):
        state = execute(ctx, log, week, responses.ROLLBACK_STEP, responses.roll_back, state).state
    for name, step_fn in STEPS:
        if name == TRUTH_STEP:  # the benchmark's yardstick; a drill scores its own impact
            continue
        if name == "decide":
            name, step_fn = responses.ADVISE_STEP, responses.advise
        state = execute(ctx, log, week, name, step_fn, state).state
    wanted = any(d.response == "retrain_recent" for d in declared) and state.rollout is None
    retrain = partial(decisions.retrain, wanted=wanted)
    return execute(ctx, log, week, "retrain", retrain, state).state


def play_weeks(record: DrillRecord, base: Settings, until: int, progress: Progress) -> CycleState:
    """Weeks 0..``until``-1: those played are read back, the rest are run."""
    ctx = context_of(record, base)
    log = EventLog.open(ctx.paths.events)
    try:
        state = execute(ctx, log, SETUP_WEEK, BOOTSTRAP, bootstrap, CycleState()).state
        started = starting_champion(ctx) if until > record.week else None
        if started is not None:  # every week's labels judge the champion that served it
            ctx.remember(started[0])
        for week in range(until):
            if week >= record.week:
                progress(f"{record.drill_id}: week {week + 1} of {record.weeks}")
            state = _play_week(ctx, log, record, week, state)
    finally:
        ctx.close()
    return state


def bootstrapped(record: DrillRecord, settings: Settings | None = None) -> Path:
    """A run folder holding only the bootstrapped champion for the drill's seed and settings,
    built once and copied by every drill that shares them (phase 2's training is the costliest
    step of a drill)."""
    base, paths = paths_of(settings)
    ctx = context_of(record, base)
    key = template_key(
        str(record.seed),
        ctx.scenario.model_copy(
            update={"name": "bootstrap", "world": (), "faults": ()}
        ).model_dump_json(exclude={"description"}),
        ctx.capstone.model_dump_json(),
        ctx.pipeline.model_dump_json(),
    )
    template = paths.root / "bootstraps" / key
    if (template / "weeks").exists():
        return template
    build = paths.root / "bootstraps" / f".build-{uuid.uuid4().hex}"
    ctx.paths = RunPaths(build)
    ctx.settings = ctx.paths.settings(base)
    try:
        log = EventLog.open(ctx.paths.events)
        execute(ctx, log, SETUP_WEEK, BOOTSTRAP, bootstrap, CycleState())
    finally:
        ctx.close()
    if not (template / "weeks").exists():
        copy_run(build, template)
    shutil.rmtree(build, ignore_errors=True)
    return template


def start_run(record: DrillRecord, settings: Settings | None = None) -> None:
    """The drill's run folder: a copy of the bootstrapped run for its seed."""
    copy_run(bootstrapped(record, settings), Path(record.run_dir))
