"""Recalibrating a champion per segment: the cheap first response when the world changes.

When churn moves for a whole segment (DSL customers start leaving, a recession doubles every
customer's odds), the champion often still ranks customers within each segment well; what broke
is its level, segment by segment. One offset per segment value on the champion's log-odds,
fitted on the newest labels, repairs that with a handful of numbers instead of a model fitted
from scratch on a week or two of data.

For a logistic champion the offsets fold exactly into the model: a segment value's offset is
added to the coefficient of its one-hot column, the overall offset to the intercept. The result
is an ordinary fitted pipeline with the champion's structure, so it is evaluated, gated,
registered and served like any candidate, and needs no new code to serve. Offsets are shrunk
toward zero (a normal prior, ``prior_sd`` on the log-odds scale), so a segment with few labels
moves little.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from phase1_foundations.contract import FEATURE_NAMES, LABEL_COLUMN, to_model_frame
from phase2_pipelines.train import Fitter, Weights

CATEGORICAL_BLOCK = "categorical"
INTERCEPT_PRIOR_SD = 5.0  # the overall offset is barely shrunk: a base-rate change is common
NEWTON_STEPS = 25
NEWTON_TOLERANCE = 1e-8


class NotRecalibratable(ValueError):  # noqa: N818 - names the condition
    """The model is not a one-hot logistic pipeline, so offsets cannot be folded into it."""


def _parts(pipeline: Pipeline) -> tuple[ColumnTransformer, LogisticRegression]:
    preprocess = pipeline.named_steps.get("preprocess")
    model = pipeline.named_steps.get("model")
    if not isinstance(preprocess, ColumnTransformer) or not isinstance(model, LogisticRegression):
        raise NotRecalibratable(
            "only a logistic pipeline with one-hot categoricals can be recalibrated per segment"
        )
    return preprocess, model


def segment_design(
    pipeline: Pipeline, frame: pd.DataFrame, columns: tuple[str, ...]
) -> tuple[np.ndarray, list[int]]:
    """The rows' one-hot indicators for the segment columns, and each indicator's position
    among the model's coefficients."""
    preprocess, _ = _parts(pipeline)
    names = list(preprocess.get_feature_names_out())
    positions: list[int] = []
    blocks: list[np.ndarray] = []
    for column in columns:
        values = frame[column].astype(str).to_numpy()
        prefix = f"{CATEGORICAL_BLOCK}__{column}_"
        for index, name in enumerate(names):
            if name.startswith(prefix):
                positions.append(index)
                blocks.append((values == name[len(prefix) :]).astype(np.float64))
    if not positions:
        raise NotRecalibratable(f"none of {list(columns)} is a one-hot column of the model")
    return np.column_stack(blocks), positions


def fit_offsets(
    logit: np.ndarray,
    design: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    prior_sd: float,
) -> tuple[float, np.ndarray]:
    """Penalized logistic regression with the champion's log-odds as a fixed offset (Newton's
    method): the overall offset and one per design column."""
    z = np.column_stack([np.ones(len(logit)), design])
    precision = np.full(z.shape[1], 1.0 / prior_sd**2)
    precision[0] = 1.0 / INTERCEPT_PRIOR_SD**2
    delta = np.zeros(z.shape[1])
    for _ in range(NEWTON_STEPS):
        p = expit(logit + z @ delta)
        gradient = z.T @ (weights * (p - labels)) + precision * delta
        hessian = (z * (weights * p * (1 - p))[:, None]).T @ z + np.diag(precision)
        step = np.linalg.solve(hessian, gradient)
        delta -= step
        if float(np.max(np.abs(step))) < NEWTON_TOLERANCE:
            break
    return float(delta[0]), delta[1:]


def recalibrate(
    pipeline: Pipeline,
    frame: pd.DataFrame,
    columns: tuple[str, ...],
    prior_sd: float,
    weights: Weights = None,
) -> Pipeline:
    """A copy of ``pipeline`` with per-segment offsets fitted on ``frame``'s labels folded in."""
    _, model = _parts(pipeline)
    features = to_model_frame(frame[list(FEATURE_NAMES)])
    logit = np.asarray(pipeline.decision_function(features), dtype=np.float64)
    design, positions = segment_design(pipeline, frame, columns)
    labels = frame[LABEL_COLUMN].to_numpy(dtype=np.float64)
    w = np.ones(len(frame)) if weights is None else np.asarray(weights, dtype=np.float64)
    overall, offsets = fit_offsets(logit, design, labels, w, prior_sd)
    adjusted = copy.deepcopy(pipeline)
    _, new_model = _parts(adjusted)
    new_model.intercept_ = model.intercept_ + overall
    coefficients = model.coef_.copy()
    for position, offset in zip(positions, offsets, strict=True):
        coefficients[0, position] += offset
    new_model.coef_ = coefficients
    return adjusted


def recalibration_fitter(base: Pipeline, columns: tuple[str, ...], prior_sd: float) -> Fitter:
    """Fits a recalibration of ``base`` (the champion) on whatever labeled rows it is given."""
    _parts(base)  # refuse early, before any fold is fitted

    def fit(frame: pd.DataFrame, weights: Weights) -> Pipeline:
        return recalibrate(base, frame, columns, prior_sd, weights)

    return fit
