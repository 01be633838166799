"""Capstone runs for the tests: real MLflow, the real service on 127.0.0.1, in a temp state."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from phase1_foundations.settings import Settings
from phase5_capstone.events import Event
from phase5_capstone.faults import Fault
from phase5_capstone.runner import RunResult, build_context, run
from phase5_capstone.scenario import CapstoneScenario, load_scenario
from phase5_capstone.state import RunPaths
from testing.shared_state import built_once, copy_state, run_root

SMOKE_COMMAND = [
    sys.executable,
    *["-m", "phase5_capstone", "run", "--scenario", "smoke", "--no-progress"],
]
COMMAND_TIMEOUT_S = 600
TIMINGS_FILE = "timings.json"
EVENTS_BEFORE_RERUN = "events-before-rerun.jsonl"


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


@dataclass(frozen=True)
class SmokeByCommand:
    """The smoke scenario run by its command, never killed, into ``state_dir``: how long that
    took, and what a second run of the finished run took, printed and rewrote."""

    state_dir: Path
    seconds: float
    restart_seconds: float
    rerun_stdout: str
    events_before_rerun: Path  # the event log as the first run left it
    timeline_rewritten: bool  # whether the second run wrote the finished run's timeline again

    @property
    def paths(self) -> RunPaths:
        return RunPaths.of(self.state_dir, "smoke")


def run_smoke_command(folder: Path) -> None:
    """Run the smoke scenario's command into ``folder/var``, then again once it is finished."""
    env = {**os.environ, "MLOPS_STATE_DIR": str(folder / "var")}
    started = time.perf_counter()
    subprocess.run(
        SMOKE_COMMAND, env=env, check=True, capture_output=True, timeout=COMMAND_TIMEOUT_S
    )
    seconds = time.perf_counter() - started
    shutil.copy2(RunPaths.of(folder / "var", "smoke").events, folder / EVENTS_BEFORE_RERUN)
    timeline = RunPaths.of(folder / "var", "smoke").timeline
    written = timeline.stat().st_mtime_ns
    started = time.perf_counter()
    rerun = subprocess.run(
        SMOKE_COMMAND,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )
    timings = {
        "seconds": seconds,
        "restart_seconds": time.perf_counter() - started,
        "timeline_rewritten": timeline.stat().st_mtime_ns != written,
    }
    (folder / TIMINGS_FILE).write_text(json.dumps({**timings, "rerun_stdout": rerun.stdout}))


@pytest.fixture(scope="session")
def smoke_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's one uninterrupted smoke run, by the first xdist worker that asks (the resume
    test's peer and the end-to-end tests' run: a run costs about 20 s of CPU)."""
    return built_once(run_root(tmp_path_factory), "smoke-by-command", run_smoke_command)


@pytest.fixture(scope="module")
def smoke_by_command(
    smoke_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> SmokeByCommand:
    """A copy of it for the module, its MLflow store repointed at the copy."""
    target = tmp_path_factory.mktemp("smoke")
    copy_state(smoke_template, target)
    timings = json.loads((target / TIMINGS_FILE).read_text())
    return SmokeByCommand(
        state_dir=target / "var", events_before_rerun=target / EVENTS_BEFORE_RERUN, **timings
    )


@pytest.fixture(scope="module")
def smoke_run(smoke_by_command: SmokeByCommand) -> RunResult:
    """The smoke scenario, uninterrupted: the peer every other run is compared with (the
    finished run, read back)."""
    return run_scenario(smoke(), smoke_by_command.state_dir)
