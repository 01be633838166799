"""`make capstone` as a new user runs it: a fresh copy of the project, nothing prepared but the
locked environment's cache; then the lesson's commands, in that copy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phase5_capstone.events import read_events
from phase5_capstone.params import load_capstone_params
from phase5_capstone.scenario import load_scenario
from phase5_capstone.summary import check_beats
from testing.clone import Clone, make_clone
from testing.readme import assert_make_runs

pytestmark = pytest.mark.slow
TIMEOUT_S = 1200


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Clone:
    return make_clone(tmp_path_factory.mktemp("capstone-clone"), bootstrap=False)


@pytest.fixture(scope="module")
def first_run(clone: Clone) -> str:
    """What the terminal shows: standard output, then standard error (the progress bar)."""
    done = clone.make("capstone", timeout=TIMEOUT_S)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return f"{done.stdout}\n{done.stderr}"


# How library log lines look on a terminal: MLflow's handler, Python's default handler and
# basicConfig, alembic's and uvicorn's formats, and MLflow's bare prints when registering.
LIBRARY_LINE = re.compile(
    r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR) "
    r"|(DEBUG|INFO|WARNING|ERROR|CRITICAL):[a-zA-Z_.]*:"
    r"|(DEBUG|INFO|WARNING|ERROR)  \[[a-z_.]+\]"
    r"|(INFO|WARNING|ERROR): +"
    r"|Successfully registered model |Created version '|Registered model '"
    r"|.*(FutureWarning|DeprecationWarning|UserWarning): )"
)


def test_make_capstone_shows_no_library_log_line(clone: Clone, first_run: str) -> None:
    lines = [line.strip() for line in re.split(r"[\r\n]+", first_run)]
    assert [line for line in lines if LIBRARY_LINE.match(line)] == []
    # The lines were written, to the file the run names, not lost: the check above can fail.
    log = clone.root / "var" / "logs" / "capstone.log"
    assert f"library log lines: {log}" in first_run
    written = log.read_text()
    assert "Detected uv project" in written  # MLflow logs it on every model it logs
    assert "Created version '1' of model 'churn-model'" in written


def test_make_capstone_runs_the_default_scenario_as_designed(clone: Clone, first_run: str) -> None:
    events = read_events(clone.root / "var" / "capstone" / "default" / "events.jsonl")
    yardstick = load_capstone_params(clone.root / "params.yaml").yardstick
    results = check_beats(events, load_scenario("default").beats, yardstick)
    assert [beat.name for beat, ok in results if ok is not True] == []  # every beat shown
    assert "NOT SHOWN" not in first_run
    assert (clone.root / "var" / "capstone" / "default" / "timeline.html").is_file()
    # The run against the world's yardsticks, its notation, and the state it leaves.
    assert re.search(r"^regret \$[\d,]+ of the oracle's \$[\d,]+ \(\d+\.\d%\)", first_run, re.M)
    fixed = re.search(
        r"degraded from week 5 .*: v(\d+) promoted in week (\d+), (\d+) week", first_run
    )
    assert fixed is not None, first_run[-4000:]
    assert int(fixed.group(3)) <= 3  # the first concept drift's fix, within 3 weeks of its labels
    assert "how to read it:" in first_run
    assert re.search(r"^state at the end: v\d+ .*serves, since week \d+", first_run, re.M)
    assert "still open:" in first_run


def test_make_check_phase5_reads_the_run_and_passes(clone: Clone, first_run: str) -> None:
    done = clone.make("check-phase5", timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("[shown]") == len(load_scenario("default").beats)


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
    events = read_events(clone.root / "var" / "capstone" / "default" / "events.jsonl")
    fix = next(e.model_version for e in events if e.kind == "promoted")
    explained = clone.sh("python -m phase5_capstone explain --week 20")
    assert f"served: champion v{fix}" in explained.stdout
    assert "dAUC" in explained.stdout  # why it serves: the gate's paired comparison, interval
    summary = clone.sh("python -m phase5_capstone summary")
    assert summary.returncode == 0, summary.stderr
    assert "stopped by a guardrail" in summary.stdout
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
            "bench-policy": "-m bench.bench_policy",
            "check-phase5": "-m phase5_capstone.lesson selfcheck",
            "capstone-ui": "dev -m phase5_capstone.orchestrator --host 127.0.0.1 --port 3000",
            "capstone-ui DAGSTER_PORT=3100": "--host 127.0.0.1 --port 3100",
        }
    )
