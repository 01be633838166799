"""From a drill and what the user did so far to the capstone scenario the system runs.

The scenario is a pure function of the drill, its seed and the user's declarations, so a drill
resumed in another process (or replayed from its record) runs the same weeks. A declaration made
in week ``d`` changes the world only from week ``d`` on, and only for what had already begun
before it (the upstream team cannot fix a feed that is not broken yet): every batch the system
has already seen stays the same bytes.

How each response changes the world or the system (the registry and pipeline actions, roll back
and retrain, are steps in ``responses.py``):

- ``page_upstream``: the upstream team fixes the feed they were told is broken
  ``upstream_fix_weeks`` later: the corruption of the declared root cause ends (or the label
  feed returns to its usual delay). Paged about the wrong problem, they fix nothing.
- ``quarantine_hotfix``: our ingest repairs the declared root cause, when it can be repaired in
  our pipeline (a renamed column mapped back, units converted, swapped columns put back, a new
  category accepted), from the week of the hotfix; values that never arrived (a null flood)
  cannot be repaired, and those batches stay quarantined by the contract. A hotfix for another
  cause than the real one repairs nothing.
- ``scale``: the replicas are redeployed from the current image: a replica stuck on an old
  version serves the champion again from the next week.
"""

from __future__ import annotations

from phase1_foundations.scenarios import (
    Effect,
    LabelDelayChange,
    NewCategory,
    NullFlood,
    SchemaBreak,
    SwappedColumns,
    UnitChange,
    shift_effect,
)
from phase5_capstone.faults import Fault, StaleReplica
from phase5_capstone.scenario import CapstoneScenario
from simulator.drills import DrillSettings, DrillSpec
from simulator.records import Declaration

# What upstream fixes, and what our ingest can repair, by the root cause the user declared.
UPSTREAM_FIXES: dict[str, type[Effect]] = {
    "schema_break": SchemaBreak,
    "null_flood": NullFlood,
    "unit_change": UnitChange,
    "swapped_columns": SwappedColumns,
    "new_category": NewCategory,
}
REPAIRABLE: dict[str, type[Effect]] = {
    "schema_break": SchemaBreak,
    "unit_change": UnitChange,
    "swapped_columns": SwappedColumns,
    "new_category": NewCategory,
}


def _shift_fault(fault: Fault, inject_week: int) -> Fault:
    end = None if fault.end_week is None else fault.end_week + inject_week
    return fault.model_copy(update={"start_week": fault.start_week + inject_week, "end_week": end})


def _end_effect(effect: Effect, last_week: int) -> Effect:
    """``effect`` ended after ``last_week`` (if it lasts longer)."""
    if effect.end_week is not None and effect.end_week <= last_week:
        return effect
    return effect.model_copy(update={"end_week": last_week})


def _end_fault(fault: Fault, last_week: int) -> Fault:
    if fault.end_week is not None and fault.end_week <= last_week:
        return fault
    return fault.model_copy(update={"end_week": last_week})


def injected_scenario(
    spec: DrillSpec, settings: DrillSettings, seed: int, inject_week: int
) -> CapstoneScenario:
    """The drill's capstone scenario before the user does anything (its decoy included)."""
    world = tuple(shift_effect(effect, inject_week) for effect in spec.world)
    if spec.decoy is not None:
        start = inject_week - spec.decoy.weeks_before
        world = (*(shift_effect(effect, start) for effect in spec.decoy.world), *world)
    faults = tuple(_shift_fault(fault, inject_week) for fault in spec.faults)
    return CapstoneScenario.model_validate(
        {
            "name": f"drill_{spec.name}",
            "description": f"drill: {spec.title}",
            "weeks": settings.weeks,
            "rows_per_week": settings.rows_per_week,
            "seed": seed,
            "label_delay_weeks": settings.label_delay_weeks,
            "world": [e.model_dump() for e in world],
            "faults": [f.model_dump() for f in faults],
        }
    )


def respond(
    scenario: CapstoneScenario, declaration: Declaration, settings: DrillSettings
) -> CapstoneScenario:
    """The scenario after one declaration's response takes effect in the world."""
    week, response, cause = declaration.week, declaration.response, declaration.root_cause
    world: list[Effect] = list(scenario.world)
    faults: list[Fault] = list(scenario.faults)
    if response == "page_upstream":
        fixed = week + settings.upstream_fix_weeks
        kind = UPSTREAM_FIXES.get(cause)
        world = [
            _end_effect(e, fixed - 1)
            if kind is not None and isinstance(e, kind) and e.start_week < week
            else e
            for e in world
        ]
        delayed = [e for e in world if isinstance(e, LabelDelayChange) and e.start_week < week]
        latest = max(delayed, key=lambda e: e.start_week) if delayed else None
        if (
            cause == "label_delay"
            and latest is not None
            and latest.delay_weeks != settings.label_delay_weeks
        ):
            world.append(LabelDelayChange(start_week=fixed, delay_weeks=settings.label_delay_weeks))
    elif response == "quarantine_hotfix":
        kind = REPAIRABLE.get(cause)
        world = [
            _end_effect(e, week - 1)
            if kind is not None and isinstance(e, kind) and e.start_week < week
            else e
            for e in world
        ]
    elif response == "scale":
        faults = [
            _end_fault(f, week - 1) if isinstance(f, StaleReplica) and f.start_week < week else f
            for f in faults
        ]
    else:
        return scenario
    return CapstoneScenario.model_validate(
        {
            **scenario.model_dump(),
            "world": [e.model_dump() for e in world],
            "faults": [f.model_dump() for f in faults],
        }
    )


def drill_scenario(
    spec: DrillSpec,
    settings: DrillSettings,
    seed: int,
    inject_week: int,
    declarations: tuple[Declaration, ...],
) -> CapstoneScenario:
    """The scenario the system runs now: the injection, then each response in order."""
    scenario = injected_scenario(spec, settings, seed, inject_week)
    for declaration in declarations:
        scenario = respond(scenario, declaration, settings)
    return scenario
