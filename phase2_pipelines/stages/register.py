"""Stage ``register``: log the run, register the model version, move aliases if the gate said so.

It writes the registry, so DVC always runs it (``always_changed``). Running it again on the same
model must not add a version: a candidate identical to the champion registers nothing, and a
model already registered (same training data, params and holdout predictions) is found by its
identity tag and gets the new decision instead of a duplicate version.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN
from phase1_foundations.repro import environment_fingerprint
from phase1_foundations.settings import Settings, get_settings
from phase2_pipelines.evaluate import EvaluationReport
from phase2_pipelines.gate import GateDecision
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.train import model_structure, predict_scores
from phase2_pipelines.workdir import SCORE_COLUMN, WorkDir, read_json, write_json

if TYPE_CHECKING:
    from phase2_pipelines.registry import Registry


@dataclass(frozen=True)
class Registration:
    """What the register stage did: the version concerned, the decision, the aliases after."""

    run_id: str
    version: str
    decision: GateDecision
    champion: str | None
    challenger: str | None
    registered: bool = True
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "version": self.version,
            "registered": self.registered,
            "promoted": self.decision.promote,
            "summary": self.decision.summary,
            "champion": self.champion,
            "challenger": self.challenger,
            "note": self.note,
        }

    def render(self, model_name: str) -> str:
        return f"{self.note}; champion is {model_name} v{self.champion}"


def model_identity(params: PipelineParams, work: WorkDir) -> str:
    """sha256 of what makes a model this model: training data, train params, the estimator's
    structure, holdout scores."""
    ingest = read_json(work.ingest / "ingest.json")
    predictions = read_json(work.evaluate / "predictions.json")
    parts = {
        "train_fingerprint": ingest["train_fingerprint"],
        "holdout_fingerprint": ingest["holdout_fingerprint"],
        "holdout_prediction_sha256": predictions["sha256"],
        "train_params": params.train.model_dump(mode="json"),
        "structure": model_structure(joblib.load(work.train / "model.joblib")),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def trusted_types(model: Pipeline) -> list[str]:
    """The non-default types skops must allow for a model we just trained ourselves."""
    import skops.io

    untrusted: list[str] = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    return untrusted


def offline_scores(work: WorkDir) -> Path:
    """The holdout rows (id and features) with the scores evaluation gave them, as a file.

    Evaluated before any packaging, so a serving package that scores differently from what was
    evaluated shows up when the service scores these rows live (the shadow's skew check).
    """
    from phase2_pipelines.registry import OFFLINE_SCORE_COLUMN, OFFLINE_SCORES_ARTIFACT

    holdout = pd.read_parquet(work.ingest / "holdout.parquet")
    scored = pd.read_parquet(work.evaluate / "scores.parquet")
    if not holdout[ID_COLUMN].reset_index(drop=True).equals(scored[ID_COLUMN]):
        raise ValueError("evaluate/scores.parquet is not in the holdout's row order")
    frame = holdout[[ID_COLUMN, *FEATURE_NAMES]].assign(
        **{OFFLINE_SCORE_COLUMN: scored[SCORE_COLUMN].to_numpy()}
    )
    path = work.register / OFFLINE_SCORES_ARTIFACT
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def _log_run(
    params: PipelineParams, work: WorkDir, model: Pipeline, decision: GateDecision
) -> tuple[str, str]:
    """Log everything needed to audit and rebuild this model; return (run id, model uri)."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from phase2_pipelines.tracking import model_pip_requirements

    ingest_summary = read_json(work.ingest / "ingest.json")
    report = EvaluationReport.from_dict(read_json(work.evaluate / "metrics.json"))
    predictions = read_json(work.evaluate / "predictions.json")
    environment = environment_fingerprint()
    holdout = pd.read_parquet(work.ingest / "holdout.parquet")
    sample = holdout[list(FEATURE_NAMES)].head(50)
    with mlflow.start_run(run_name=f"{params.train.family}-{params.data.source}") as run:
        mlflow.log_params(params.flat())
        metrics = {k: v for k, v in report.flat_metrics().items() if np.isfinite(v)}
        comparison = decision.comparison
        if comparison is not None:
            metrics |= {
                "gate.delta_roc_auc": comparison.difference,
                "gate.delta_roc_auc_low": comparison.low,
                "gate.delta_roc_auc_high": comparison.high,
            }
        mlflow.set_tags(
            {
                "model_family": params.train.family,
                "data.source": str(ingest_summary["source"]),
                "data.train_fingerprint": str(ingest_summary["train_fingerprint"]),
                "data.holdout_fingerprint": str(ingest_summary["holdout_fingerprint"]),
                "data.dvc_version": str(ingest_summary["dvc_data_version"]),
                "git_commit": str(environment.git_commit),
                "git_dirty": str(environment.git_dirty),
                "lock_sha256": str(environment.lockfile_sha256),
                "holdout_prediction_sha256": str(predictions["sha256"]),
                "gate.promote": str(decision.promote),
                "gate.summary": decision.summary[:4000],
            }
        )
        mlflow.log_dict(environment.to_dict(), "environment.json")
        mlflow.log_dict(params.model_dump(mode="json"), "params.json")
        mlflow.log_dict(decision.to_dict(), "gate.json")
        mlflow.log_artifact(str(work.evaluate / "metrics.json"))
        mlflow.log_artifact(str(work.validate / "report.json"), "validation")
        mlflow.log_artifact(str(work.train / "reference_profile.json"))
        mlflow.log_artifact(str(offline_scores(work)))
        mlflow.log_artifacts(str(work.evaluate / "plots"), "plots")
        with warnings.catch_warnings():
            # MLflow hints that integer columns cannot hold missing values; the contract
            # already forbids nulls in every feature.
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
            signature = infer_signature(sample, predict_scores(model, sample))
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            pip_requirements=model_pip_requirements(),
            signature=signature,
            serialization_format="skops",  # no arbitrary code runs when the model is loaded
            skops_trusted_types=trusted_types(model),
        )
        # Logged after the model, for it: logged before, log_model would read each metric's
        # history back from the store and log it again for the model (half a second a model).
        mlflow.log_metrics(metrics, model_id=info.model_id)
        return run.info.run_id, info.model_uri


def _new_version(
    params: PipelineParams, work: WorkDir, decision: GateDecision, registry: Registry
) -> str:
    """Log the run and register its model as a new version, tagged with its identity."""
    import mlflow

    from phase2_pipelines.registry import IDENTITY_TAG

    model = joblib.load(work.train / "model.joblib")
    run_id, model_uri = _log_run(params, work, model, decision)
    # The identity is written with the version, in one transaction: a process killed right
    # after this call leaves a version a rerun recognises, never a second copy.
    tags = {"run_id": run_id, IDENTITY_TAG: model_identity(params, work)}
    version = str(mlflow.register_model(model_uri, registry.name, tags=tags).version)
    _record_checksum(registry, version)
    return version


def _record_checksum(registry: Registry, version: str) -> None:
    """The checksum of exactly what was stored; the service verifies it before serving."""
    import mlflow

    from phase2_pipelines.registry import CHECKSUM_TAG, artifact_checksum

    stored = mlflow.artifacts.download_artifacts(f"models:/{registry.name}/{version}")
    checksum = artifact_checksum(Path(stored))
    registry.client.set_model_version_tag(registry.name, version, CHECKSUM_TAG, checksum)


def _move_aliases(
    params: PipelineParams, decision: GateDecision, registry: Registry, version: str
) -> str:
    """Promote or stage ``version`` if the gate said so; return what happened."""
    from phase2_pipelines.registry import CHAMPION

    if not decision.promote:
        return "not promoted"
    judged, current = decision.champion_version, registry.version_for(CHAMPION)
    if current != judged:
        return (
            f"not promoted: the gate judged against champion v{judged}, but the champion is now"
            f" v{current}; run the pipeline again"
        )
    rolled_back = registry.rolled_back(version)
    if rolled_back is not None:
        return (
            f"not promoted: v{version} was rolled back at {rolled_back.at} ({rolled_back.reason});"
            " retrain, or promote it by hand with --force"
        )
    if params.registry.promote_to == "champion":
        registry.promote(version, decision.summary)
        return "promoted to champion"
    registry.stage_challenger(version, decision.summary)
    return "staged as challenger"


def operating_params(params: PipelineParams, work: WorkDir) -> PipelineParams:
    """``params`` with the threshold evaluate chose (``evaluate.contact_rule``): the run records
    the threshold the model was judged at, and the service decides at exactly that."""
    chosen = float(read_json(work.evaluate / "metrics.json").get("threshold", 0.0))  # type: ignore[arg-type]
    if not 0.0 < chosen < 1.0 or chosen == params.evaluate.threshold:
        return params
    evaluate = params.evaluate.model_copy(update={"threshold": chosen})
    return params.model_copy(update={"evaluate": evaluate})


def register(
    params: PipelineParams, work: WorkDir, settings: Settings | None = None
) -> Registration:
    """Register the candidate (once per distinct model) and move aliases if the gate said so."""
    from phase2_pipelines.registry import (
        CHALLENGER,
        CHAMPION,
        CHECKSUM_TAG,
        IDENTITY_TAG,
        Registry,
    )
    from phase2_pipelines.tracking import TRAINING_EXPERIMENT, configure_mlflow

    settings = settings or get_settings()
    configure_mlflow(settings, TRAINING_EXPERIMENT)
    params = operating_params(params, work)
    registry = Registry(params.registry.model_name)
    decision = GateDecision.from_dict(read_json(work.gate / "gate.json"))
    identity = model_identity(params, work)
    existing = registry.version_tagged(IDENTITY_TAG, identity)
    if decision.same_as_champion and decision.champion_version is not None:
        version, registered = decision.champion_version, False
        note = f"candidate is champion v{version}; nothing registered, nothing to promote"
    elif existing is not None:
        version, registered = existing, False
        note = f"same model as v{version} (already registered); decision recorded on v{version}"
        if CHECKSUM_TAG not in registry.tags(version):  # registered by a run that was killed
            _record_checksum(registry, version)
    else:
        version, registered = _new_version(params, work, decision, registry), True
        note = f"registered as v{version}"
    if not decision.same_as_champion:
        for key, value in {"gate.promote": str(decision.promote), "gate": decision.summary}.items():
            registry.client.set_model_version_tag(registry.name, version, key, value[:4000])
        note = f"{note}; {_move_aliases(params, decision, registry, version)}"
    registration = Registration(
        run_id=registry.tags(version).get("run_id", ""),
        version=version,
        decision=decision,
        champion=registry.version_for(CHAMPION),
        challenger=registry.version_for(CHALLENGER),
        registered=registered,
        note=note,
    )
    write_json(work.register / "registered.json", registration.to_dict())
    return registration


def main(params: PipelineParams, work: WorkDir) -> str:
    return register(params, work).render(params.registry.model_name)
