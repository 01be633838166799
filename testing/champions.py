"""Registered models with a known flaw, for the service's failure tests.

Each is a real sklearn pipeline, trained on the real data, registered by phase 2's own stages
(so it is logged in the skops format, checksummed, and loaded by the service like any other):

- ``log_pipeline``: the linear pipeline with ``np.log`` where training uses ``np.log1p``. Trained
  on customers with a tenure, it scores them normally; for a valid customer with ``tenure == 0``
  the log is -inf and ``predict_proba`` raises.
- ``slow_pipeline``: the linear pipeline behind a step that waits ``SLOW_CALL_S`` per call, as a
  model that is slow whatever the batch size would.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
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


def make_champion(params: PipelineParams, version: str) -> None:
    registry = Registry(params.registry.model_name)
    if registry.version_for(CHAMPION) != version:
        registry.promote(version, "test: this version serves")
