"""Cross-fitting: out-of-fold scores for the rows a candidate is judged on, without setting
them aside.

When the world has just changed, the newest labeled week may be the only one that shows the
change. Holding it out for the gate leaves training with the old world only; training on it
leaves nothing to judge on. Cross-fitting does both: the evaluation rows are split into folds
(by customer, stratified by label); each fold is scored by a candidate fitted on everything
else (the older rows and the other folds), and the model that ships is fitted on all of it.
Every evaluation row is then scored by a model that never saw it, and the champion is scored on
the very same rows, so the gate's paired comparison stands as it does on a holdout.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from phase1_foundations.contract import LABEL_COLUMN
from phase2_pipelines.train import Fitter, Weights, predict_scores


def crossfit_scores(
    fitter: Fitter,
    evaluation: pd.DataFrame,
    evaluation_weights: Weights = None,
    *,
    folds: int,
    seed: int,
    base: pd.DataFrame | None = None,
    base_weights: Weights = None,
) -> np.ndarray:
    """Each evaluation row's score from a candidate fitted on ``base`` and the other folds."""
    labels = evaluation[LABEL_COLUMN].to_numpy()
    smallest = int(min(labels.sum(), len(labels) - labels.sum()))
    splits = max(2, min(folds, smallest))
    scores = np.full(len(evaluation), np.nan)
    folder = StratifiedKFold(n_splits=splits, shuffle=True, random_state=seed)
    for fitted_on, scored in folder.split(np.zeros(len(labels)), labels):
        frames = [evaluation.iloc[fitted_on]]
        weights = [_weights(evaluation_weights, len(evaluation))[fitted_on]]
        if base is not None and len(base):
            frames.insert(0, base)
            weights.insert(0, _weights(base_weights, len(base)))
        train = pd.concat(frames, ignore_index=True)
        weight = np.concatenate(weights)
        unweighted = evaluation_weights is None and base_weights is None
        model = fitter(train, None if unweighted else weight)
        scores[scored] = predict_scores(model, evaluation.iloc[scored])
    return scores


def _weights(weights: Weights, rows: int) -> np.ndarray:
    return np.ones(rows) if weights is None else np.asarray(weights, dtype=np.float64)
