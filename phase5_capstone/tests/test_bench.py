"""The capstone benchmark measures a real run and says where the time goes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

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


def test_bench_policy_judges_each_policy_against_the_oracle(tmp_path: Path) -> None:
    """``make bench-policy`` on a one-seed suite: the smoke scenario under the policy before
    issue 17 and the one after, each a real capstone run, judged in dollars. The oracle is the
    world's truth (``truth.py``), not the policy's own evidence."""
    from bench.bench_policy import SUITE_FILE, main

    suite = yaml.safe_load(SUITE_FILE.read_text())
    small = tmp_path / "suite.yml"
    small.write_text(
        yaml.safe_dump(
            {
                "scenarios": [{"name": "smoke", "seeds": [7], "control": False}],
                "policies": suite["policies"],
            }
        )
    )
    lesson = tmp_path / "README.md"
    lesson.write_text("before\n<!-- bench-policy:begin -->\nold\n<!-- bench-policy:end -->\n")
    args = ["--suite", str(small), "--workers", "1", "--write-lesson", "--lesson", str(lesson)]
    assert main(args) == 0
    text = lesson.read_text()
    assert "old" not in text
    rows = dict(re.findall(r"^\| (today|new) \| (\$[\d,]+) \|", text, re.M))
    assert set(rows) == {"today", "new"}
    today, new = (int(rows[p].strip("$").replace(",", "")) for p in ("today", "new"))
    assert 0 < new < today  # the smoke drift: the new policy recovers sooner, at its own threshold
    assert "time to recover" in text
    assert "p99" in text
