"""Load a registered model by alias, verify it byte for byte, and describe it.

The service never serves an artifact whose checksum differs from the one recorded when it was
registered, nor a model whose run does not say at which threshold it decides. Loading happens
off the request path (at startup, and in the background on swaps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN
from phase2_pipelines.registry import (
    CHECKSUM_TAG,
    OFFLINE_SCORE_COLUMN,
    OFFLINE_SCORES_ARTIFACT,
    artifact_checksum,
)
from phase3_serving.compiled import LinearScorer

if TYPE_CHECKING:
    from mlflow.entities import Run

THRESHOLD_PARAM = "evaluate.threshold"


class ModelLoadError(RuntimeError):
    """The model could not be loaded or failed verification; the message says which.

    ``public`` is a short reason with no paths, URIs or versions, fit for an unauthenticated
    caller; the message (with the detail) goes to the server log.
    """

    def __init__(self, message: str, public: str = "the model could not be loaded") -> None:
        super().__init__(message)
        self.public = public


@dataclass(frozen=True)
class OfflineScores:
    """Rows the model was evaluated on, as the API receives rows, and the scores evaluation gave
    them: the shadow scores the same rows live and compares (training-serving skew)."""

    rows: list[dict[str, object]]
    scores: np.ndarray

    @classmethod
    def read(cls, path: Path) -> OfflineScores:
        frame = pd.read_parquet(path)
        features = frame[[ID_COLUMN, *FEATURE_NAMES]].astype(object)
        rows = [
            {str(k): v.item() if isinstance(v, np.generic) else v for k, v in row.items()}
            for row in features.to_dict("records")
        ]
        return cls(rows, frame[OFFLINE_SCORE_COLUMN].to_numpy(dtype=np.float64))


@dataclass(frozen=True)
class LoadedModel:
    """A verified, ready-to-score model and what the API reports about it."""

    name: str
    alias: str
    version: str
    run_id: str
    pipeline: Pipeline
    checksum: str
    threshold: float
    data_fingerprint: str | None
    trained_at: str | None
    fast: LinearScorer | None = None
    offline: OfflineScores | None = None  # None: registered before phase 2 logged them

    def score(self, features: pd.DataFrame) -> np.ndarray:
        """Churn probabilities for contract-typed feature rows (the verified fast path if any)."""
        if self.fast is not None:
            return self.fast.score_frame(features)
        scores: np.ndarray = self.pipeline.predict_proba(features[list(FEATURE_NAMES)])[:, 1]
        return scores

    def score_records(self, rows: Sequence[dict[str, object]]) -> np.ndarray:
        """Churn probabilities for validated rows: the verified fast path when there is one."""
        if self.fast is not None:
            return self.fast.score_records(rows)
        frame = pd.DataFrame.from_records(rows, columns=[ID_COLUMN, *FEATURE_NAMES])
        scores: np.ndarray = self.pipeline.predict_proba(frame[list(FEATURE_NAMES)])[:, 1]
        return scores

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "run_id": self.run_id,
            "data_fingerprint": self.data_fingerprint,
            "trained_at": self.trained_at,
            "threshold": self.threshold,
            "checksum": self.checksum,
            "scorer": "compiled linear (verified)" if self.fast is not None else "pipeline",
        }


@dataclass
class ModelSlots:
    """The models being served. Swapping assigns a reference, so it is atomic: a batch holds the
    model it started with and finishes on it."""

    champion: LoadedModel | None = None
    challenger: LoadedModel | None = None


def current_version(name: str, alias: str) -> str | None:
    """The version an alias points at now, or None (one cheap registry call, for polling)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def load_model(name: str, alias: str) -> LoadedModel:
    """Download the model an alias points at, check its checksum, and load it."""
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        version = client.get_model_version_by_alias(name, alias)
        local = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{version.version}"))
        run = client.get_run(version.run_id) if version.run_id else None
    except (MlflowException, OSError) as error:
        raise ModelLoadError(
            f"cannot load {name}@{alias}: {error}", "the registry or the model cannot be read"
        ) from error
    expected = version.tags.get(CHECKSUM_TAG)
    actual = artifact_checksum(local)
    if expected is None:
        raise ModelLoadError(
            f"{name} v{version.version} has no {CHECKSUM_TAG} tag to verify",
            "the model cannot be verified",
        )
    if actual != expected:
        raise ModelLoadError(
            f"{name} v{version.version}: artifact checksum {actual} != registered {expected}",
            "the model failed verification",
        )
    threshold = run_threshold(name, str(version.version), run)
    try:
        pipeline = mlflow.sklearn.load_model(str(local))
    except (MlflowException, OSError, ValueError) as error:
        raise ModelLoadError(
            f"{name} v{version.version} does not load: {error}", "the model does not load"
        ) from error
    tags = run.data.tags if run else {}
    started = datetime.fromtimestamp(run.info.start_time / 1000, UTC).isoformat() if run else None
    return LoadedModel(
        name=name,
        alias=alias,
        version=str(version.version),
        run_id=str(version.run_id),
        pipeline=pipeline,
        checksum=actual,
        threshold=threshold,
        data_fingerprint=tags.get("data.train_fingerprint"),
        trained_at=started,
        fast=LinearScorer.compile(pipeline),
        offline=_offline_scores(str(version.run_id)) if version.run_id else None,
    )


def _offline_scores(run_id: str) -> OfflineScores | None:
    """The run's evaluated rows and scores, if it logged them (older runs did not)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=OFFLINE_SCORES_ARTIFACT
        )
    except (MlflowException, OSError):
        return None
    return OfflineScores.read(Path(path))


def run_threshold(name: str, version: str, run: Run | None) -> float:
    """The decision threshold the model's run was evaluated at; there is no default."""
    raw = None if run is None else run.data.params.get(THRESHOLD_PARAM)
    try:
        threshold = float(raw) if raw is not None else float("nan")
    except ValueError:
        threshold = float("nan")
    if not 0.0 <= threshold <= 1.0:  # also false for NaN
        where = "has no run" if run is None else f"run {run.info.run_id}"
        raise ModelLoadError(
            f"{name} v{version}: {where} records no usable {THRESHOLD_PARAM} parameter"
            f" (found {raw!r}); the decision threshold must come from the model's run, so it"
            " is not served. Register it with `make phase2`, which logs the threshold.",
            "the model has no decision threshold",
        )
    return threshold
