"""Phase 4 fixtures: a champion trained on world weeks, as a pure reference and in a registry.

The champion is trained as the capstone trains it, on labeled world weeks (phase 2's pipeline
with ``data.source: world``), so clean world weeks are drawn from its training distribution.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.settings import Settings
from phase2_pipelines.evaluate import compute_metrics
from phase2_pipelines.params import DataParams, PipelineParams, load_params
from phase2_pipelines.pipeline import Registration, run_pipeline
from phase2_pipelines.profile import ReferenceProfile, fit_reference_profile
from phase2_pipelines.tests.conftest import isolated_mlflow, workdir
from phase2_pipelines.train import fit_model, predict_scores
from phase2_pipelines.world_source import load_world_window
from phase4_monitoring.estimate import check_calibration
from phase4_monitoring.monitor import MonitorReference
from phase4_monitoring.params import MonitoringParams, load_monitoring_params
from phase4_monitoring.quality import QualityBaseline


def world_params() -> PipelineParams:
    """The project's params, training on world weeks instead of the Telco split."""
    params = load_params()
    return params.model_copy(update={"data": DataParams(source="world", world=params.data.world)})


@dataclass(frozen=True)
class WorldChampion:
    """A champion trained on world weeks, and what monitoring compares windows with."""

    params: PipelineParams
    train: pd.DataFrame
    holdout: pd.DataFrame
    model: Pipeline
    profile: ReferenceProfile
    reference: MonitorReference

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        return predict_scores(self.model, frame)


@pytest.fixture(scope="session")
def monitoring_params() -> MonitoringParams:
    return load_monitoring_params()


@pytest.fixture(scope="session")
def world_champion(monitoring_params: MonitoringParams) -> WorldChampion:
    return build_world_champion(monitoring_params)


def build_world_champion(monitoring_params: MonitoringParams) -> WorldChampion:
    """Trained in-process by phase 2's own functions (the pipeline's train and evaluate)."""
    params = world_params()
    train, holdout = load_world_window(params.data.world)
    model = fit_model(train, params.train)
    profile = fit_reference_profile(train, predict_scores(model, train))
    holdout_scores = predict_scores(model, holdout)
    labels = holdout[LABEL_COLUMN].to_numpy()
    metrics = compute_metrics(
        labels, holdout_scores, params.evaluate.threshold, params.evaluate.business
    )
    calibration = check_calibration(
        labels, holdout_scores, params.evaluate.calibration_bins, monitoring_params.cbpe.max_ece
    )
    reference = MonitorReference(
        profile=profile,
        baseline=QualityBaseline.from_metrics(metrics),
        threshold=params.evaluate.threshold,
        business=params.evaluate.business,
        calibration_bins=params.evaluate.calibration_bins,
        calibrator=calibration.calibrator,
    )
    return WorldChampion(params, train, holdout, model, profile, reference)


@dataclass(frozen=True)
class Registered:
    """A state directory whose real MLflow registry holds a world-trained champion."""

    settings: Settings
    params: PipelineParams
    champion: Registration


@pytest.fixture(scope="session")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registered]:
    with (
        pytest.MonkeyPatch.context() as patch,
        isolated_mlflow(patch, tmp_path_factory.mktemp("monitoring") / "var") as settings,
    ):
        params = world_params()
        champion = run_pipeline(params, workdir(settings, "champion"), settings)
        yield Registered(settings=settings, params=params, champion=champion)
