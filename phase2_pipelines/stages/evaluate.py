"""Stage ``evaluate``: the candidate's metrics on the holdout, its per-row scores, and plots."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.repro import prediction_hash
from phase2_pipelines.crossfit import crossfit_scores
from phase2_pipelines.evaluate import EvaluationReport, choose_threshold, evaluate_scores
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.train import Fitter, configured_fitter, predict_scores
from phase2_pipelines.workdir import SCORE_COLUMN, WorkDir, read_weights, write_json


def holdout_scores(
    params: PipelineParams, work: WorkDir, fitter: Fitter | None = None
) -> np.ndarray:
    """The candidate's score for each holdout row, from a model that never saw that row: the
    trained model, or (``crossfit_folds``) a fold's model fitted on the training rows and the
    other folds."""
    holdout = pd.read_parquet(work.ingest / "holdout.parquet")
    folds = params.evaluate.crossfit_folds
    if folds == 0:
        return predict_scores(joblib.load(work.train / "model.joblib"), holdout)
    train = pd.read_parquet(work.ingest / "train.parquet")
    weights = read_weights(work, len(train))
    return crossfit_scores(
        fitter or configured_fitter(params),
        holdout,
        None if weights is None else weights[1],
        folds=folds,
        seed=params.train.seed,
        base=train,
        base_weights=None if weights is None else weights[0],
    )


def evaluate(
    params: PipelineParams, work: WorkDir, fitter: Fitter | None = None
) -> EvaluationReport:
    """Score the holdout with the candidate; choose its threshold; write metrics, per-row scores
    and plots.

    The per-row scores are what the gate pairs with the champion's scores on the same rows.
    """
    holdout = pd.read_parquet(work.ingest / "holdout.parquet")
    scores = holdout_scores(params, work, fitter)
    labels = holdout[LABEL_COLUMN].to_numpy()
    threshold = choose_threshold(labels, scores, params.evaluate)
    report = evaluate_scores(holdout, labels, scores, params.evaluate, threshold)
    from phase2_pipelines.plots import plot_evaluation

    work.evaluate.mkdir(parents=True, exist_ok=True)
    write_json(work.evaluate / "metrics.json", report.to_dict())
    write_json(work.evaluate / "predictions.json", {"sha256": prediction_hash(scores)})
    pd.DataFrame(
        {ID_COLUMN: holdout[ID_COLUMN], LABEL_COLUMN: labels, SCORE_COLUMN: scores}
    ).to_parquet(work.evaluate / "scores.parquet", index=False)
    plot_evaluation(
        labels,
        scores,
        threshold,
        params.evaluate.calibration_bins,
        work.evaluate / "plots",
    )
    return report


def main(params: PipelineParams, work: WorkDir) -> str:
    overall = evaluate(params, work).overall
    return (
        f"holdout roc_auc {overall.roc_auc:.4f}  pr_auc {overall.pr_auc:.4f}"
        f"  brier {overall.brier:.4f}  net value/customer {overall.net_value_per_customer:.2f}"
    )
