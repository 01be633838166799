"""Every scenario played to the end on the real system, with its best response and wrong ones
(``testing.drills.play_branches``: forked at the first signal of its cause, a control two weeks
past its hidden injection, each fork declares the right diagnosis with another response; the
best must score highest, and the debrief must name the signal that pointed at the cause), the
false-alarm evidence of a quiet drill, and the two ways a drill is read as it plays: the
dashboard, and the headless CLI the lesson runs.

The slow model's drill spends most of its time waiting (each of its scoring calls sleeps), so it
plays in another process from the module's start while the module's other drills use the CPU;
they take about as long as its waits, so one module holds them all. One bootstrapped champion
per seed is shared by every drill, and with the run's other drill modules (``testing.drills``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from phase1_foundations.settings import Settings
from simulator.dashboard import dashboard, write_evidently
from simulator.engine import advance, start_drill, week_signals
from testing.drills import (
    BRANCHES,
    SEED,
    Branches,
    branches_aside,
    check_branches,
    drill_state,
    play_branches,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LESSON = ROOT / "simulator" / "README.md"
ASIDE = "heavy_model"  # its calls sleep: played in another process, waited for last
SCENARIOS = sorted(BRANCHES, key=lambda name: name == ASIDE)


@pytest.fixture(scope="module", autouse=True)
def aside(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Callable[[], Branches]]]:
    """The slow drill's branches, started before the module's first test if it is to run."""
    selected = {
        item.callspec.params.get("name")
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    }
    if ASIDE not in selected:
        yield {}
        return
    with branches_aside(ASIDE, drill_state(tmp_path_factory, "drills-aside", SEED)) as played:
        yield {ASIDE: played}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return drill_state(tmp_path_factory, "drills", SEED, SEED + 1)


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


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_best_response_scores_highest_and_the_debrief_names_the_signal(
    name: str, settings: Settings, aside: dict[str, Callable[[], Branches]]
) -> None:
    results = aside[name]() if name in aside else play_branches(name, settings)
    check_branches(name, results)
