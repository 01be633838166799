"""Run world weeks through the monitor, as the capstone will."""

from __future__ import annotations

from phase1_foundations.scenarios import Scenario
from phase1_foundations.world import World
from phase4_monitoring.lesson.scenarios import phase4_scenario
from phase4_monitoring.lesson.weeks import labeled_week
from phase4_monitoring.monitor import WindowReport, monitor_window
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.tests.conftest import WorldChampion

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
