"""Phase 2 fixtures: an isolated state directory (its own MLflow store) per test or module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from phase1_foundations.settings import Settings
from phase1_foundations.tests.conftest import telco_sample, telco_sample_raw
from phase2_pipelines.params import EvaluateParams, GateParams, PipelineParams, load_params
from testing.store import isolated_mlflow

__all__ = ["telco_sample", "telco_sample_raw"]  # phase 1 owns the sample frames; reuse them


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


def evaluate_params(**changes: object) -> EvaluateParams:
    """params.yaml's ``evaluate`` section with ``changes``, validated (the models have no
    defaults: every number a test does not set comes from the file)."""
    return EvaluateParams.model_validate({**load_params().evaluate.model_dump(), **changes})


def gate_params(**changes: object) -> GateParams:
    """params.yaml's ``gate`` section with ``changes``, validated."""
    return GateParams.model_validate({**load_params().gate.model_dump(), **changes})
