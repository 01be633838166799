"""Run world weeks through the monitor, as the capstone will; run its command as a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from phase1_foundations.scenarios import Scenario
from phase1_foundations.settings import PROJECT_ROOT
from phase1_foundations.world import World
from phase4_monitoring.__main__ import main
from phase4_monitoring.lesson.scenarios import phase4_scenario
from phase4_monitoring.lesson.weeks import labeled_week
from phase4_monitoring.monitor import WindowReport, monitor_window
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.tests.conftest import Registered, WorldChampion
from testing.cli import run_in_process

ALERTS = PROJECT_ROOT / "phase4_monitoring" / "alerts.yml"  # the shipped Prometheus rules
LOYAL_CUSTOMERS_LEAVE = phase4_scenario("loyal_customers_leave")  # harm without drift


def check_week(
    champion: WorldChampion,
    params: MonitoringParams,
    scenario: str | Scenario,
    week: int,
    *,
    seed: int = 7,
    rows: int = 2_000,
    labels: bool = False,
) -> WindowReport:
    """One world week through every check; with its released labels when ``labels``. Scored as
    the service scores it: phase 3's fast path, verified equal to ``predict_proba`` when
    compiled (a million-row week scores in a second instead of several)."""
    assert champion.served is not None, "the world champion is no longer the linear pipeline"
    batch = World(seed, scenario, rows_per_week=rows).week(week)
    frame = labeled_week(batch) if labels else batch.features
    return monitor_window(frame, champion.reference, params, scorer=champion.score_model_frame)


ROWS = 3_000


def run_check(
    registered: Registered, *args: str | Path, state_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLOPS_STATE_DIR"] = str(state_dir or registered.settings.state_dir)
    return subprocess.run(
        [sys.executable, "-m", "phase4_monitoring", "check", *map(str, args)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def week_file(path: Path, scenario: str, week: int, labels: bool = False) -> Path:
    batch = World(21, scenario, rows_per_week=ROWS).week(week)
    frame = labeled_week(batch) if labels else batch.features
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def run_main(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The same command in this process; its output captured like a subprocess's."""
    return run_in_process(main, "check", *args)
