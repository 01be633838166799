"""Phase 4 fixtures: a champion trained on world weeks, as a pure reference and in a registry.

The champion is trained as the capstone trains it, on labeled world weeks (phase 2's pipeline
with ``data.source: world``), so clean world weeks are drawn from its training distribution.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from phase1_foundations.settings import Settings
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.pipeline import Registration
from phase4_monitoring.lesson.replay import WorldChampion, train_world_champion, world_params
from phase4_monitoring.params import MonitoringParams, load_monitoring_params
from testing.shared_state import built_once, copy_state, run_root, train_into
from testing.store import isolated_mlflow

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


CHAMPION_FILE = "champion.pickle"  # the Registration the template's training returned


def register_world_champion(folder: Path) -> None:
    """A state directory ``folder/var`` whose registry holds phase 2's world-trained champion."""
    train_into(folder, world_params(), "champion", CHAMPION_FILE)


@pytest.fixture(scope="session")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registered]:
    """A copy of the run's one registered world champion (trained by the first xdist worker
    that asks; the other worker copies it instead of training its own)."""
    template = built_once(run_root(tmp_path_factory), "phase4-registered", register_world_champion)
    folder = tmp_path_factory.mktemp("monitoring")
    copy_state(template, folder)
    champion: Registration = pickle.loads((folder / CHAMPION_FILE).read_bytes())
    with (
        pytest.MonkeyPatch.context() as patch,
        isolated_mlflow(patch, folder / "var") as settings,
    ):
        yield Registered(settings=settings, params=world_params(), champion=champion)
