"""The training data's reference profile, logged with every model for phase 4's drift checks.

It is small (a few KB of JSON) and enough to compare a new week against training without the
training data: quantile bins and their shares for numbers, category frequencies, null rates,
and the distribution of the model's scores on customers it was not fitted on (out-of-fold scores
of the training rows), which is what phase 4's prediction-drift check compares live scores with.
How many bins is a decision number (``train.profile_bins`` and ``train.profile_score_bins`` in
params.yaml): phase 4's PSI thresholds are judged on these bins, which the profile records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel

from phase1_foundations.contract import FEATURES, CategoricalColumn
from phase2_pipelines.params import TrainParams

OUT_OF_FOLD = "out-of-fold scores of the training rows"


class NumericProfile(BaseModel):
    edges: list[float]
    shares: list[float]
    mean: float
    std: float
    minimum: float
    maximum: float
    null_rate: float


class CategoricalProfile(BaseModel):
    frequencies: dict[str, float]
    null_rate: float


class ScoreProfile(BaseModel):
    edges: list[float]
    shares: list[float]
    mean: float
    source: str = OUT_OF_FOLD


class ReferenceProfile(BaseModel):
    """What training data looked like, feature by feature, and how the model scored it."""

    n_rows: int
    numeric: dict[str, NumericProfile]
    categorical: dict[str, CategoricalProfile]
    score: ScoreProfile


def _shares(values: np.ndarray, edges: np.ndarray) -> list[float]:
    # Outer bins are open, so new data below the minimum or above the maximum still lands in one.
    inner = edges[1:-1]
    counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(edges) - 1)
    return [float(share) for share in counts / max(len(values), 1)]


def profile_numeric(values: pd.Series, bins: int) -> NumericProfile:
    """Up to ``bins`` quantile bins (fewer when values repeat), their shares and moments."""
    present = values.dropna().to_numpy(dtype=float)
    edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        edges = np.array([present.min(), present.min() + 1.0])
    return NumericProfile(
        edges=edges.tolist(),
        shares=_shares(present, edges),
        mean=float(present.mean()),
        std=float(present.std()),
        minimum=float(present.min()),
        maximum=float(present.max()),
        null_rate=float(values.isna().mean()),
    )


def profile_categorical(values: pd.Series, categories: tuple[str, ...]) -> CategoricalProfile:
    counts = values.astype(object).value_counts(dropna=True)
    total = max(int(counts.sum()), 1)
    return CategoricalProfile(
        frequencies={c: float(counts.get(c, 0)) / total for c in categories},
        null_rate=float(values.isna().mean()),
    )


def profile_scores(scores: np.ndarray, source: str, bins: int) -> ScoreProfile:
    """The scores' shares in ``bins`` equal-width bins on [0, 1]."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return ScoreProfile(
        edges=edges.tolist(),
        shares=_shares(scores, edges),
        mean=float(scores.mean()),
        source=source,
    )


def fit_reference_profile(
    frame: pd.DataFrame,
    scores: np.ndarray,
    params: TrainParams,
    score_source: str = OUT_OF_FOLD,
) -> ReferenceProfile:
    """Profile every contract feature of ``frame`` and out-of-sample ``scores`` of its rows, on
    the bins ``params`` says."""
    numeric: dict[str, NumericProfile] = {}
    categorical: dict[str, CategoricalProfile] = {}
    for spec in FEATURES:
        if isinstance(spec, CategoricalColumn):
            categorical[spec.name] = profile_categorical(frame[spec.name], spec.categories)
        else:
            numeric[spec.name] = profile_numeric(frame[spec.name], params.profile_bins)
    return ReferenceProfile(
        n_rows=len(frame),
        numeric=numeric,
        categorical=categorical,
        score=profile_scores(scores, score_source, params.profile_score_bins),
    )
