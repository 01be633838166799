"""Run world weeks through the monitor, as the capstone will."""

from __future__ import annotations

from functools import cache

from sklearn.pipeline import Pipeline

from phase1_foundations.scenarios import Scenario
from phase1_foundations.world import World
from phase3_serving.compiled import LinearScorer
from phase4_monitoring.lesson.scenarios import phase4_scenario
from phase4_monitoring.lesson.weeks import labeled_week
from phase4_monitoring.monitor import Scorer, WindowReport, monitor_window
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.tests.conftest import WorldChampion

LOYAL_CUSTOMERS_LEAVE = phase4_scenario("loyal_customers_leave")  # harm without drift


@cache
def served_scorer(model: Pipeline) -> Scorer:
    """The champion's scores as the service computes them: phase 3's fast path, verified equal
    to ``predict_proba`` when compiled (the capstone's weeks are scored by the service). A
    million-row week scores in a second instead of several."""
    fast = LinearScorer.compile(model)
    assert fast is not None, "the world champion is no longer the linear pipeline"
    return fast.score_frame


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
    """One world week through every check; with its released labels when ``labels``."""
    batch = World(seed, scenario, rows_per_week=rows).week(week)
    frame = labeled_week(batch) if labels else batch.features
    return monitor_window(frame, champion.reference, params, scorer=served_scorer(champion.model))
