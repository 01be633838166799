"""Stage ``train``: fit the pipeline on the validated window; profile the window for monitoring."""

from __future__ import annotations

import time

import joblib
import pandas as pd
from sklearn.pipeline import Pipeline

from phase2_pipelines.params import PipelineParams
from phase2_pipelines.profile import fit_reference_profile
from phase2_pipelines.train import fit_model, out_of_fold_scores
from phase2_pipelines.workdir import WorkDir, write_json


def train(params: PipelineParams, work: WorkDir) -> Pipeline:
    """Fit the pipeline; the reference profile's scores are out-of-fold, like live scores."""
    frame = pd.read_parquet(work.ingest / "train.parquet")
    started = time.perf_counter()
    model = fit_model(frame, params.train)
    seconds = time.perf_counter() - started
    work.train.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, work.train / "model.joblib")
    profile = fit_reference_profile(frame, out_of_fold_scores(frame, params.train))
    (work.train / "reference_profile.json").write_text(profile.model_dump_json(indent=2))
    write_json(work.train / "train.json", {"family": params.train.family, "fit_seconds": seconds})
    return model


def main(params: PipelineParams, work: WorkDir) -> str:
    train(params, work)
    return f"trained a {params.train.family} pipeline"
