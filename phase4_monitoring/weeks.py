"""World weeks as monitoring sees them: the features the service received, and, once
released, their labels. Tests, the benchmark and (later) the capstone share these helpers.
"""

from __future__ import annotations

import pandas as pd

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.world import WeekBatch


def labeled_week(batch: WeekBatch) -> pd.DataFrame:
    """The emitted features (corruptions included) with each customer's true label joined on.

    A duplicated row gets its customer's label; a renamed or dropped column stays as emitted.
    """
    labels = batch.labels.set_index(ID_COLUMN)[LABEL_COLUMN]
    frame = batch.features.copy(deep=False)
    frame[LABEL_COLUMN] = frame[ID_COLUMN].map(labels).to_numpy()
    return frame
