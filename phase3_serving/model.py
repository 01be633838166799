"""Load a registered model by alias, verify it byte for byte, and describe it.

The service never serves an artifact whose checksum differs from the one recorded when it was
registered. Loading happens off the request path (at startup, and in the background on swaps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN
from phase2_pipelines.registry import CHECKSUM_TAG, artifact_checksum
from phase3_serving.compiled import LinearScorer

DEFAULT_THRESHOLD = 0.5


class ModelLoadError(RuntimeError):
    """The model could not be loaded or failed verification; the message says which."""


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
        raise ModelLoadError(f"cannot load {name}@{alias}: {error}") from error
    expected = version.tags.get(CHECKSUM_TAG)
    actual = artifact_checksum(local)
    if expected is None:
        raise ModelLoadError(f"{name} v{version.version} has no {CHECKSUM_TAG} tag to verify")
    if actual != expected:
        raise ModelLoadError(
            f"{name} v{version.version}: artifact checksum {actual} != registered {expected}"
        )
    try:
        pipeline = mlflow.sklearn.load_model(str(local))
    except (MlflowException, OSError, ValueError) as error:
        raise ModelLoadError(f"{name} v{version.version} does not load: {error}") from error
    params = run.data.params if run else {}
    tags = run.data.tags if run else {}
    started = datetime.fromtimestamp(run.info.start_time / 1000, UTC).isoformat() if run else None
    return LoadedModel(
        name=name,
        alias=alias,
        version=str(version.version),
        run_id=str(version.run_id),
        pipeline=pipeline,
        checksum=actual,
        threshold=float(params.get("evaluate.threshold", DEFAULT_THRESHOLD)),
        data_fingerprint=tags.get("data.train_fingerprint"),
        trained_at=started,
        fast=LinearScorer.compile(pipeline),
    )
