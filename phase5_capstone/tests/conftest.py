"""Capstone runs for the tests: real MLflow, the real service on 127.0.0.1, in a temp state."""

from __future__ import annotations

from pathlib import Path

import pytest

from phase1_foundations.settings import Settings
from phase5_capstone.events import Event
from phase5_capstone.faults import Fault
from phase5_capstone.runner import RunResult, build_context, run
from phase5_capstone.scenario import CapstoneScenario, load_scenario


def smoke(weeks: int | None = None, faults: tuple[Fault, ...] = ()) -> CapstoneScenario:
    scenario = load_scenario("smoke")
    update: dict[str, object] = {"faults": faults}
    if weeks is not None:
        update |= {"weeks": weeks, "beats": ()}
    return scenario.model_copy(update=update)


def run_scenario(scenario: CapstoneScenario, state_dir: Path) -> RunResult:
    ctx = build_context(scenario, base=Settings(state_dir=state_dir))
    return run(ctx, progress=False)


def of_kind(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e.kind == kind]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """The smoke scenario, uninterrupted: the peer every other run is compared with."""
    return run_scenario(smoke(), tmp_path_factory.mktemp("smoke"))
