"""Build and fit the churn model: one sklearn ``Pipeline`` from raw contract columns to a score.

The fitted pipeline (preprocessing and model together) is the object that is evaluated,
registered and served, so training and serving cannot disagree about features.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

from phase1_foundations.contract import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    LABEL_COLUMN,
    NUMERIC_FEATURES,
    to_model_frame,
)
from phase1_foundations.repro import seed_everything
from phase2_pipelines.params import HgbParams, LogRegParams, PipelineParams, TrainParams


def build_logreg(params: LogRegParams, seed: int) -> Pipeline:
    preprocess = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL_FEATURES)),
            (
                "numeric",
                # Charges and tenure are right-skewed (and >= 0 by contract): the log makes them
                # closer to linear in the logit. A numpy ufunc pickles by reference, so the
                # served model needs no project code.
                make_pipeline(
                    FunctionTransformer(np.log1p, feature_names_out="one-to-one"), StandardScaler()
                ),
                list(NUMERIC_FEATURES),
            ),
        ]
    )
    model = LogisticRegression(C=params.C, max_iter=params.max_iter, random_state=seed)
    return Pipeline([("preprocess", preprocess), ("model", model)])


def build_hgb(params: HgbParams, seed: int) -> Pipeline:
    preprocess = ColumnTransformer(
        [
            (
                "categorical",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                ),
                list(CATEGORICAL_FEATURES),
            ),
            ("numeric", "passthrough", list(NUMERIC_FEATURES)),
        ]
    )
    model = HistGradientBoostingClassifier(
        learning_rate=params.learning_rate,
        max_iter=params.max_iter,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        categorical_features=list(range(len(CATEGORICAL_FEATURES))),
        random_state=seed,
    )
    return Pipeline([("preprocess", preprocess), ("model", model)])


def build_model(params: TrainParams) -> Pipeline:
    """The unfitted pipeline for the configured model family."""
    if params.family == "logreg":
        return build_logreg(params.logreg, params.seed)
    return build_hgb(params.hgb, params.seed)


@cache
def _thread_pools() -> ThreadpoolController:
    """The native thread pools loaded with scikit-learn (BLAS, OpenMP), found once: finding them
    scans the process's libraries, which costs more than a small model's prediction."""
    return ThreadpoolController()


@contextmanager
def one_thread() -> Iterator[None]:
    """Native code on one thread while a model fits or predicts. These models are small, and
    their threads cost more than they save: scipy's L-BFGS-B (the logistic regression's solver,
    since scipy 1.15) makes many tiny BLAS calls and a multi-threaded OpenBLAS wakes its threads
    for each (scipy/scipy#22438), and gradient boosting's hundreds of OpenMP regions each wait for
    every thread. Measured on two cores: a logistic fit 4-5x slower on two threads, gradient
    boosting 20x slower when another process shares the cores. The model is the same to the bit
    (a test checks)."""
    with _thread_pools().limit(limits=1):
        yield


Weights = np.ndarray | None
# How a candidate is fitted on labeled rows (and their weights): the configured family from
# scratch, or a recalibration of the champion (``recalibrate.py``). Evaluation cross-fits with it.
Fitter = Callable[[pd.DataFrame, Weights], Pipeline]


def fit_model(train: pd.DataFrame, params: TrainParams, sample_weight: Weights = None) -> Pipeline:
    """Fit the configured pipeline on contract-valid labeled data, deterministically; rows count
    as much as their ``sample_weight`` (recent weeks more than old ones, say)."""
    seed_everything(params.seed)
    features = to_model_frame(train)
    labels = train[LABEL_COLUMN].to_numpy()
    with one_thread():
        if sample_weight is None:
            return build_model(params).fit(features, labels)
        return build_model(params).fit(features, labels, model__sample_weight=sample_weight)


def configured_fitter(params: PipelineParams) -> Fitter:
    """The configured family fitted from scratch (``fit_model`` is looked up when called, so a
    test that swaps it swaps every stage's fit)."""

    def fit(frame: pd.DataFrame, weights: Weights) -> Pipeline:
        if weights is None:
            return fit_model(frame, params.train)
        return fit_model(frame, params.train, sample_weight=weights)

    return fit


def model_structure(model: object) -> dict[str, str]:
    """The estimator's steps and settings, by name: stable across processes (no addresses), and
    different for two pipelines that score alike but do not run alike (an extra slow step)."""
    params = model.get_params(deep=True) if hasattr(model, "get_params") else {}
    structure = {"": f"{type(model).__module__}.{type(model).__qualname__}"}
    for key, value in params.items():
        if hasattr(value, "get_params") or callable(value):
            kind = value if callable(value) and not hasattr(value, "get_params") else type(value)
            name = getattr(kind, "__qualname__", repr(kind))
            structure[key] = f"{getattr(kind, '__module__', '')}.{name}"
        elif not isinstance(value, list | tuple):  # steps and transformers: listed above
            structure[key] = repr(value)
    return structure


def predict_scores(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    """Churn probabilities for each row of a contract-valid frame."""
    features = to_model_frame(frame[list(FEATURE_NAMES)])
    with one_thread():
        scores: np.ndarray = model.predict_proba(features)[:, 1]
    return scores


def out_of_fold_scores(
    train: pd.DataFrame,
    params: TrainParams,
    fitter: Fitter | None = None,
    weights: Weights = None,
) -> np.ndarray:
    """Each training row scored by a model fitted without it (``profile_folds``-fold).

    In-sample scores are more confident than any the model will give a new customer, most of all
    for flexible models; these are what the model's scores on unseen customers look like.
    """
    if fitter is not None:
        from phase2_pipelines.crossfit import crossfit_scores

        return crossfit_scores(fitter, train, weights, folds=params.profile_folds, seed=params.seed)
    seed_everything(params.seed)
    folds = StratifiedKFold(n_splits=params.profile_folds, shuffle=True, random_state=params.seed)
    with one_thread():
        scores: np.ndarray = cross_val_predict(
            build_model(params),
            to_model_frame(train),
            train[LABEL_COLUMN].to_numpy(),
            cv=folds,
            method="predict_proba",
        )[:, 1]
    return scores
