"""Evidently reports, for people: data drift, a data summary and, with labels, classification
quality, as HTML and JSON. Only Evidently 0.7's API is used (``Report``, ``Dataset``,
``DataDefinition``, ``evidently.presets``).

Evidently needs reference rows, not a profile: the reference is the champion's holdout (see
``reference.holdout_rows``) with the champion's scores. Drift uses the same effect sizes and
thresholds as the fast checks (Wasserstein distance scaled by the reference std for numbers,
Jensen-Shannon distance for categories), set explicitly, because Evidently otherwise switches
to p-value tests below 1,000 rows. Evidently computes them on the rows themselves, so it is an
independent check of the fast checks, which work from the profile's bins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from phase1_foundations.contract import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    LABEL_COLUMN,
    NUMERIC_FEATURES,
)
from phase4_monitoring.params import MonitoringParams

if TYPE_CHECKING:
    from evidently.core.report import Snapshot

SCORE_COLUMN = "churn_probability"
VALUE_DRIFT = "evidently:metric_v2:ValueDrift"


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    json: Path


def evidently_frame(
    frame: pd.DataFrame, scores: np.ndarray | None = None, labels: np.ndarray | None = None
) -> pd.DataFrame:
    """The features Evidently compares (categories as plain text), the score and the label."""
    out = pd.DataFrame(index=range(len(frame)))
    for name in FEATURE_NAMES:
        if name in frame.columns:
            values = frame[name].reset_index(drop=True)
            out[name] = values.astype(object) if name in CATEGORICAL_FEATURES else values
    if scores is not None:
        out[SCORE_COLUMN] = np.asarray(scores, dtype=np.float64)
    if labels is not None:
        out[LABEL_COLUMN] = np.asarray(labels, dtype=np.int64)
    return out


def build_report(
    reference: pd.DataFrame, current: pd.DataFrame, params: MonitoringParams
) -> Snapshot:
    """Run the presets on the columns both frames have; quality only when both have labels."""
    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.presets import ClassificationPreset, DataDriftPreset, DataSummaryPreset

    shared = [c for c in reference.columns if c in current.columns]
    labeled = LABEL_COLUMN in shared and SCORE_COLUMN in shared
    definition = DataDefinition(
        numerical_columns=[c for c in shared if c in (*NUMERIC_FEATURES, SCORE_COLUMN)],
        categorical_columns=[c for c in shared if c in CATEGORICAL_FEATURES],
        classification=(
            [BinaryClassification(target=LABEL_COLUMN, prediction_probas=SCORE_COLUMN)]
            if labeled
            else None
        ),
    )
    drifting = [c for c in shared if c != LABEL_COLUMN]
    presets: list[object] = [
        DataDriftPreset(
            columns=drifting,
            num_method="wasserstein",
            num_threshold=params.drift.wasserstein,
            cat_method="jensenshannon",
            cat_threshold=params.drift.jensen_shannon,
        ),
        DataSummaryPreset(),
    ]
    if labeled:
        presets.append(ClassificationPreset())
    report = Report(presets)
    return report.run(
        Dataset.from_pandas(current[shared], data_definition=definition),
        Dataset.from_pandas(reference[shared], data_definition=definition),
    )


def write_report(snapshot: Snapshot, directory: Path, name: str = "evidently") -> ReportFiles:
    directory.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(html=directory / f"{name}.html", json=directory / f"{name}.json")
    snapshot.save_html(str(files.html))
    snapshot.save_json(str(files.json))
    return files


def drift_scores(snapshot: Snapshot) -> dict[str, tuple[float, float]]:
    """Each column's drift value and threshold, from the report's ValueDrift results."""
    found: dict[str, tuple[float, float]] = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if config.get("type") == VALUE_DRIFT:
            found[str(config["column"])] = (float(metric["value"]), float(config["threshold"]))
    return found


def drifted_columns(snapshot: Snapshot) -> set[str]:
    """The columns Evidently calls drifted (its rule: value >= threshold)."""
    return {column for column, (value, limit) in drift_scores(snapshot).items() if value >= limit}
