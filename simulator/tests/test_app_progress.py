"""The Progress page and the course-progress rules it shows, on hand-made state directories."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from phase1_foundations.settings import PROJECT_ROOT, Settings, get_settings
from phase2_pipelines.gate import GateCheck, GateDecision
from phase5_capstone.state import Manifest
from simulator.pages.course import course_progress
from simulator.records import DrillRecord, ScoreBreakdown, ScorePart, SimulatorPaths

APP = PROJECT_ROOT / "simulator" / "app.py"
RAW = PROJECT_ROOT / "data" / "raw" / "telco"


def _settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", data_dir=tmp_path / "data")


def _copy_raw(settings: Settings) -> Path:
    target = settings.raw_data_dir / "telco"
    target.mkdir(parents=True)
    for name in ("train.csv", "test.csv"):
        shutil.copy(RAW / name, target / name)
    return target


def _finished_run(state: Path, run: str) -> Path:
    folder = state / "capstone" / run
    folder.mkdir(parents=True)
    manifest = Manifest(run=run, scenario="default", scenario_fingerprint="x", weeks=3)
    (folder / "run.json").write_text(
        manifest.model_copy(update={"finished": True}).model_dump_json()
    )
    return folder


def _drill(drill_id: str, run_dir: Path, *, points: float | None) -> DrillRecord:
    score = None
    if points is not None:
        part = ScorePart(name="detection", points=points, max_points=25, explanation="late")
        score = ScoreBreakdown(parts=(part,))
    return DrillRecord(
        drill_id=drill_id,
        scenario="null_flood",
        title="Nulls flood a column",
        seed=1,
        weeks=4,
        inject_week=2,
        week=4 if score else 1,
        started_at=f"2026-01-0{len(drill_id)}T10:00:00+00:00",
        finished_at="2026-01-01T11:00:00+00:00" if score else None,
        score=score,
        run_dir=str(run_dir),
    )


def test_nothing_run_yet_counts_nothing(tmp_path: Path) -> None:
    phases = course_progress(_settings(tmp_path), set())
    assert [phase.phase for phase in phases] == [1, 2, 3, 4, 5]
    assert not any(phase.run for phase in phases)  # an empty state dir proves nothing


def test_each_phase_counts_once_its_artifact_is_there(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _copy_raw(settings)
    gate = settings.state_dir / "pipeline" / "gate" / "gate.json"
    gate.parent.mkdir(parents=True)
    check = GateCheck.judged("floor", True, "auc 0.84 >= 0.80")
    gate.write_text(GateDecision(promote=True, checks=[check]).model_dump_json())
    (settings.state_dir / "predictions").mkdir()
    (settings.state_dir / "predictions" / "part-0.csv").write_text("x\n1\n")
    report = settings.state_dir / "phase4" / "reports" / "week-13" / "drift.html"
    report.parent.mkdir(parents=True)
    report.write_text("<html></html>")
    _finished_run(settings.state_dir, "default")
    phases = course_progress(settings, set())
    assert [phase.run for phase in phases] == [True] * 5
    assert "PROMOTE" in phases[1].evidence  # the gate's own summary, read from its file


def test_a_corrupted_csv_or_a_drill_run_does_not_count(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    raw = _copy_raw(settings)
    with (raw / "test.csv").open("a") as handle:
        handle.write("tampered\n")  # the digest no longer matches
    drill_run = _finished_run(settings.state_dir, "drill-1")
    phases = course_progress(settings, {drill_run.resolve()})
    assert not phases[0].run
    assert not phases[4].run  # a finished drill is the simulator's run, not the learner's capstone


def test_a_broken_gate_file_is_reported_not_raised(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    gate = settings.state_dir / "pipeline" / "gate" / "gate.json"
    gate.parent.mkdir(parents=True)
    gate.write_text("{not json")
    phase2 = course_progress(settings, set())[1]
    assert not phase2.run
    assert "unreadable gate decision" in phase2.evidence


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("MLOPS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("MLOPS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_progress_page_shows_phases_and_drill_history(state: Settings) -> None:
    paths = SimulatorPaths.of(state.state_dir)
    run = _finished_run(state.state_dir, "drill-a")
    paths.save_drill(_drill("a", run, points=20))
    paths.save_drill(_drill("bb", run, points=None))
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.switch_page("pages/progress.py").run()
    assert not app.exception
    assert app.title[0].value == "Progress"
    course, drills = app.dataframe[0].value, app.dataframe[1].value
    assert list(course["run"]) == ["not yet"] * 5  # the drill's finished run is not the capstone
    assert list(drills["score"]) == ["20 / 25", "not scored yet"]
    assert list(drills["scenario"]) == ["Nulls flood a column", "(hidden)"]  # no spoiler
    assert "0 of 5 phases run" in app.get("progress")[0].proto.text


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("MLOPS_SEED", "abc", "MLOPS_SEED: Input should be a valid integer"),
        ("MLOPS_STATE_DIR", "{file}", "MLOPS_STATE_DIR"),
    ],
)
def test_a_bad_setting_is_one_line_on_the_page_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("")
    monkeypatch.setenv("MLOPS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv(name, value.format(file=a_file))
    get_settings.cache_clear()
    try:
        app = AppTest.from_file(str(APP), default_timeout=60).run()
    finally:
        get_settings.cache_clear()
    assert not app.exception, app.exception[0].value
    errors = [error.value for error in app.error]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"error: invalid settings: {says}"), errors
    assert not app.title  # no page ran on settings it cannot use


def test_a_page_that_meets_a_bad_params_file_shows_its_line(
    state: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phase2_pipelines.params import ParamsError
    from simulator.pages import common

    def broken() -> SimulatorPaths:
        raise ParamsError("params.yaml: monitoring.drift.psi: Input should be a valid number")

    monkeypatch.setattr(common, "simulator_paths", broken)
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception, app.exception[0].value
    assert [error.value for error in app.error] == [
        "error: params.yaml: monitoring.drift.psi: Input should be a valid number"
    ]
