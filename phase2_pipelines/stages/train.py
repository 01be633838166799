"""Stage ``train``: fit the pipeline on the validated window; profile the window for monitoring.

With ``evaluate.crossfit_folds`` set, the holdout rows are training rows too (``evaluate``
cross-fits them to judge the candidate), so the shipped model learns from the newest weeks.
"""

from __future__ import annotations

import time

import joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from phase2_pipelines.params import PipelineParams
from phase2_pipelines.profile import fit_reference_profile
from phase2_pipelines.train import Fitter, Weights, configured_fitter, out_of_fold_scores
from phase2_pipelines.workdir import WorkDir, read_weights, write_json


def training_rows(params: PipelineParams, work: WorkDir) -> tuple[pd.DataFrame, Weights]:
    """The rows the shipped model learns from, and their weights (None: all count alike)."""
    train = pd.read_parquet(work.ingest / "train.parquet")
    weights = read_weights(work, len(train))
    if params.evaluate.crossfit_folds == 0:
        return train, None if weights is None else weights[0]
    holdout = pd.read_parquet(work.ingest / "holdout.parquet")
    both = pd.concat([train, holdout], ignore_index=True) if len(train) else holdout
    return both, None if weights is None else np.concatenate(weights)


def train(params: PipelineParams, work: WorkDir, fitter: Fitter | None = None) -> Pipeline:
    """Fit the pipeline; the reference profile's scores are out-of-fold, like live scores."""
    frame, weights = training_rows(params, work)
    started = time.perf_counter()
    fit = fitter or configured_fitter(params)
    model = fit(frame, weights)
    seconds = time.perf_counter() - started
    work.train.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, work.train / "model.joblib")
    scores = (
        out_of_fold_scores(frame, params.train)
        if fitter is None and weights is None
        else out_of_fold_scores(frame, params.train, fit, weights)
    )
    profile = fit_reference_profile(frame, scores, params.train)
    (work.train / "reference_profile.json").write_text(profile.model_dump_json(indent=2))
    write_json(work.train / "train.json", {"family": params.train.family, "fit_seconds": seconds})
    return model


def main(params: PipelineParams, work: WorkDir) -> str:
    train(params, work)
    return f"trained a {params.train.family} pipeline"
