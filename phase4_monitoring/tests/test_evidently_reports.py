"""Evidently, run on the rows, agrees with the fast checks, run on the profile's bins."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from phase1_foundations.contract import FEATURE_NAMES, LABEL_COLUMN
from phase1_foundations.scenarios import CovariateShift, Scenario
from phase1_foundations.world import World
from phase4_monitoring.drift import check_drift
from phase4_monitoring.evidently_reports import (
    SCORE_COLUMN,
    build_report,
    drifted_columns,
    evidently_frame,
    write_report,
)
from phase4_monitoring.lesson.weeks import labeled_week
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.tests.conftest import WorldChampion

# A fixed case: three features move clearly (two numbers, one category), sixteen do not.
THREE_SHIFTS = Scenario(
    name="three_shifts",
    description="Prices up 30%, tenures 8 months longer, a third more month-to-month.",
    world=(
        CovariateShift(feature="monthlycharges", scale=1.3),
        CovariateShift(feature="tenure", shift=8.0),
        CovariateShift(feature="contract", toward="Month-to-month", fraction=0.35),
    ),
)
DRIFTED = {"monthlycharges", "tenure", "contract"}


@pytest.fixture(scope="module")
def holdout_reference(world_champion: WorldChampion) -> pd.DataFrame:
    holdout = world_champion.holdout
    return evidently_frame(holdout, world_champion.score(holdout), holdout[LABEL_COLUMN].to_numpy())


@pytest.mark.slow
def test_fast_checks_and_evidently_agree_on_which_columns_drifted(
    world_champion: WorldChampion,
    monitoring_params: MonitoringParams,
    holdout_reference: pd.DataFrame,
    tmp_path: Path,
) -> None:
    frame = labeled_week(World(3, THREE_SHIFTS, rows_per_week=5_000).week(1))
    fast = check_drift(frame, world_champion.profile, monitoring_params)
    current = evidently_frame(frame, world_champion.score(frame), frame[LABEL_COLUMN].to_numpy())
    snapshot = build_report(holdout_reference, current, monitoring_params)
    features = drifted_columns(snapshot) & set(FEATURE_NAMES)
    assert set(fast.drifted) == DRIFTED
    assert features == DRIFTED
    files = write_report(snapshot, tmp_path)
    assert "<html" in files.html.read_text()[:2_000].lower()
    metrics = json.loads(files.json.read_text())
    assert any("ValueDrift" in str(m.get("metric_name", "")) for m in metrics["metrics"])


@pytest.mark.slow
def test_report_has_quality_when_labels_exist_and_summary_without(
    monitoring_params: MonitoringParams, holdout_reference: pd.DataFrame
) -> None:
    with_labels = build_report(holdout_reference, holdout_reference, monitoring_params)
    names = [str(m["metric_name"]) for m in with_labels.dict()["metrics"]]
    assert any("RocAuc" in name for name in names)
    assert drifted_columns(with_labels) == set()  # a window is never drifted from itself
    unlabeled = holdout_reference.drop(columns=[LABEL_COLUMN, SCORE_COLUMN])
    without = build_report(holdout_reference, unlabeled, monitoring_params)
    names = [str(m["metric_name"]) for m in without.dict()["metrics"]]
    assert not any("RocAuc" in name for name in names)
    assert any("RowCount" in name for name in names)  # the data summary
