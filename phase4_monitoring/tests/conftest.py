"""Phase 4 fixtures: a champion trained on world weeks, as a pure reference and in a registry.

The champion is trained as the capstone trains it, on labeled world weeks (phase 2's pipeline
with ``data.source: world``), so clean world weeks are drawn from its training distribution.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from phase1_foundations.settings import Settings
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.pipeline import Registration, run_pipeline
from phase4_monitoring.lesson.replay import WorldChampion, train_world_champion, world_params
from phase4_monitoring.params import MonitoringParams, load_monitoring_params
from testing.store import isolated_mlflow, workdir

__all__ = ["WorldChampion", "world_params"]


@pytest.fixture(scope="session")
def monitoring_params() -> MonitoringParams:
    return load_monitoring_params()


@pytest.fixture(scope="session")
def world_champion(monitoring_params: MonitoringParams) -> WorldChampion:
    """Trained in-process by phase 2's own functions (the pipeline's train and evaluate)."""
    return train_world_champion(monitoring_params)


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
