"""Phase 3 fixtures: a real registry with a trained champion, in an isolated state directory."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager
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
from phase2_pipelines.pipeline import Registration
from testing.shared_state import built_once, copy_state, run_root, train_into
from testing.store import isolated_mlflow

__all__ = ["telco_sample", "telco_sample_raw"]


@dataclass(frozen=True)
class Trained:
    """A state directory whose MLflow registry holds a champion trained on the real data (and,
    copied from the hgb template, a gradient-boosting version registered after it)."""

    settings: Settings
    params: PipelineParams
    champion: Registration
    hgb: Registration | None = None

    @property
    def threshold(self) -> float:
        """The decision threshold the champion's run recorded: what its evaluation chose
        (``evaluate.contact_rule``), read from the run itself, not from params.yaml."""
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=self.settings.tracking_uri)
        return float(client.get_run(self.champion.run_id).data.params["evaluate.threshold"])


# The Registrations the templates' trainings returned, beside their state directory ``var``.
CHAMPION_FILE = "champion.pickle"
HGB_FILE = "hgb.pickle"


def hgb_params(params: PipelineParams) -> PipelineParams:
    """The configured pipeline with gradient boosting (no compiled fast path) as its model."""
    return params.model_copy(update={"train": params.train.model_copy(update={"family": "hgb"})})


def train_champion(folder: Path) -> None:
    """A state directory ``folder/var`` whose registry holds a champion phase 2 trained."""
    train_into(folder, load_params(), "champion", CHAMPION_FILE)


@pytest.fixture(scope="session")
def champion_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One champion for the whole run, trained by the first worker that needs it."""
    return built_once(run_root(tmp_path_factory), "phase3-champion", train_champion)


@pytest.fixture(scope="session")
def hgb_template(champion_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The champion's state, then phase 2's pipeline run again with gradient boosting (the gate
    decides whether it is promoted): trained once for every module that serves an HGB model."""

    def add_hgb(folder: Path) -> None:
        copy_state(champion_template, folder)
        train_into(folder, hgb_params(load_params()), "hgb", HGB_FILE)

    return built_once(run_root(tmp_path_factory), "phase3-hgb", add_hgb)


@contextmanager
def copied(template: Path, folder: Path) -> Iterator[Trained]:
    """A copy of a template's state for one module alone: what it registers, promotes or tags
    is seen by no other module."""
    copy_state(template, folder)
    champion: Registration = pickle.loads((folder / CHAMPION_FILE).read_bytes())
    hgb_file = folder / HGB_FILE
    hgb: Registration | None = pickle.loads(hgb_file.read_bytes()) if hgb_file.exists() else None
    with (
        pytest.MonkeyPatch.context() as patch,
        isolated_mlflow(patch, folder / "var") as settings,
    ):
        yield Trained(settings=settings, params=load_params(), champion=champion, hgb=hgb)


@pytest.fixture(scope="module")
def trained(champion_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    with copied(champion_template, tmp_path_factory.mktemp("serving")) as state:
        yield state


@pytest.fixture(scope="module")
def trained_with_hgb(
    hgb_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Trained]:
    with copied(hgb_template, tmp_path_factory.mktemp("serving")) as state:
        yield state


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
