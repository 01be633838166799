"""Phase 2 fixtures: an isolated state directory (its own MLflow store) per test or module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import mlflow.tracking._tracking_service.utils as mlflow_tracking_state
import mlflow.tracking.fluent as mlflow_fluent_state
import pytest

from phase1_foundations.settings import Settings, get_settings
from phase1_foundations.tests.conftest import telco_sample, telco_sample_raw
from phase2_pipelines.params import EvaluateParams, GateParams, PipelineParams, load_params
from phase2_pipelines.pipeline import WorkDir

__all__ = ["telco_sample", "telco_sample_raw"]  # phase 1 owns the sample frames; reuse them

# mlflow.set_tracking_uri / set_experiment also export these, which Settings and later tests
# would read; each isolated test puts them (and MLflow's module globals) back.
MLFLOW_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID")


@contextmanager
def isolated_mlflow(patch: pytest.MonkeyPatch, state_dir: Path) -> Iterator[Settings]:
    """Settings with their own state directory, and MLflow's process state restored after."""
    saved = {name: os.environ.pop(name, None) for name in MLFLOW_ENV}
    patch.setattr(mlflow_tracking_state, "_tracking_uri", None)
    patch.setattr(mlflow_fluent_state, "_active_experiment_id", None)
    patch.setenv("MLOPS_STATE_DIR", str(state_dir))
    get_settings.cache_clear()
    try:
        yield get_settings()
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # None unsets; the hint omits it
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings whose state directory (MLflow store, quarantine) is this test's own."""
    with isolated_mlflow(monkeypatch, tmp_path / "var") as settings:
        yield settings


@pytest.fixture(scope="module")
def module_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Like ``state``, shared by the tests of one module (an MLflow store costs seconds)."""
    with (
        pytest.MonkeyPatch.context() as patch,
        isolated_mlflow(patch, tmp_path_factory.mktemp("state") / "var") as settings,
    ):
        yield settings


@pytest.fixture(scope="session")
def params() -> PipelineParams:
    return load_params()


def workdir(settings: Settings, name: str) -> WorkDir:
    return WorkDir(settings.state_dir / "pipeline" / name)


def evaluate_params(**changes: object) -> EvaluateParams:
    """params.yaml's ``evaluate`` section with ``changes``, validated (the models have no
    defaults: every number a test does not set comes from the file)."""
    return EvaluateParams.model_validate({**load_params().evaluate.model_dump(), **changes})


def gate_params(**changes: object) -> GateParams:
    """params.yaml's ``gate`` section with ``changes``, validated."""
    return GateParams.model_validate({**load_params().gate.model_dump(), **changes})
