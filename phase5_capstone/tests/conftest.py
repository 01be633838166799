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
from phase5_capstone.events import Event, EventLog, read_events
from phase5_capstone.faults import Fault
from phase5_capstone.runner import RETRAIN, RunResult, build_context, run
from phase5_capstone.scenario import CapstoneScenario, load_scenario
from phase5_capstone.state import RunPaths
from testing.shared import built_once

SMOKE_ARGS = ("run", "--scenario", "smoke", "--no-progress")
SMOKE_COMMAND = [sys.executable, "-m", "phase5_capstone", *SMOKE_ARGS]
SMOKE_TIMEOUT_S = 600
BEFORE_RERUN = "events-before-rerun.jsonl"
TIMINGS = "timings.json"


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


def smoke_env(state: Path) -> dict[str, str]:
    """The smoke command's environment: its state directory is ``state``."""
    return {**os.environ, "MLOPS_STATE_DIR": str(state)}


@dataclass(frozen=True)
class Uninterrupted:
    """The smoke scenario by its command, never killed, then the same command once more."""

    paths: RunPaths
    events: list[Event]  # as the run left them, before the rerun
    seconds: float  # the whole run
    restart_seconds: float  # the rerun of the finished run: start-up, read back, nothing to do
    rerun_stdout: str


def _run_smoke_command(directory: Path) -> None:
    """Run the smoke command to its end, keep its log as it left it, then run it again."""
    env = smoke_env(directory / "state")
    started = time.perf_counter()
    done = subprocess.run(SMOKE_COMMAND, env=env, capture_output=True, timeout=SMOKE_TIMEOUT_S)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    shutil.copy2(RunPaths.of(directory / "state", "smoke").events, directory / BEFORE_RERUN)
    started = time.perf_counter()
    rerun = subprocess.run(
        SMOKE_COMMAND, env=env, capture_output=True, text=True, timeout=SMOKE_TIMEOUT_S
    )
    restart_seconds = time.perf_counter() - started
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    timings = {"seconds": seconds, "restart_seconds": restart_seconds, "stdout": rerun.stdout}
    (directory / TIMINGS).write_text(json.dumps(timings))


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Uninterrupted:
    """One uninterrupted smoke run per test session, shared by every module (and xdist worker)
    that compares with it; tests that change a run work on a copy."""
    directory = built_once(tmp_path_factory, "smoke-uninterrupted", _run_smoke_command)
    timings = json.loads((directory / TIMINGS).read_text())
    return Uninterrupted(
        paths=RunPaths.of(directory / "state", "smoke"),
        events=read_events(directory / BEFORE_RERUN),
        seconds=timings["seconds"],
        restart_seconds=timings["restart_seconds"],
        rerun_stdout=timings["stdout"],
    )


@pytest.fixture(scope="session")
def smoke_run(uninterrupted: Uninterrupted) -> RunResult:
    """The smoke scenario, uninterrupted: the peer every other run is compared with."""
    paths = uninterrupted.paths
    last = paths.read_outcome(smoke().weeks - 1, RETRAIN)
    assert last is not None, f"{paths.root} did not finish"
    return RunResult(paths, last.state, already_finished=False, events=EventLog.open(paths.events))
