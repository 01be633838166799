"""The training pipeline's stages, each reading and writing files in one work directory.

DVC runs them one by one (``dvc.yaml``) so unchanged stages are skipped; ``run_pipeline`` runs
them in-process, for tests and the capstone. The logic lives in the pure modules (``train``,
``evaluate``, ``gate``, ``profile``); this module only moves data between them and the disk,
MLflow and the registry.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import yaml
from sklearn.pipeline import Pipeline

from phase1_foundations.contract import FEATURE_NAMES, LABEL_COLUMN, validate_frame
from phase1_foundations.repro import dataset_fingerprint, environment_fingerprint, prediction_hash
from phase1_foundations.settings import Settings, get_settings
from phase1_foundations.telco import load_telco
from phase2_pipelines.evaluate import EvaluationReport, evaluate_scores
from phase2_pipelines.gate import GateDecision, decide_promotion
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.profile import fit_reference_profile
from phase2_pipelines.train import fit_model, predict_scores

# MLflow (about 3 s) and matplotlib (about 1 s) are imported inside the stages that use them:
# DVC starts one process per stage, and most stages need neither.

STAGES = ("ingest", "validate", "train", "evaluate", "gate", "register")


class DataRejected(RuntimeError):  # noqa: N818 - the batch is rejected, by design
    """The batch failed the contract; it was quarantined and nothing was trained on it."""


@dataclass(frozen=True)
class WorkDir:
    """Where each stage's outputs live (the paths ``dvc.yaml`` declares)."""

    root: Path

    @property
    def ingest(self) -> Path:
        return self.root / "ingest"

    @property
    def validate(self) -> Path:
        return self.root / "validate"

    @property
    def train(self) -> Path:
        return self.root / "train"

    @property
    def evaluate(self) -> Path:
        return self.root / "evaluate"

    @property
    def gate(self) -> Path:
        return self.root / "gate"

    @property
    def register(self) -> Path:
        return self.root / "register"


def _write_json(path: Path, payload: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    return path


def _read_json(path: Path) -> dict[str, object]:
    payload: dict[str, object] = json.loads(path.read_text())
    return payload


def dvc_data_version(settings: Settings) -> str | None:
    """The md5 DVC recorded for the raw Telco data (``data/raw/telco.dvc``)."""
    pointer = settings.raw_data_dir / "telco.dvc"
    if not pointer.is_file():
        return None
    outs = yaml.safe_load(pointer.read_text()).get("outs", [{}])
    return str(outs[0].get("md5")) if outs else None


# ---- ingest -------------------------------------------------------------------------------


def load_window(params: PipelineParams, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The labeled training window and the later holdout, from the configured source."""
    if params.data.source == "telco":
        splits = load_telco(settings)
        return splits.train, splits.test
    from phase2_pipelines.world_source import load_world_window

    return load_world_window(params.data.world)


def ingest(
    params: PipelineParams,
    work: WorkDir,
    settings: Settings | None = None,
    window: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> dict[str, object]:
    """Write the training window and holdout as parquet, with their fingerprints."""
    settings = settings or get_settings()
    train, holdout = window or load_window(params, settings)
    work.ingest.mkdir(parents=True, exist_ok=True)
    train.to_parquet(work.ingest / "train.parquet", index=False)
    holdout.to_parquet(work.ingest / "holdout.parquet", index=False)
    summary: dict[str, object] = {
        "source": params.data.source,
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "train_fingerprint": dataset_fingerprint(train),
        "holdout_fingerprint": dataset_fingerprint(holdout),
        "dvc_data_version": dvc_data_version(settings) if params.data.source == "telco" else None,
    }
    _write_json(work.ingest / "ingest.json", summary)
    return summary


# ---- validate -----------------------------------------------------------------------------


def quarantine(
    frame: pd.DataFrame, name: str, report: dict[str, object], settings: Settings
) -> Path:
    """Keep a rejected batch and its reason where someone can inspect and replay it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = settings.quarantine_dir / f"{stamp}-{name}-{dataset_fingerprint(frame)[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "batch.parquet", index=False)
    _write_json(folder / "report.json", report)
    return folder


def validate(work: WorkDir, settings: Settings | None = None) -> dict[str, object]:
    """Check both frames against the contract; quarantine and stop on any violation."""
    settings = settings or get_settings()
    reports: dict[str, object] = {}
    failures: list[str] = []
    for name in ("train", "holdout"):
        frame = pd.read_parquet(work.ingest / f"{name}.parquet")
        report = validate_frame(frame, require_label=True)
        reports[name] = report.to_dict()
        if not report.ok:
            folder = quarantine(frame, name, report.to_dict(), settings)
            failures.append(f"{name} batch rejected, quarantined in {folder}:\n{report.summary()}")
    _write_json(work.validate / "report.json", reports)
    if failures:
        raise DataRejected("\n".join(failures))
    return reports


# ---- train --------------------------------------------------------------------------------


def train(params: PipelineParams, work: WorkDir) -> Pipeline:
    """Fit the pipeline on the validated window and profile the training data for monitoring."""
    frame = pd.read_parquet(work.ingest / "train.parquet")
    started = time.perf_counter()
    model = fit_model(frame, params.train)
    seconds = time.perf_counter() - started
    work.train.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, work.train / "model.joblib")
    profile = fit_reference_profile(frame, predict_scores(model, frame))
    (work.train / "reference_profile.json").write_text(profile.model_dump_json(indent=2))
    _write_json(work.train / "train.json", {"family": params.train.family, "fit_seconds": seconds})
    return model


# ---- evaluate -----------------------------------------------------------------------------


def evaluate(params: PipelineParams, work: WorkDir) -> EvaluationReport:
    """Score the holdout with the candidate; write metrics, per-slice metrics and plots."""
    model = joblib.load(work.train / "model.joblib")
    holdout = pd.read_parquet(work.ingest / "holdout.parquet")
    scores = predict_scores(model, holdout)
    labels = holdout[LABEL_COLUMN].to_numpy()
    report = evaluate_scores(holdout, labels, scores, params.evaluate)
    from phase2_pipelines.plots import plot_evaluation

    work.evaluate.mkdir(parents=True, exist_ok=True)
    _write_json(work.evaluate / "metrics.json", report.to_dict())
    _write_json(work.evaluate / "predictions.json", {"sha256": prediction_hash(scores)})
    plot_evaluation(
        labels, scores, params.evaluate.threshold, params.evaluate.calibration_bins,
        work.evaluate / "plots",
    )  # fmt: skip
    return report


# ---- gate ---------------------------------------------------------------------------------


def evaluate_champion(
    params: PipelineParams, holdout: pd.DataFrame, settings: Settings
) -> tuple[EvaluationReport | None, str | None]:
    """The current champion's metrics on this same holdout, or (None, None) if there is none."""
    import mlflow.sklearn

    from phase2_pipelines.registry import CHAMPION, Registry
    from phase2_pipelines.tracking import configure_mlflow

    configure_mlflow(settings)
    registry = Registry(params.registry.model_name)
    version = registry.version_for(CHAMPION)
    if version is None:
        return None, None
    champion = mlflow.sklearn.load_model(f"models:/{params.registry.model_name}@{CHAMPION}")
    scores = predict_scores(champion, holdout)
    labels = holdout[LABEL_COLUMN].to_numpy()
    return evaluate_scores(holdout, labels, scores, params.evaluate), version


def gate(params: PipelineParams, work: WorkDir, settings: Settings | None = None) -> GateDecision:
    """Decide promotion against the champion on the same holdout; print and record it."""
    settings = settings or get_settings()
    candidate = EvaluationReport.from_dict(_read_json(work.evaluate / "metrics.json"))
    holdout = pd.read_parquet(work.ingest / "holdout.parquet")
    champion, version = evaluate_champion(params, holdout, settings)
    decision = decide_promotion(
        candidate,
        champion,
        params.gate,
        min_slice_rows=params.evaluate.min_slice_rows,
        champion_version=version,
    )
    payload = decision.to_dict()
    payload["champion_metrics"] = None if champion is None else champion.to_dict()
    _write_json(work.gate / "gate.json", payload)
    return decision


# ---- register -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    run_id: str
    version: str
    decision: GateDecision
    champion: str | None
    challenger: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "version": self.version,
            "promoted": self.decision.promote,
            "summary": self.decision.summary,
            "champion": self.champion,
            "challenger": self.challenger,
        }


def _log_run(
    params: PipelineParams, work: WorkDir, model: Pipeline, decision: GateDecision
) -> tuple[str, str]:
    """Log everything needed to audit and rebuild this model; return (run id, model uri)."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from phase2_pipelines.tracking import model_pip_requirements

    ingest_summary = _read_json(work.ingest / "ingest.json")
    report = EvaluationReport.from_dict(_read_json(work.evaluate / "metrics.json"))
    predictions = _read_json(work.evaluate / "predictions.json")
    environment = environment_fingerprint()
    holdout = pd.read_parquet(work.ingest / "holdout.parquet")
    sample = holdout[list(FEATURE_NAMES)].head(50)
    with mlflow.start_run(run_name=f"{params.train.family}-{params.data.source}") as run:
        mlflow.log_params(params.flat())
        mlflow.log_metrics({k: v for k, v in report.flat_metrics().items() if np.isfinite(v)})
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
        return run.info.run_id, info.model_uri


def trusted_types(model: Pipeline) -> list[str]:
    """The non-default types skops must allow for a model we just trained ourselves."""
    import skops.io

    untrusted: list[str] = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    return untrusted


def register(
    params: PipelineParams, work: WorkDir, settings: Settings | None = None
) -> Registration:
    """Log the run, register the model version, and move aliases only if the gate said so."""
    import mlflow

    from phase2_pipelines.registry import (
        CHALLENGER,
        CHAMPION,
        CHECKSUM_TAG,
        Registry,
        artifact_checksum,
    )
    from phase2_pipelines.tracking import TRAINING_EXPERIMENT, configure_mlflow

    settings = settings or get_settings()
    configure_mlflow(settings, TRAINING_EXPERIMENT)
    decision = GateDecision.from_dict(_read_json(work.gate / "gate.json"))
    model = joblib.load(work.train / "model.joblib")
    run_id, model_uri = _log_run(params, work, model, decision)
    version = str(mlflow.register_model(model_uri, params.registry.model_name).version)
    registry = Registry(params.registry.model_name)
    # The checksum of exactly what was stored; the service verifies it before serving.
    checksum = artifact_checksum(Path(mlflow.artifacts.download_artifacts(model_uri)))
    tags = {
        "run_id": run_id,
        "gate.promote": str(decision.promote),
        "gate": decision.summary,
        CHECKSUM_TAG: checksum,
    }
    for key, value in tags.items():
        registry.client.set_model_version_tag(registry.name, version, key, value[:4000])
    if decision.promote and params.registry.promote_to == "champion":
        registry.promote(version, decision.summary)
    elif decision.promote:
        registry.stage_challenger(version, decision.summary)
    registration = Registration(
        run_id=run_id,
        version=version,
        decision=decision,
        champion=registry.version_for(CHAMPION),
        challenger=registry.version_for(CHALLENGER),
    )
    _write_json(work.register / "registered.json", registration.to_dict())
    return registration


def run_pipeline(
    params: PipelineParams,
    work: WorkDir,
    settings: Settings | None = None,
    window: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> Registration:
    """Every stage in order, in this process (DVC runs the same functions stage by stage)."""
    settings = settings or get_settings()
    ingest(params, work, settings, window)
    validate(work, settings)
    train(params, work)
    evaluate(params, work)
    gate(params, work, settings)
    return register(params, work, settings)


def clear(work: WorkDir) -> None:
    shutil.rmtree(work.root, ignore_errors=True)
