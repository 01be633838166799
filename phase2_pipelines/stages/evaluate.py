"""Stage ``evaluate``: the candidate's metrics on the holdout, its per-row scores, and plots."""

from __future__ import annotations

import joblib
import pandas as pd

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.repro import prediction_hash
from phase2_pipelines.evaluate import EvaluationReport, evaluate_scores
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.train import predict_scores
from phase2_pipelines.workdir import SCORE_COLUMN, WorkDir, write_json


def evaluate(params: PipelineParams, work: WorkDir) -> EvaluationReport:
    """Score the holdout with the candidate; write metrics, per-row scores and plots.

    The per-row scores are what the gate pairs with the champion's scores on the same rows.
    """
    model = joblib.load(work.train / "model.joblib")
    holdout = pd.read_parquet(work.ingest / "holdout.parquet")
    scores = predict_scores(model, holdout)
    labels = holdout[LABEL_COLUMN].to_numpy()
    report = evaluate_scores(holdout, labels, scores, params.evaluate)
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
        params.evaluate.threshold,
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
