"""Labeled windows from the world simulator, for pipelines that train on simulated weeks."""

from __future__ import annotations

import pandas as pd

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.world import World
from phase2_pipelines.params import WorldWindow


def labeled_weeks(world: World, start: int, stop: int) -> pd.DataFrame:
    """The emitted features of weeks [start, stop) joined with their churn labels.

    The features are exactly what the service saw, corruptions included, so a bad week reaches
    validation (and quarantine) rather than being quietly repaired here.
    """
    frames = [
        batch.features.merge(batch.labels[[ID_COLUMN, LABEL_COLUMN]], on=ID_COLUMN, how="left")
        for batch in world.weeks(start, stop)
    ]
    return pd.concat(frames, ignore_index=True)


def load_world_window(window: WorldWindow) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training weeks and the later holdout weeks, each with its (eventually released) labels."""
    world = World(window.seed, window.scenario, rows_per_week=window.rows_per_week)
    return (
        labeled_weeks(world, *window.train_weeks),
        labeled_weeks(world, *window.holdout_weeks),
    )
