"""The lesson's demonstrations run as written: a KS p-value on a harmless change, world weeks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.settings import PROJECT_ROOT
from phase4_monitoring.lesson.demo import effect_versus_pvalue
from phase4_monitoring.params import MonitoringParams


def test_a_harmless_change_on_many_rows_is_significant_but_small(
    monitoring_params: MonitoringParams,
) -> None:
    demo = effect_versus_pvalue(200_000, seed=3, price_change=0.01, params=monitoring_params)
    assert demo.ks_p_value < 1e-6  # "significant" by any p-value threshold
    assert demo.wasserstein < monitoring_params.drift.wasserstein / 2  # and yet a small effect
    assert demo.verdict.startswith("ok")


def test_a_real_change_is_both_significant_and_large(monitoring_params: MonitoringParams) -> None:
    demo = effect_versus_pvalue(20_000, seed=3, price_change=0.25, params=monitoring_params)
    assert demo.ks_p_value < 1e-6
    assert demo.verdict.startswith("alert")


@pytest.mark.slow
def test_pvalues_command_runs_as_written() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "phase4_monitoring.lesson", "pvalues"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    assert "two clean weeks of 1,000,000 customers" in result.stdout
    assert "'significant' yes" in result.stdout
    assert "our verdict: ok" in result.stdout


def test_world_week_writes_a_week_to_check(tmp_path: Path) -> None:
    from phase4_monitoring.lesson.__main__ import main

    path = tmp_path / "var" / "week.parquet"
    assert main(["world-week", "covariate_shift", "9", str(path), "--labels"]) == 0
    frame = pd.read_parquet(path)
    assert len(frame) == 2_000
    assert LABEL_COLUMN in frame.columns
    assert main(["world-week", "no_such_scenario", "9", str(path)]) == 2
