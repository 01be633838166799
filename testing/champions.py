"""Registered models with a known flaw, for the service's failure tests.

Each is a real sklearn pipeline, trained on the real data, registered by phase 2's own stages
(so it is logged in the skops format, checksummed, and loaded by the service like any other):

- ``log_pipeline``: the linear pipeline with ``np.log`` where training uses ``np.log1p``. Trained
  on customers with a tenure, it scores them normally; for a valid customer with ``tenure == 0``
  the log is -inf and ``predict_proba`` raises.
- ``slow_pipeline``: the linear pipeline behind a step that waits ``SLOW_CALL_S`` per call, as a
  model that is slow whatever the batch size would.
- ``register_skewed``: a healthy model whose serving package reads a feature in other units
  (training-serving skew): phase 2 evaluated the pipeline training fitted, the registry holds it
  behind a rescaling step, as phase 5's ``serving_skew`` fault ships it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from phase1_foundations.contract import LABEL_COLUMN, NUMERIC_FEATURES, to_model_frame
from phase1_foundations.settings import Settings
from phase2_pipelines import pipeline as stages
from phase2_pipelines import train as train_module
from phase2_pipelines.params import PipelineParams, TrainParams
from phase2_pipelines.registry import CHAMPION, Registry
from phase2_pipelines.train import build_model
from testing.store import workdir

SLOW_CALL_S = 0.3
Builder = Callable[[TrainParams], Pipeline]


def log_pipeline(params: TrainParams) -> Pipeline:
    """Tenure through ``np.log`` (not ``log1p``): -inf, and an exception, for a tenure of 0."""
    model = build_model(params)
    preprocess = model.named_steps["preprocess"]
    others = [c for c in NUMERIC_FEATURES if c != "tenure"]
    tenure = make_pipeline(
        FunctionTransformer(np.log, feature_names_out="one-to-one"), StandardScaler()
    )
    preprocess.transformers = [
        preprocess.transformers[0],
        ("tenure", tenure, ["tenure"]),
        ("numeric", preprocess.transformers[1][1], others),
    ]
    return model


def slow_identity(features: pd.DataFrame) -> pd.DataFrame:
    time.sleep(SLOW_CALL_S)
    return features


def slow_pipeline(params: TrainParams) -> Pipeline:
    model = build_model(params)
    return Pipeline([("slow", FunctionTransformer(slow_identity)), *model.steps])


@contextmanager
def training_with(builder: Builder) -> Iterator[None]:
    """Phase 2's train stage, fitting ``builder``'s pipeline instead of the configured one."""

    def fit(train: pd.DataFrame, params: TrainParams) -> Pipeline:
        return builder(params).fit(to_model_frame(train), train[LABEL_COLUMN].to_numpy())

    original = train_module.fit_model
    with pytest.MonkeyPatch.context() as patch:
        # Wherever a stage imported phase 2's fit_model (its module layout may change).
        for module in list(sys.modules.values()):
            name = getattr(module, "__name__", "")
            if (
                name.startswith("phase2_pipelines")
                and getattr(module, "fit_model", None) is original
            ):
                patch.setattr(module, "fit_model", fit)
        yield


def register(
    settings: Settings,
    params: PipelineParams,
    name: str,
    builder: Builder | None = None,
    window: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> str:
    """Train and register a version through phase 2's stages; its version number. Whatever the
    gate says, only ``challenger`` may move: the test decides who serves."""
    work = workdir(settings, name)
    staged = params.model_copy(
        update={"registry": params.registry.model_copy(update={"promote_to": "challenger"})}
    )
    if builder is None:
        return stages.run_pipeline(staged, work, settings, window).version
    with training_with(builder):
        return stages.run_pipeline(staged, work, settings, window).version


class Rescale(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Multiplies ``column`` by ``factor``: serving-side preprocessing training never had."""

    def __init__(self, column: str = "", factor: float = 1.0) -> None:
        self.column = column
        self.factor = factor

    def fit(self, features: pd.DataFrame, labels: object = None) -> Rescale:
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        out = features.copy()
        out[self.column] = out[self.column].to_numpy(dtype=np.float64) * self.factor
        return out


def register_skewed(
    settings: Settings,
    params: PipelineParams,
    name: str,
    window: tuple[pd.DataFrame, pd.DataFrame],
    column: str,
    factor: float,
) -> str:
    """Phase 2's stages up to the gate on the pipeline training fitted (so its offline scores
    are right), then the registry gets it behind ``Rescale(column, factor)``; its version. The
    ``window`` must differ from the champion's: a model identical to it registers nothing."""
    work = workdir(settings, name)
    staged = params.model_copy(
        update={"registry": params.registry.model_copy(update={"promote_to": "challenger"})}
    )
    stages.ingest(staged, work, settings, window)
    stages.validate(work, settings)
    stages.train(staged, work)
    stages.evaluate(staged, work)
    stages.gate(staged, work, settings)
    fitted = joblib.load(work.train / "model.joblib")
    packaged = Pipeline([("skew", Rescale(column, factor)), *fitted.steps])
    joblib.dump(packaged, work.train / "model.joblib")
    return stages.register(staged, work, settings).version


def make_champion(params: PipelineParams, version: str) -> None:
    registry = Registry(params.registry.model_name)
    if registry.version_for(CHAMPION) != version:
        registry.promote(version, "test: this version serves")
