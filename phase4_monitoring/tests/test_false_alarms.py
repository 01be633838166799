"""Healthy control: clean world weeks, each with its own seed, must raise nothing.

Every judged effect counts only above its threshold and when its noise floor (the 99%
quantile of the effect under no change) is at most 3/4 of that threshold, so a clean week
alarms only if noise exceeds its own 99% quantile by a third at least. Across the ~60 judged
effects of a week that should stay well under 1% of weeks; the tests assert at most 1% at
2,000 rows (over 100 weeks) and none at 1,000,000 rows (over 20 weeks). Seeds are fixed, so the
counts are reproducible; the lesson reports them.
"""

from __future__ import annotations

import pytest

from phase2_pipelines.evidence import Verdict
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.tests.conftest import WorldChampion
from phase4_monitoring.tests.helpers import check_week
from testing.expectations import expectation

CLEAN_WEEK = 12  # any week: the baseline world never changes
SMALL_WEEKS = 100
LARGE_WEEKS = 20


def false_alarms(
    champion: WorldChampion, params: MonitoringParams, weeks: int, rows: int
) -> list[str]:
    alarms = []
    for seed in range(1_000, 1_000 + weeks):
        report = check_week(
            champion, params, "baseline", CLEAN_WEEK, seed=seed, rows=rows, labels=True
        )
        if report.verdict in (Verdict.ALERT, Verdict.FAIL):
            alarms.append(f"seed {seed}: {report.reason}")
    return alarms


def test_clean_weeks_of_2000_rows_raise_at_most_one_percent(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    alarms = false_alarms(world_champion, monitoring_params, SMALL_WEEKS, 2_000)
    print(f"false alarms at 2,000 rows: {len(alarms)} of {SMALL_WEEKS} clean weeks")
    bound = expectation("monitor_false_alarm_weeks_2000_rows")
    assert bound.holds(len(alarms)), f"{bound.explain(len(alarms))}: {alarms}"


@pytest.mark.slow
def test_clean_weeks_of_a_million_rows_raise_nothing(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    alarms = false_alarms(world_champion, monitoring_params, LARGE_WEEKS, 1_000_000)
    print(f"false alarms at 1,000,000 rows: {len(alarms)} of {LARGE_WEEKS} clean weeks")
    bound = expectation("monitor_false_alarm_weeks_1m_rows")
    assert bound.holds(len(alarms)), f"{bound.explain(len(alarms))}: {alarms}"
