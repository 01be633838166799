"""Labeled windows from the world simulator, as they were known at the training cutoff.

A week's churn labels arrive weeks after its customers were scored. A pipeline that runs at the
end of week ``cutoff_week`` can only know the labels released up to then, so it trains and
evaluates on exactly those: the labels come from ``World.labels_released``, week by week, and
never from the batches' hidden truth.
"""

from __future__ import annotations

import pandas as pd

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.scenarios import Scenario
from phase1_foundations.world import EVENT_WEEK_COLUMN, World
from phase2_pipelines.params import WorldWindow
from phase2_pipelines.workdir import StageError


class NotEnoughLabels(StageError):  # noqa: N818 - names the condition, like DataRejected
    """Fewer event weeks have released labels at the cutoff than the window needs."""


def released_labels(world: World, cutoff_week: int) -> pd.DataFrame:
    """Every label released in weeks 0..``cutoff_week``: customer id, churn and event week."""
    return pd.concat(
        [world.labels_released(week) for week in range(cutoff_week + 1)], ignore_index=True
    )


def labeled_weeks(world: World, labels: pd.DataFrame, event_weeks: list[int]) -> pd.DataFrame:
    """The emitted features of ``event_weeks`` joined with their released labels.

    The features are exactly what the service saw, corruptions included, so a bad week reaches
    validation (and quarantine) rather than being quietly repaired here.
    """
    frames = []
    for week in event_weeks:
        known = labels.loc[labels[EVENT_WEEK_COLUMN] == week, [ID_COLUMN, LABEL_COLUMN]]
        frames.append(world.week(week).features.merge(known, on=ID_COLUMN, how="inner"))
    return pd.concat(frames, ignore_index=True)


def split_released_weeks(
    window: WorldWindow, released_weeks: list[int]
) -> tuple[list[int], list[int]]:
    """(training weeks, holdout weeks): the latest released weeks are held out."""
    needed = window.train_weeks + window.holdout_weeks
    if len(released_weeks) < needed:
        raise NotEnoughLabels(
            f"by week {window.cutoff_week} the labels of {len(released_weeks)} event week(s) are"
            f" released; train_weeks + holdout_weeks = {needed}"
        )
    latest = released_weeks[-needed:]
    return latest[: window.train_weeks], latest[window.train_weeks :]


def window_world(
    window: WorldWindow, seed: int | None = None, scenario: Scenario | str | None = None
) -> World:
    """The world a window reads: its rows a week and its label delay, with its seed and scenario
    unless others are given (a replay of later weeks for a model trained on the window)."""
    return World(
        window.seed if seed is None else seed,
        window.scenario if scenario is None else scenario,
        rows_per_week=window.rows_per_week,
        label_delay_weeks=window.label_delay_weeks,
    )


def load_world_window(window: WorldWindow) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training weeks and the later holdout weeks, with only the labels released by the cutoff."""
    world = window_world(window)
    labels = released_labels(world, window.cutoff_week)
    released_weeks = sorted(int(week) for week in labels[EVENT_WEEK_COLUMN].unique())
    train_weeks, holdout_weeks = split_released_weeks(window, released_weeks)
    return labeled_weeks(world, labels, train_weeks), labeled_weeks(world, labels, holdout_weeks)
