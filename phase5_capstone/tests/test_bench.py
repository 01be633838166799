"""The capstone benchmark measures a real run and says where the time goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_capstone import time_run
from phase5_capstone.runner import BOOTSTRAP, STEPS

pytestmark = pytest.mark.slow


def test_bench_reports_weekly_percentiles_and_the_steps(tmp_path: Path) -> None:
    timing = time_run("smoke", 6, tmp_path)
    assert timing.weeks == 6
    assert len(timing.week_seconds) == 6
    assert all(seconds > 0 for seconds in timing.week_seconds)  # every week ran and was timed
    expected = {name for name, _ in STEPS} | {"retrain", BOOTSTRAP, "startup+other"}
    assert set(timing.step_seconds) == expected
    assert sum(timing.step_seconds.values()) == pytest.approx(timing.total_s)
    text = timing.render()
    assert "p50" in text
    assert "p99" in text
