"""World-sourced windows respect time: only labels released by the cutoff reach the pipeline."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.world import World
from phase2_pipelines.params import DataParams, WorldWindow, load_params
from phase2_pipelines.stages.ingest import ingest
from phase2_pipelines.workdir import WorkDir
from phase2_pipelines.world_source import NotEnoughLabels, load_world_window, window_world

ROWS = 40
DELAY = 4  # the worlds below release a week's labels this many weeks later (World's default)


def window(**fields: object) -> WorldWindow:
    """A window of this test's own world (seed, scenario, size and delay), and ``fields``."""
    base = {"seed": 42, "scenario": "baseline", "rows_per_week": ROWS, "label_delay_weeks": DELAY}
    return WorldWindow.model_validate({**base, **fields})


def week_of_rows(world: World, frame: pd.DataFrame, weeks: range) -> pd.Series:
    """The event week of each row, looked up in the world's own batches."""
    owner = {cid: week for week in weeks for cid in world.week(week).features[ID_COLUMN]}
    return frame[ID_COLUMN].map(owner)


def true_labels(world: World, weeks: range) -> dict[str, int]:
    labels = pd.concat([world.week(week).labels for week in weeks])
    return dict(zip(labels[ID_COLUMN], labels[LABEL_COLUMN], strict=True))


def test_no_label_released_after_the_cutoff_reaches_training_or_holdout() -> None:
    chosen = window(cutoff_week=10, train_weeks=4, holdout_weeks=2)
    world = World(chosen.seed, chosen.scenario, rows_per_week=ROWS, label_delay_weeks=DELAY)
    train, holdout = load_world_window(chosen)
    weeks = range(0, 12)
    train_weeks = week_of_rows(world, train, weeks)
    holdout_weeks = week_of_rows(world, holdout, weeks)
    for found in (train_weeks, holdout_weeks):
        assert found.notna().all()  # every row is a real customer of some week
        released = [world.label_release_week(int(week)) for week in found]
        assert max(released) <= chosen.cutoff_week  # nothing from the future
    assert set(train_weeks) == {1, 2, 3, 4}  # the four released weeks before the holdout
    assert set(holdout_weeks) == {5, 6}  # the latest released weeks: later than training
    assert world.label_release_week(7) == 11  # week 7's labels exist, but only from week 11
    late = set(world.week(7).features[ID_COLUMN])
    assert late.isdisjoint(train[ID_COLUMN])
    assert late.isdisjoint(holdout[ID_COLUMN])
    truth = true_labels(world, weeks)
    assert all(train[LABEL_COLUMN] == train[ID_COLUMN].map(truth))  # and the labels are right
    assert len(train) == 4 * ROWS
    assert len(holdout) == 2 * ROWS


def test_a_slower_label_feed_moves_the_window_back_in_time() -> None:
    """From week 4, labels take 8 weeks: at week 13 only event weeks 0-5 are known."""
    chosen = window(scenario="label_delay_change", cutoff_week=13, train_weeks=3, holdout_weeks=2)
    world = World(chosen.seed, chosen.scenario, rows_per_week=ROWS, label_delay_weeks=DELAY)
    train, holdout = load_world_window(chosen)
    weeks = range(0, 14)
    assert set(week_of_rows(world, train, weeks)) == {1, 2, 3}
    assert set(week_of_rows(world, holdout, weeks)) == {4, 5}
    # With the usual 4-week delay week 6 would be known by week 10; this world says week 14.
    assert world.label_release_week(6) == 14


def test_too_few_released_weeks_is_a_clear_error() -> None:
    chosen = window(scenario="label_delay_change", cutoff_week=13, train_weeks=8, holdout_weeks=2)
    with pytest.raises(NotEnoughLabels, match="labels of 6 event week"):
        load_world_window(chosen)


def test_a_cutoff_before_enough_labels_is_refused_by_the_params() -> None:
    with pytest.raises(ValidationError, match="need a later cutoff_week"):
        window(cutoff_week=10, label_delay_weeks=4, train_weeks=8, holdout_weeks=2)


def test_the_ingest_stage_reads_the_world_window(tmp_path: Path) -> None:
    chosen = window(cutoff_week=10, train_weeks=4, holdout_weeks=2)
    params = load_params().model_copy(update={"data": DataParams(source="world", world=chosen)})
    summary = ingest(params, WorkDir(tmp_path))
    assert (summary["source"], summary["train_rows"], summary["holdout_rows"]) == (
        "world",
        4 * ROWS,
        2 * ROWS,
    )
    assert summary["dvc_data_version"] is None  # simulated weeks are not DVC-tracked files


def test_a_replay_of_the_window_keeps_its_rows_and_label_delay() -> None:
    """A model trained on the window is replayed on its world's later weeks (phase 4's lesson):
    another seed or scenario, never another week size or label delay than it was trained with."""
    trained = window(
        rows_per_week=300, label_delay_weeks=2, cutoff_week=12, train_weeks=2, holdout_weeks=1
    )
    replay = window_world(trained, seed=7, scenario="covariate_shift")
    assert (replay.rows_per_week, replay.label_delay_weeks) == (300, 2)
    assert len(replay.week(3).features) == 300
    released = replay.labels_released(5)
    assert set(released["event_week"]) == {3}  # week 3's labels come out 2 weeks later
    same = window_world(trained)
    assert same.week(1).features.equals(
        World(trained.seed, trained.scenario, 300, 2).week(1).features
    )
