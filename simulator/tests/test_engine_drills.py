"""Every scenario played to the end on the real system, with its best response and wrong ones.

For each scenario the drill is played week by week, as a user would, until a signal of its
cause has fired (the controls: two weeks past the hidden injection week); there it is forked,
and each fork declares the right diagnosis with another response and plays to the end. The
forks differ only in the response, so the best one must score highest, and the debrief must
name the signal that pointed at the cause, from the week it first fired. One bootstrapped
champion is shared by every drill (``engine.bootstrapped``), and with the run's other drill
modules (``testing.drills``).
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
from simulator.engine import advance, declare, finish, fork_drill, start_drill, week_signals
from simulator.records import DrillRecord, Response
from testing.drills import drill_state

pytestmark = pytest.mark.slow

SEED = 0
CATALOGUE = load_catalogue()
ROOT = Path(__file__).resolve().parents[2]
LESSON = ROOT / "simulator" / "README.md"
# The best response first, then the wrong ones a user is most likely to reach for.
BRANCHES: dict[str, tuple[Response, ...]] = {
    "harmless_shift": ("wait_and_watch", "retrain_recent"),
    "concept_drift": ("retrain_recent", "wait_and_watch"),
    "schema_break": ("quarantine_hotfix", "wait_and_watch"),
    "null_flood": ("page_upstream", "quarantine_hotfix"),
    "unit_change": ("quarantine_hotfix", "retrain_recent"),
    "swapped_columns": ("quarantine_hotfix", "wait_and_watch"),
    "new_category": ("quarantine_hotfix", "retrain_recent"),
    "label_delay": ("page_upstream", "wait_and_watch"),
    "heavy_model": ("roll_back", "scale"),
    "bad_model": ("roll_back", "retrain_recent"),
    "serving_skew": ("roll_back", "quarantine_hotfix"),
    "mixed_versions": ("scale", "roll_back"),
    "label_hiccup": ("wait_and_watch", "page_upstream"),
    "healthy": ("wait_and_watch", "retrain_recent"),
}


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return drill_state(tmp_path_factory, "drills", SEED)


def play_to_first_signal(name: str, settings: Settings) -> DrillRecord:
    """Week by week until a signal of the cause fired (a control: two weeks past injection)."""
    spec = CATALOGUE.drill(name)
    record = start_drill(name, seed=SEED, settings=settings, drill_id=f"{name}-prefix")
    # Nothing of the cause can fire before the injection: play those weeks in one go.
    record = advance(record.drill_id, record.inject_week + 1, settings=settings)
    last = record.weeks - 2
    fired = week_signals(record, settings)
    while record.week < last and not (
        spec.incident and any(signal in fired[-1] for signal in spec.signals)
    ):
        if not spec.incident and record.week >= record.inject_week + 2:
            break
        record = advance(record.drill_id, settings=settings)
        fired = week_signals(record, settings)
    return record


def play_branches(name: str, settings: Settings) -> dict[Response, DrillRecord]:
    spec = CATALOGUE.drill(name)
    prefix = play_to_first_signal(name, settings)
    results = {}
    for response in BRANCHES[name]:
        fork = fork_drill(prefix.drill_id, f"{name}-{response}", settings=settings)
        if spec.signals or response != "wait_and_watch":  # the healthy control: say nothing
            signal = spec.signals[0] if spec.signals else "feature_drift"
            declare(fork.drill_id, signal, spec.root_cause, response, settings=settings)
        results[response] = finish(fork.drill_id, settings=settings)
    return results


def summary(results: dict[Response, DrillRecord]) -> str:
    rows = []
    for response, record in results.items():
        assert record.score is not None
        parts = {p.name: p.points for p in record.score.parts}
        rows.append(f"{response}: {record.score.total:.1f} {parts}")
    return "; ".join(rows)


@pytest.mark.parametrize("name", list(BRANCHES))
def test_the_best_response_scores_highest_and_the_debrief_names_the_signal(
    name: str, settings: Settings
) -> None:
    spec = CATALOGUE.drill(name)
    results = play_branches(name, settings)
    print(f"\n{name} (inject week {next(iter(results.values())).inject_week}): {summary(results)}")
    for record in results.values():
        assert record.finished
        assert record.week == record.weeks  # played to the end
    best, *wrong = BRANCHES[name]
    best_score = results[best].score
    assert best_score is not None
    best_total = best_score.total
    for response in wrong:
        other = results[response].score
        assert other is not None
        assert best_total > other.total, f"{best} should beat {response}: {summary(results)}"
    sightings = {s.signal: s for s in results[best].debrief}
    if spec.incident:
        seen = [sightings[s] for s in spec.signals if sightings[s].first_week is not None]
        assert seen, f"no signal of the cause fired: {results[best].debrief}"
        assert all(
            s.first_week is not None and s.first_week >= results[best].inject_week for s in seen
        )
        assert all("points to the cause" in s.detail for s in seen)
    else:
        assert all(
            s.signal in spec.signals or s.signal == "feature_drift" for s in sightings.values()
        )


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
