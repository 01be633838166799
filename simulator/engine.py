"""The drill engine: a hidden incident in the real capstone system, played week by week.

``start_drill`` draws the injection week from the seed and bootstraps the system; ``advance``
runs the capstone's own steps for the next week(s) (the real service, registry, monitor);
``declare`` records the user's diagnosis and response, which act on the system from the next
week (``injection.py``, ``responses.py``); ``finish`` plays to the end and scores the drill
(``scoring.py``) with a debrief of which signals pointed at the cause, and when.

Everything a drill needs to resume is its record (``records.DrillRecord``) and its run folder:
the scenario is rebuilt from the record, and a week already played is read back from the
capstone's outcome files instead of being run again. No Streamlit here: the app and the CLI
call these functions.
"""

from __future__ import annotations

import secrets
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from phase1_foundations.settings import Settings, get_settings
from phase5_capstone import decisions
from phase5_capstone.context import Context
from phase5_capstone.events import SETUP_WEEK, EventLog
from phase5_capstone.params import load_capstone_params
from phase5_capstone.runner import BOOTSTRAP, STEPS, bootstrap, build_context, execute
from phase5_capstone.state import CycleState, RunPaths
from simulator import responses
from simulator.drills import Catalogue, CatalogueError, DrillSpec, load_catalogue
from simulator.forking import copy_run, template_key
from simulator.impact import week_values
from simulator.injection import drill_scenario
from simulator.records import (
    Declaration,
    DrillRecord,
    SignalSighting,
    SimulatorPaths,
)
from simulator.scoring import DrillOutcome, score_drill
from simulator.signals import Baseline, Fired, fired_in, latency_baseline

RUN_NAME = "run"
Progress = Callable[[str], None]


class DrillError(ValueError):
    """A drill cannot do what was asked; the message names the field and the problem."""


def _silent(_: str) -> None:
    return None


def _paths(settings: Settings | None) -> tuple[Settings, SimulatorPaths]:
    base = settings or get_settings()
    return base, SimulatorPaths.of(base.state_dir)


def list_drills(catalogue: Catalogue | None = None) -> list[DrillSpec]:
    """Every scenario a drill can inject, in catalogue order."""
    return list((catalogue or load_catalogue()).drills.values())


def signal_choices() -> dict[str, str]:
    """The signals a user can point to (name -> meaning)."""
    return dict(load_catalogue().signals)


def root_cause_choices() -> dict[str, str]:
    """The root causes a user can diagnose (name -> meaning)."""
    return dict(load_catalogue().root_causes)


def load_drill(drill_id: str, settings: Settings | None = None) -> DrillRecord:
    _, paths = _paths(settings)
    path = paths.drill(drill_id)
    if not path.exists():
        raise DrillError(f"drill_id: no drill {drill_id!r} under {paths.root}")
    return DrillRecord.model_validate_json(path.read_bytes())


def start_drill(
    scenario: str,
    *,
    seed: int | None = None,
    settings: Settings | None = None,
    drill_id: str | None = None,
) -> DrillRecord:
    """A new drill of ``scenario``, saved, with its system bootstrapped (week 0 not played)."""
    catalogue = load_catalogue()
    spec = catalogue.drill(scenario)
    seed = secrets.randbelow(2**31) if seed is None else seed
    if seed < 0:
        raise DrillError(f"seed: must be 0 or more, got {seed}")
    base, paths = _paths(settings)
    drill_id = drill_id or f"{scenario}-{uuid.uuid4().hex[:8]}"
    folder = paths.drill(drill_id).parent
    if folder.exists():
        shutil.rmtree(folder)
    record = DrillRecord(
        drill_id=drill_id,
        scenario=scenario,
        title=spec.title,
        seed=seed,
        weeks=catalogue.settings.weeks,
        inject_week=spec.inject_week(seed),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        run_dir=str(folder / "capstone" / RUN_NAME),
    )
    copy_run(bootstrapped(record, base), Path(record.run_dir))
    paths.save_drill(record)
    return record


def bootstrapped(record: DrillRecord, settings: Settings | None = None) -> Path:
    """A run folder holding only the bootstrapped champion for the drill's seed and settings,
    built once and copied by every drill that shares them (phase 2's training is the costliest
    step of a drill)."""
    base, paths = _paths(settings)
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


def fork_drill(drill_id: str, new_id: str, *, settings: Settings | None = None) -> DrillRecord:
    """A copy of a drill as it stands, under ``new_id``: try another response from here."""
    base, paths = _paths(settings)
    record = load_drill(drill_id, base)
    folder = paths.drill(new_id).parent
    if folder.exists():
        raise DrillError(f"new_id: drill {new_id!r} exists already")
    forked = record.model_copy(
        update={"drill_id": new_id, "run_dir": str(folder / "capstone" / RUN_NAME)}
    )
    copy_run(Path(record.run_dir), Path(forked.run_dir))
    paths.save_drill(forked)
    return forked


def context_of(record: DrillRecord, settings: Settings | None = None) -> Context:
    """The capstone context the drill's system runs in (its scenario as of now)."""
    base, paths = _paths(settings)
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
        if name == "decide":
            name, step_fn = responses.ADVISE_STEP, responses.advise
        state = execute(ctx, log, week, name, step_fn, state).state
    wanted = any(d.response == "retrain_recent" for d in declared) and state.rollout is None
    retrain = partial(decisions.retrain, wanted=wanted)
    return execute(ctx, log, week, "retrain", retrain, state).state


def _play(record: DrillRecord, base: Settings, until: int, progress: Progress) -> CycleState:
    """Weeks 0..``until``-1: those played are read back, the rest are run."""
    ctx = context_of(record, base)
    log = EventLog.open(ctx.paths.events)
    try:
        state = execute(ctx, log, SETUP_WEEK, BOOTSTRAP, bootstrap, CycleState()).state
        for week in range(until):
            if week >= record.week:
                progress(f"{record.drill_id}: week {week + 1} of {record.weeks}")
            state = _play_week(ctx, log, record, week, state)
    finally:
        ctx.close()
    return state


def advance(
    drill_id: str,
    weeks: int = 1,
    *,
    settings: Settings | None = None,
    progress: Progress = _silent,
) -> DrillRecord:
    """Play the next ``weeks`` weeks (fewer at the end of the drill); the record, saved."""
    base, paths = _paths(settings)
    record = load_drill(drill_id, base)
    if record.finished:
        raise DrillError(f"drill_id: drill {drill_id!r} is finished")
    if weeks < 1:
        raise DrillError(f"weeks: must be 1 or more, got {weeks}")
    until = min(record.weeks, record.week + weeks)
    _play(record, base, until, progress)
    record = record.model_copy(update={"week": until})
    paths.save_drill(record)
    return record


def declare(
    drill_id: str,
    signal: str,
    root_cause: str,
    response: str,
    note: str = "",
    *,
    settings: Settings | None = None,
) -> DrillRecord:
    """Declare an incident now (before the next week is played); it acts from that week."""
    base, paths = _paths(settings)
    record = load_drill(drill_id, base)
    if record.finished:
        raise DrillError(f"drill_id: drill {drill_id!r} is finished")
    declaration = make_declaration(record.week, signal, root_cause, response, note)
    record = record.model_copy(update={"declarations": (*record.declarations, declaration)})
    paths.save_drill(record)
    return record


def make_declaration(
    week: int, signal: str, root_cause: str, response: str, note: str = ""
) -> Declaration:
    """A declaration checked against the catalogue's lists (DrillError names the bad field)."""
    try:
        return load_catalogue().declaration(week, signal, root_cause, response, note)
    except CatalogueError as error:
        raise DrillError(str(error)) from None


def week_signals(record: DrillRecord, settings: Settings | None = None) -> list[Fired]:
    """The signals that fired in each week played so far (what the dashboard shows)."""
    ctx = context_of(record, settings)
    knobs = load_catalogue().settings
    chunk = ctx.capstone.score_chunk_rows
    start = ctx.paths.read_outcome(SETUP_WEEK, BOOTSTRAP)
    if start is None or start.state.champion is None:
        return []
    base = Baseline(
        reference=ctx.reference(start.state.champion),
        monitoring=ctx.monitoring,
        label_delay_weeks=ctx.scenario.label_delay_weeks,
        chunk_rows=chunk,
        baseline_ms=latency_baseline(ctx.paths, knobs.latency_baseline_weeks, chunk),
        latency_ratio=knobs.latency_alert_ratio,
        latency_added_ms=knobs.latency_alert_added_ms,
    )
    try:
        return [fired_in(ctx.paths, week, base) for week in range(record.week)]
    finally:
        ctx.close()


def debrief(record: DrillRecord, settings: Settings | None = None) -> tuple[SignalSighting, ...]:
    """Per signal that fired or should have, the first week it did from the injection on."""
    spec = load_catalogue().drill(record.scenario)
    fired = week_signals(record, settings)
    names = list(spec.signals) + sorted({s for week in fired for s in week} - set(spec.signals))
    sightings = []
    for name in names:
        weeks = [w for w, signals in enumerate(fired) if name in signals]
        after = [w for w in weeks if w >= record.inject_week]
        before = [w for w in weeks if w < record.inject_week]
        points = "points to the cause" if name in spec.signals else "did not point to the cause"
        detail = f"{points}; " + (fired[after[0]][name] if after else "never fired after injection")
        if before:
            detail += f"; also fired before the injection in weeks {before} (false alarms)"
        sightings.append(
            SignalSighting(signal=name, first_week=after[0] if after else None, detail=detail)
        )
    return tuple(sightings)


def finish(
    drill_id: str, *, settings: Settings | None = None, progress: Progress = _silent
) -> DrillRecord:
    """Play to the last week, then score the drill and write its debrief into the record."""
    base, paths = _paths(settings)
    record = load_drill(drill_id, base)
    if record.finished:
        return record
    if record.week < record.weeks:
        record = advance(drill_id, record.weeks - record.week, settings=base, progress=progress)
    spec = load_catalogue().drill(record.scenario)
    sightings = debrief(record, base)
    firsts = [
        s.first_week for s in sightings if s.signal in spec.signals and s.first_week is not None
    ]
    ctx = context_of(record, base)
    try:
        start = ctx.paths.read_outcome(SETUP_WEEK, BOOTSTRAP)
        assert start is not None
        assert start.state.champion is not None
        values = week_values(ctx, range(record.inject_week, record.weeks), start.state.champion)
    finally:
        ctx.close()
    outcome = DrillOutcome(
        spec=spec,
        inject_week=record.inject_week,
        first_signal_week=min(firsts) if firsts else None,
        declarations=record.declarations,
        value_lost_usd=sum(v.healthy_usd - v.served_usd for v in values),
        value_at_stake_usd=sum(v.healthy_usd for v in values),
    )
    record = record.model_copy(
        update={
            "score": score_drill(outcome, load_catalogue().settings.scoring),
            "debrief": sightings,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    paths.save_drill(record)
    return record


def play(
    scenario: str,
    declarations: list[Declaration],
    *,
    seed: int = 0,
    settings: Settings | None = None,
    progress: Progress = _silent,
    drill_id: str | None = None,
) -> DrillRecord:
    """A whole drill headless: each declaration made in its week, then scored."""
    for index, declaration in enumerate(declarations):
        if not 0 <= declaration.week < load_catalogue().settings.weeks:
            raise DrillError(f"actions.{index}.week: {declaration.week} is not a week of the drill")
    record = start_drill(scenario, seed=seed, settings=settings, drill_id=drill_id)
    for declaration in sorted(declarations, key=lambda d: d.week):
        if declaration.week > record.week:
            record = advance(
                record.drill_id,
                declaration.week - record.week,
                settings=settings,
                progress=progress,
            )
        record = declare(
            record.drill_id,
            declaration.signal,
            declaration.root_cause,
            declaration.response,
            declaration.note,
            settings=settings,
        )
    return finish(record.drill_id, settings=settings, progress=progress)


__all__ = [
    "CatalogueError",
    "DrillError",
    "Path",
    "advance",
    "debrief",
    "declare",
    "finish",
    "list_drills",
    "load_drill",
    "play",
    "start_drill",
    "week_signals",
]
