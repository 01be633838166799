"""The champion's reference, from the real MLflow registry: profile, holdout metrics, model.

Everything comes from the model version's run: ``reference_profile.json`` (phase 2's
``ReferenceProfile``), ``metrics.json`` (the holdout metrics the gate judged), ``params.json``
(its threshold and data window) and the model artifact, verified against its checksum tag.
The holdout rows themselves are not stored with the run; ``holdout_rows`` rebuilds them from
the logged data window and checks them against the run's fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import ValidationError
from sklearn.pipeline import Pipeline

from phase1_foundations.contract import FEATURE_NAMES
from phase1_foundations.repro import dataset_fingerprint
from phase1_foundations.settings import Settings
from phase2_pipelines.evaluate import EvaluationReport
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.profile import ReferenceProfile
from phase2_pipelines.stats import FloatArray
from phase4_monitoring.quality import QualityBaseline

PROFILE_ARTIFACT = "reference_profile.json"
METRICS_ARTIFACT = "metrics.json"
PARAMS_ARTIFACT = "params.json"
HOLDOUT_FINGERPRINT_TAG = "data.holdout_fingerprint"


class ReferenceUnavailable(RuntimeError):  # noqa: N818 - named for what happened
    """The champion, or what monitoring needs from its run, cannot be had; the message says."""


@dataclass(frozen=True)
class Champion:
    """A registered model version and everything its run recorded for monitoring."""

    model_name: str
    version: str
    run_id: str
    pipeline: Pipeline
    profile: ReferenceProfile
    baseline: QualityBaseline
    run_params: PipelineParams
    holdout_fingerprint: str | None
    operating_threshold: float | None = None  # what its evaluation chose (metrics.json)

    @property
    def label(self) -> str:
        return f"{self.model_name} v{self.version}"

    @property
    def threshold(self) -> float:
        """The contact threshold the model was evaluated, gated and promoted at."""
        if self.operating_threshold is not None:
            return self.operating_threshold
        return self.run_params.evaluate.threshold

    def score(self, frame: pd.DataFrame) -> FloatArray:
        """Churn probabilities for contract-valid rows."""
        if len(frame) == 0:
            return np.empty(0, dtype=np.float64)
        scores = self.pipeline.predict_proba(frame[list(FEATURE_NAMES)])[:, 1]
        return np.asarray(scores, dtype=np.float64)


def load_champion(settings: Settings, model_name: str, version: str | None = None) -> Champion:
    """The version ``champion`` points at (or ``version``) with its run's monitoring artifacts."""
    import mlflow
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException

    from phase2_pipelines.registry import CHAMPION, CHECKSUM_TAG, Registry, artifact_checksum
    from phase2_pipelines.tracking import configure_mlflow

    try:
        configure_mlflow(settings)
        registry = Registry(model_name)
        chosen = version or registry.version_for(CHAMPION)
        if chosen is None:
            raise ReferenceUnavailable(f"{model_name} has no champion in {settings.tracking_uri}")
        found = registry.client.get_model_version(model_name, chosen)
        run_id = str(found.run_id)
        load = mlflow.artifacts.load_dict
        profile = ReferenceProfile.model_validate(load(f"runs:/{run_id}/{PROFILE_ARTIFACT}"))
        metrics = EvaluationReport.from_dict(load(f"runs:/{run_id}/{METRICS_ARTIFACT}"))
        run_params = PipelineParams.model_validate(load(f"runs:/{run_id}/{PARAMS_ARTIFACT}"))
        local = Path(mlflow.artifacts.download_artifacts(f"models:/{model_name}/{chosen}"))
        tags = registry.client.get_run(run_id).data.tags
    except MlflowException as error:
        which = f"v{version}" if version else CHAMPION
        raise ReferenceUnavailable(f"cannot load {model_name} {which}: {error.message}") from error
    except ValidationError as error:  # recorded by another version of the project
        which = f"v{version}" if version else CHAMPION
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ReferenceUnavailable(
            f"cannot load {model_name} {which}: its run's artifacts do not match this version of"
            f" the project ({where}: {first['msg']}); register it again (make phase2)"
        ) from None
    if found.tags.get(CHECKSUM_TAG) != artifact_checksum(local):
        raise ReferenceUnavailable(
            f"{model_name} v{chosen}: the artifact's checksum does not match"
        )
    return Champion(
        model_name=model_name,
        version=str(chosen),
        run_id=run_id,
        pipeline=mlflow.sklearn.load_model(str(local)),
        profile=profile,
        baseline=QualityBaseline.from_report(metrics),
        run_params=run_params,
        holdout_fingerprint=tags.get(HOLDOUT_FINGERPRINT_TAG),
        operating_threshold=metrics.threshold,
    )


def holdout_rows(champion: Champion, settings: Settings) -> pd.DataFrame:
    """The run's holdout, rebuilt from its logged data window and checked by fingerprint.

    Evidently's reference and the CBPE calibration check need rows, not the profile. The
    holdout is the right rows for both: its scores are out of sample (like the profile's score
    distribution), it has labels, and the gate judged the model on it.
    """
    from phase2_pipelines.pipeline import load_window

    _, holdout = load_window(champion.run_params, settings)
    actual = dataset_fingerprint(holdout)
    if champion.holdout_fingerprint not in (None, "None", actual):
        raise ReferenceUnavailable(
            f"{champion.label}: the rebuilt holdout differs from the one the run recorded"
            f" (fingerprint {actual[:12]} != {champion.holdout_fingerprint[:12]})"
        )
    return holdout
