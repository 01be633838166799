"""``make check-phase4`` passes on the project's policy and fails on what the exercise breaks.

The check reads a params file and never writes it; each broken copy lives in a temporary
directory, and the project's own file is compared before and after.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from phase1_foundations.settings import PROJECT_ROOT
from phase1_foundations.world import World
from phase2_pipelines.params import PARAMS_FILE, WorldWindow
from phase4_monitoring.lesson import selfcheck as lesson_selfcheck
from phase4_monitoring.lesson.__main__ import main
from phase4_monitoring.params import load_monitoring_params
from testing.cli import run_in_process

pytestmark = pytest.mark.slow


def selfcheck(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m phase4_monitoring.lesson selfcheck ARGS``, in this process (make's run of the
    same command is the subprocess)."""
    return run_in_process(main, "selfcheck", *args)


def test_make_check_phase4_passes_on_the_projects_policy() -> None:
    before = PARAMS_FILE.read_bytes()
    result = subprocess.run(
        ["make", "--no-print-directory", "check-phase4"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check-phase4: PASS" in result.stdout
    assert result.stdout.count("[PASS]") == 4
    assert PARAMS_FILE.read_bytes() == before  # read, never repaired


ACT_ON = "act_on: [calibration, segment_calibration, segment_roc_auc]"


@pytest.mark.parametrize(
    ("changes", "fails"),
    [
        ((("needs_harm: true", "needs_harm: false"),), "[FAIL] harmless drift"),  # the exercise
        ((("min_labels: 1000", "min_labels: 100000"),), "[FAIL] harm without drift"),
        # A looser AUC margin alone is covered by the segment calibration check; with the
        # realized alerts no longer acting as well, the drop of 0.06 is missed.
        (
            (("auc_drop: 0.03", "auc_drop: 0.3"), (ACT_ON, "act_on: []")),
            "[FAIL] harm without drift",
        ),
    ],
)
def test_check_phase4_fails_on_a_broken_policy(
    tmp_path: Path, changes: tuple[tuple[str, str], ...], fails: str
) -> None:
    broken = PARAMS_FILE.read_text()
    for setting, replacement in changes:
        assert setting in broken
        broken = broken.replace(setting, replacement, 1)
    params = tmp_path / "params.yaml"
    params.write_text(broken)
    result = selfcheck("--params", str(params))
    assert result.returncode == 1, result.stdout + result.stderr
    assert fails in result.stdout
    assert "check-phase4: FAIL" in result.stdout
    assert params.read_text() == broken  # left as the learner wrote it


def test_an_invalid_policy_is_reported_without_a_traceback(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("monitoring:\n  triggers:\n    min_labels: -5\n")
    result = selfcheck("--params", str(params))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "monitoring.triggers.min_labels: Input should be greater than or equal to 1" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_the_replays_run_in_the_champions_own_world(monkeypatch: pytest.MonkeyPatch) -> None:
    """A learner who edits ``data.world`` (rows a week, label delay) retrains the champion on it;
    the self-check's replays then serve that world, not a default one."""
    trained = WorldWindow(
        seed=42, scenario="baseline", rows_per_week=300, label_delay_weeks=2,
        cutoff_week=12, train_weeks=2, holdout_weeks=1,
    )  # fmt: skip
    champion = SimpleNamespace(params=SimpleNamespace(data=SimpleNamespace(world=trained)))
    champion.first_week = trained.first_serving_week
    replayed: list[World] = []

    def first_replay(world: World, *_: object) -> None:
        replayed.append(world)
        raise LookupError("stop at the first replay")

    monkeypatch.setattr(lesson_selfcheck, "monitor_world", first_replay)
    with pytest.raises(LookupError):
        lesson_selfcheck.check_policy(load_monitoring_params(), champion)  # type: ignore[arg-type]
    [world] = replayed
    assert (world.rows_per_week, world.label_delay_weeks) == (300, 2)
