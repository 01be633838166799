"""The drill engine: a hidden incident in the real capstone system, played week by week.

``start_drill`` draws the injection week from the seed and bootstraps the system; ``advance``
runs the capstone's own steps for the next week(s) (the real service, registry, monitor);
``declare`` records the user's diagnosis and response, which act on the system from the next
week (``injection.py``, ``responses.py``); ``finish`` plays to the end and scores the drill
(``drill_score.py``) with a debrief of which signals pointed at the cause, and when.

Everything a drill needs to resume is its record (``records.DrillRecord``) and its run folder:
the scenario is rebuilt from the record, and a week already played is read back from the
capstone's outcome files instead of being run again. No Streamlit here: the app and the CLI
call these functions.
"""

from __future__ import annotations

import secrets
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from phase1_foundations.settings import Settings
from simulator.debrief import debrief, drill_outcome, week_signals
from simulator.drill_score import score_drill
from simulator.drills import Catalogue, CatalogueError, DrillSpec, load_catalogue
from simulator.forking import copy_run
from simulator.records import Declaration, DrillRecord
from simulator.system import (
    RUN_NAME,
    Progress,
    context_of,
    paths_of,
    play_weeks,
    silent,
    start_run,
)


class DrillError(ValueError):
    """A drill cannot do what was asked; the message names the field and the problem."""


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
    _, paths = paths_of(settings)
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
    base, paths = paths_of(settings)
    # the id is shown and put in the URL while the drill plays: it must not name the scenario
    drill_id = drill_id or f"drill-{uuid.uuid4().hex[:8]}"
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
    start_run(record, base)
    paths.save_drill(record)
    return record


def fork_drill(drill_id: str, new_id: str, *, settings: Settings | None = None) -> DrillRecord:
    """A copy of a drill as it stands, under ``new_id``: try another response from here."""
    base, paths = paths_of(settings)
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


def advance(
    drill_id: str,
    weeks: int = 1,
    *,
    settings: Settings | None = None,
    progress: Progress = silent,
) -> DrillRecord:
    """Play the next ``weeks`` weeks (fewer at the end of the drill); the record, saved."""
    base, paths = paths_of(settings)
    record = load_drill(drill_id, base)
    if record.finished:
        raise DrillError(f"drill_id: drill {drill_id!r} is finished")
    if weeks < 1:
        raise DrillError(f"weeks: must be 1 or more, got {weeks}")
    until = min(record.weeks, record.week + weeks)
    play_weeks(record, base, until, progress)
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
    base, paths = paths_of(settings)
    record = load_drill(drill_id, base)
    if record.finished:
        raise DrillError(f"drill_id: drill {drill_id!r} is finished")
    if record.week >= record.weeks:
        raise DrillError(f"drill_id: every week of {drill_id!r} is played; finish it")
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


def finish(
    drill_id: str, *, settings: Settings | None = None, progress: Progress = silent
) -> DrillRecord:
    """Play to the last week, then score the drill and write its debrief into the record."""
    base, paths = paths_of(settings)
    record = load_drill(drill_id, base)
    if record.finished:
        return record
    if record.week < record.weeks:
        record = advance(drill_id, record.weeks - record.week, settings=base, progress=progress)
    sightings = debrief(record, base)
    outcome = drill_outcome(record, sightings, base)
    record = record.model_copy(
        update={
            "score": score_drill(outcome, load_catalogue().settings.scoring),
            "debrief": sightings,
            "value_lost_usd": round(outcome.value_lost_usd, 2),
            "value_at_stake_usd": round(outcome.value_at_stake_usd, 2),
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
    progress: Progress = silent,
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
    "advance",
    "context_of",
    "debrief",
    "declare",
    "finish",
    "fork_drill",
    "list_drills",
    "load_drill",
    "make_declaration",
    "play",
    "root_cause_choices",
    "signal_choices",
    "start_drill",
    "week_signals",
]
