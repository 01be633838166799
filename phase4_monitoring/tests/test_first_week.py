"""Both replays serve from the week after the champion's cutoff, wherever params.yaml puts it.

The champion is trained at the end of ``data.world.cutoff_week``: served a week earlier it would
be scored on weeks it was trained at; served later, weeks go unwatched. A copy of params.yaml
with another cutoff moves the self-check's replays and the walkthrough's weeks with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from phase1_foundations.world import World
from phase2_pipelines.params import PARAMS_FILE
from phase4_monitoring.lesson import selfcheck, walkthrough
from phase4_monitoring.lesson.replay import (
    MonitoredWorld,
    Serving,
    train_world_champion,
    world_params,
)
from phase4_monitoring.params import MonitoringParams
from testing.store import isolated_mlflow

MOVED_BY = 2


def project_cutoff() -> int:
    cutoff: int = yaml.safe_load(PARAMS_FILE.read_text())["data"]["world"]["cutoff_week"]
    return cutoff


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """params.yaml with the cutoff two weeks later, and nothing else changed."""
    raw = yaml.safe_load(PARAMS_FILE.read_text())
    raw["data"]["world"]["cutoff_week"] = project_cutoff() + MOVED_BY
    path = tmp_path_factory.mktemp("params") / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_the_self_check_replays_from_the_week_after_the_cutoff(
    moved: Path, monitoring_params: MonitoringParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    cutoff = project_cutoff() + MOVED_BY
    champion = train_world_champion(monitoring_params, params_file=moved)
    assert champion.params.data.world.cutoff_week == cutoff  # trained as the copy says
    replays: list[tuple[list[int], range]] = []

    def record(
        world: World, schedule: tuple[Serving, ...], weeks: range, params: MonitoringParams
    ) -> MonitoredWorld:
        replays.append(([s.week for s in schedule], weeks))
        return MonitoredWorld((), (), ())

    monkeypatch.setattr(selfcheck, "monitor_world", record)
    selfcheck.check_policy(monitoring_params, champion)
    assert len(replays) >= 4  # the controls, harmless drift, harm, broken data
    for served_from, weeks in replays:
        assert served_from == [cutoff + 1]
        assert weeks.start == cutoff + 1


def test_the_walkthrough_weeks_follow_the_project_cutoff() -> None:
    weeks = walkthrough.Weeks.of(world_params())
    assert (weeks.first, weeks.drift) == (project_cutoff() + 1, project_cutoff() + 2)
    assert weeks.last - weeks.first == walkthrough.DRIFTED_WEEKS


@pytest.mark.slow
def test_the_walkthrough_serves_its_champion_from_the_week_after_its_cutoff(
    moved: Path, tmp_path: Path
) -> None:
    cutoff = project_cutoff() + MOVED_BY
    with (
        pytest.MonkeyPatch.context() as patch,
        isolated_mlflow(patch, tmp_path / "var") as settings,
    ):
        champion = walkthrough.ensure_champion(settings, moved)  # phase 2's pipeline, registered
    assert champion.run_params.data.world.cutoff_week == cutoff  # what its run recorded
    weeks = walkthrough.Weeks.of(champion.run_params)
    assert (weeks.first, weeks.drift) == (cutoff + 1, cutoff + 2)
    drift = walkthrough.promotion_backfires(weeks.drift)
    assert {effect.start_week for effect in drift.world} == {cutoff + 2}
