"""Phase 3 fixtures: a real registry with a trained champion, in an isolated state directory."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.pipeline import Pipeline

from phase1_foundations.contract import FEATURE_NAMES
from phase1_foundations.settings import Settings
from phase1_foundations.tests.conftest import telco_sample, telco_sample_raw
from phase2_pipelines.params import PARAMS_FILE, PipelineParams, load_params
from phase2_pipelines.pipeline import Registration, run_pipeline
from testing.shared_state import built_once, copy_state, run_root
from testing.store import isolated_mlflow, workdir

__all__ = ["telco_sample", "telco_sample_raw"]


@dataclass(frozen=True)
class Trained:
    """A state directory whose MLflow registry holds a champion trained on the real data."""

    settings: Settings
    params: PipelineParams
    champion: Registration

    @property
    def threshold(self) -> float:
        """The decision threshold the champion's run recorded: what its evaluation chose
        (``evaluate.contact_rule``), read from the run itself, not from params.yaml."""
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=self.settings.tracking_uri)
        return float(client.get_run(self.champion.run_id).data.params["evaluate.threshold"])


CHAMPION_FILE = "champion.pickle"  # the Registration the template's training returned


def train_champion(folder: Path) -> None:
    """A state directory ``folder/var`` whose registry holds a champion phase 2 trained."""
    with (
        pytest.MonkeyPatch.context() as patch,
        isolated_mlflow(patch, folder / "var") as settings,
    ):
        champion = run_pipeline(load_params(), workdir(settings, "champion"), settings)
    (folder / CHAMPION_FILE).write_bytes(pickle.dumps(champion))


@pytest.fixture(scope="session")
def champion_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One champion for the whole run, trained by the first worker that needs it."""
    return built_once(run_root(tmp_path_factory), "phase3-champion", train_champion)


@pytest.fixture(scope="module")
def trained(champion_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    """A copy of the champion's state for this module alone: what it registers, promotes or
    tags is seen by no other module."""
    folder = tmp_path_factory.mktemp("serving")
    copy_state(champion_template, folder)
    champion: Registration = pickle.loads((folder / CHAMPION_FILE).read_bytes())
    with (
        pytest.MonkeyPatch.context() as patch,
        isolated_mlflow(patch, folder / "var") as settings,
    ):
        yield Trained(settings=settings, params=load_params(), champion=champion)


def registered_pipeline(settings: Settings, name: str, version: str) -> Pipeline:
    """The registered model, loaded here on its own: the oracle the service is compared with
    (never the service's loader or its fast path)."""
    import mlflow.sklearn
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    pipeline: Pipeline = mlflow.sklearn.load_model(
        client.get_model_version_download_uri(name, version)
    )
    return pipeline


def oracle_scores(pipeline: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    scores: np.ndarray = pipeline.predict_proba(frame[list(FEATURE_NAMES)])[:, 1]
    return scores


def guardrail_params(directory: Path, **guardrails: object) -> Path:
    """A copy of params.yaml with these ``serving.guardrails`` values, for a service started with
    ``MLOPS_SERVING_PARAMS_FILE`` pointing at it."""
    raw = yaml.safe_load(PARAMS_FILE.read_text())
    raw["serving"]["guardrails"].update(guardrails)
    path = directory / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path
