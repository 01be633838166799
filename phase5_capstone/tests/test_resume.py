"""A run killed with SIGKILL at several points of a week, then resumed, decides exactly what an
uninterrupted run decides: the same events (less timestamps, run ids and timings), none lost or
repeated, and no extra model version in the registry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from phase5_capstone.events import read_events
from phase5_capstone.runner import RunResult
from phase5_capstone.state import RunPaths

pytestmark = pytest.mark.slow
COMMAND = [sys.executable, "-m", "phase5_capstone", "run", "--scenario", "smoke", "--no-progress"]
# The kill lands just after this step's outcome is on disk, so inside the next step (the one
# after "decide" of week 8 is the retrain that trains, registers and stages a challenger).
KILL_AFTER = (
    (1, "ingest", 0.0),
    (3, "labels", 0.05),
    (5, "ingest", 0.0),
    (8, "decide", 0.5),
    (9, "score", 0.0),
    (10, "score", 0.2),
)
TIMEOUT_S = 300


def _versions(root: Path) -> list[str]:
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    return sorted(str(v.version) for v in client.search_model_versions("name='churn-model'"))


def _kill_when(path: Path, delay: float, env: dict[str, str]) -> None:
    process = subprocess.Popen(
        COMMAND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while not path.exists():
            assert process.poll() is None, f"the run ended before {path} appeared"
            assert time.monotonic() < deadline, f"{path} did not appear in time"
            time.sleep(0.01)
        time.sleep(delay)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


def test_killed_and_resumed_run_decides_like_an_uninterrupted_one(
    smoke_run: RunResult, tmp_path: Path
) -> None:
    env = {**os.environ, "MLOPS_STATE_DIR": str(tmp_path)}
    paths = RunPaths.of(tmp_path, "smoke")
    for week, step, delay in KILL_AFTER:
        _kill_when(paths.outcome(week, step), delay, env)
    subprocess.run(COMMAND, env=env, check=True, capture_output=True, timeout=TIMEOUT_S)

    resumed = read_events(paths.events)
    expected = list(smoke_run.events)
    assert [e.seq for e in resumed] == list(range(len(resumed)))  # none lost, none twice
    assert len({e.key for e in resumed}) == len(resumed)
    assert [e.comparable() for e in resumed] == [e.comparable() for e in expected]
    assert _versions(paths.root) == _versions(smoke_run.paths.root)  # no duplicate versions


def test_a_rerun_of_a_finished_run_redoes_nothing(smoke_run: RunResult, tmp_path: Path) -> None:
    env = {**os.environ, "MLOPS_STATE_DIR": str(smoke_run.paths.root.parents[1])}
    before = smoke_run.paths.events.read_bytes()
    done = subprocess.run(COMMAND, env=env, check=True, capture_output=True, text=True)
    assert "finished already" in done.stdout
    assert smoke_run.paths.events.read_bytes() == before
