"""`make capstone` as a new user runs it: a fresh copy of the project, nothing prepared but the
locked environment's cache; then the lesson's commands, in that copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from phase1_foundations.tests.clone import Clone, make_clone
from phase1_foundations.tests.lesson import assert_make_runs
from phase5_capstone.events import read_events
from phase5_capstone.scenario import load_scenario
from phase5_capstone.summary import check_beats

pytestmark = pytest.mark.slow
TIMEOUT_S = 1200


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Clone:
    return make_clone(tmp_path_factory.mktemp("capstone-clone"), bootstrap=False)


@pytest.fixture(scope="module")
def first_run(clone: Clone) -> str:
    done = clone.make("capstone", timeout=TIMEOUT_S)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_make_capstone_runs_the_default_scenario_as_designed(clone: Clone, first_run: str) -> None:
    events = read_events(clone.root / "var" / "capstone" / "default" / "events.jsonl")
    results = check_beats(events, load_scenario("default").beats)
    assert [beat.name for beat, ok in results if ok is not True] == []  # every beat shown
    assert "NOT SHOWN" not in first_run
    assert (clone.root / "var" / "capstone" / "default" / "timeline.html").is_file()


def test_a_second_make_capstone_reports_the_finished_run(clone: Clone, first_run: str) -> None:
    log = clone.root / "var" / "capstone" / "default" / "events.jsonl"
    before = log.read_bytes()
    again = clone.make("capstone", timeout=TIMEOUT_S)
    assert again.returncode == 0, again.stderr
    assert "finished already" in again.stdout
    assert log.read_bytes() == before


def test_explain_summary_and_timeline_commands(clone: Clone, first_run: str) -> None:
    explained = clone.sh("python -m phase5_capstone explain --week 14")
    assert explained.returncode == 0, explained.stderr
    assert "600 rows quarantined, 1,400 scored" in explained.stdout  # the null flood, by row
    explained = clone.sh("python -m phase5_capstone explain --week 20")
    assert "served: champion v3" in explained.stdout
    assert "dAUC" in explained.stdout  # why v3: the gate's paired comparison with its interval
    summary = clone.sh("python -m phase5_capstone summary")
    assert summary.returncode == 0, summary.stderr
    assert "v5 stopped by a guardrail" in summary.stdout
    timeline = clone.sh("python -m phase5_capstone timeline")
    assert timeline.returncode == 0, timeline.stderr
    assert Path(timeline.stdout.strip()).is_file()


def test_make_targets_run_the_capstone_commands() -> None:
    assert_make_runs(
        {
            "capstone": "-m phase5_capstone run",
            "capstone FRESH=1": "-m phase5_capstone run  --fresh",
            "capstone SCENARIO=smoke": "-m phase5_capstone run --scenario smoke",
            "bench-capstone": "-m bench.bench_capstone",
            "capstone-ui": "dev -m phase5_capstone.orchestrator --host 127.0.0.1 --port 3000",
            "capstone-ui DAGSTER_PORT=3100": "--host 127.0.0.1 --port 3100",
        }
    )
