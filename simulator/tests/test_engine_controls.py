"""The controls played to the end with their best response and a wrong one (``testing.drills``;
the incidents are in ``test_engine_drills``), the false-alarm evidence of a quiet drill, and the
two ways a drill is read as it plays: the dashboard, and the headless CLI the lesson runs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from phase1_foundations.settings import Settings
from simulator.dashboard import dashboard, write_evidently
from simulator.drills import load_catalogue
from simulator.engine import advance, start_drill, week_signals
from testing.drills import BRANCHES, SEED, check_branches, drill_state, play_branches

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LESSON = ROOT / "simulator" / "README.md"
CONTROLS = [name for name in BRANCHES if not load_catalogue().drill(name).incident]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return drill_state(tmp_path_factory, "drill-controls", SEED, SEED + 1)


@pytest.mark.parametrize("name", CONTROLS)
def test_the_best_response_scores_highest_and_the_debrief_names_the_signal(
    name: str, settings: Settings
) -> None:
    check_branches(name, play_branches(name, settings))


def test_the_healthy_control_fires_no_signal(settings: Settings) -> None:
    """The false-alarm evidence: every signal, every week of a quiet drill, silent."""
    record = start_drill("healthy", seed=SEED + 1, settings=settings, drill_id="healthy-quiet")
    record = advance(record.drill_id, record.weeks, settings=settings)
    fired = week_signals(record, settings)
    assert len(fired) == record.weeks
    assert [f for f in fired if f] == []


def test_the_dashboard_shows_the_weeks_played_and_writes_evidently_on_demand(
    settings: Settings,
) -> None:
    record = start_drill("unit_change", seed=SEED, settings=settings, drill_id="unit-dashboard")
    record = advance(record.drill_id, record.inject_week + 1, settings=settings)
    board = dashboard(record, settings)
    assert [panel.week for panel in board.weeks] == list(range(record.week))
    healthy, broken = board.weeks[0], board.weeks[record.inject_week]
    assert healthy.error_rate == 0
    assert sum(healthy.score_histogram) == pytest.approx(1.0, abs=1e-3)
    assert healthy.latency_ms_per_call is not None
    assert set(healthy.feature_psi) >= {"tenure", "monthlycharges"}
    assert broken.error_rate == 1  # quarantined: nobody scored
    assert "data_quality" in broken.alerts
    assert board.weeks[1].realized_auc is not None  # week 1's labels arrived in week 2
    html = write_evidently(record, record.inject_week, settings)
    assert html.stat().st_size > 10_000
    assert "monthlycharges" in html.read_text(errors="replace")


LESSON_ACTIONS = "simulator/examples/bad_model-rollback.yml"


def test_play_headless_from_an_actions_file(settings: Settings) -> None:
    """The lesson's command, as a script runs it: the score breakdown as JSON on stdout,
    progress on stderr, and the score the lesson's exercise quotes for it."""
    played = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator",
            "play",
            "bad_model",
            "--actions",
            LESSON_ACTIONS,
            "--seed",
            "1",
            "--state-dir",
            str(settings.state_dir),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert played.returncode == 0, played.stderr[-2000:]
    result = json.loads(played.stdout)
    assert result["scenario"] == "bad_model"
    assert {p["name"] for p in result["parts"]} == {
        "detection",
        "signal",
        "root_cause",
        "response",
        "customer_impact",
        "discipline",
    }
    assert result["total"] == pytest.approx(sum(p["points"] for p in result["parts"]), abs=0.01)
    assert [d["response"] for d in result["declarations"]] == ["roll_back"]
    assert "week 12 of 12" in played.stderr  # progress went to stderr
    # the exercise quotes this run's score: the lesson and the system must agree
    quoted = re.search(r"the rollback\s+scored ([\d.]+) of 100", LESSON.read_text())
    assert quoted, "the lesson no longer quotes the rollback's score"
    assert result["total"] == pytest.approx(float(quoted.group(1)), abs=0.05)
