"""The world benchmark still runs (tiny volume, sample reference); its timings are not judged."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.bench_world import main, run
from phase1_foundations import world as world_module
from phase1_foundations.world import calibrate_default_world

ROWS = 200


def test_run_measures_one_week(telco_sample: pd.DataFrame) -> None:
    result = run(ROWS, seed=3, reference=telco_sample)
    assert result["rows"] == ROWS
    assert result["week_seconds"] > 0
    assert result["peak_traced_mb"] > 0  # tracemalloc saw the week being built
    assert result["max_rss_mb"] > result["peak_traced_mb"]


def test_main_prints_seconds_and_memory(
    telco_sample: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # main() calibrates on the real data; the sample stands in for it here.
    monkeypatch.setattr(world_module, "load_all_customers", lambda: telco_sample)
    calibrate_default_world.cache_clear()
    try:
        main(["--rows", str(ROWS), "--seed", "3"])
    finally:
        calibrate_default_world.cache_clear()
    printed = capsys.readouterr().out
    assert f"rows generated:            {ROWS}" in printed
    assert "one week:" in printed
    assert "MB (tracemalloc)" in printed
    assert "MB (ru_maxrss)" in printed
