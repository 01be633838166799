"""World weeks as monitoring sees them: the features the service received, and, once
released, their labels. Tests, the benchmark and (later) the capstone share these helpers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.world import WeekBatch, World


def labeled_week(batch: WeekBatch) -> pd.DataFrame:
    """The emitted features (corruptions included) with each customer's true label joined on.

    A duplicated row gets its customer's label; a renamed or dropped column stays as emitted.
    """
    frame = batch.features.copy(deep=False)
    if frame[ID_COLUMN].equals(batch.labels[ID_COLUMN]):
        # No row added, dropped or moved: the labels line up (no million ids to hash).
        frame[LABEL_COLUMN] = batch.labels[LABEL_COLUMN].to_numpy()
        return frame
    labels = batch.labels.set_index(ID_COLUMN)[LABEL_COLUMN]
    frame[LABEL_COLUMN] = frame[ID_COLUMN].map(labels).to_numpy()
    return frame


def write_week(
    scenario: str, week: int, path: Path, *, rows: int, seed: int, labels: bool
) -> pd.DataFrame:
    """A world week as a CSV or parquet file (with its labels when ``labels``), to check."""
    batch = World(seed, scenario, rows_per_week=rows).week(week)
    frame = labeled_week(batch) if labels else batch.features
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return frame
