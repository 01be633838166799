"""Compare model families and hyperparameters on the same window, tracked in MLflow."""

from __future__ import annotations

import time
from dataclasses import dataclass

import mlflow
import pandas as pd

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.settings import Settings, get_settings
from phase2_pipelines.evaluate import evaluate_scores
from phase2_pipelines.params import Experiment, PipelineParams, TrainParams
from phase2_pipelines.pipeline import load_window
from phase2_pipelines.tracking import EXPERIMENTS_EXPERIMENT, configure_mlflow
from phase2_pipelines.train import fit_model, predict_scores

TABLE_COLUMNS = ("roc_auc", "pr_auc", "brier", "precision", "recall", "net_value_per_customer")


@dataclass(frozen=True)
class ExperimentResult:
    name: str
    family: str
    metrics: dict[str, float]
    fit_seconds: float
    run_id: str


def train_params_for(experiment: Experiment, base: TrainParams) -> TrainParams:
    return base.model_copy(
        update={"family": experiment.family, "logreg": experiment.logreg, "hgb": experiment.hgb}
    )


def run_experiments(
    params: PipelineParams, settings: Settings | None = None
) -> list[ExperimentResult]:
    """Train and evaluate every configured experiment on one window; log each as a run."""
    settings = settings or get_settings()
    if len(params.experiments) < 2:
        raise ValueError("experiments: configure at least two to compare")
    configure_mlflow(settings, EXPERIMENTS_EXPERIMENT)
    train, holdout = load_window(params, settings)
    labels = holdout[LABEL_COLUMN].to_numpy()
    results = []
    for experiment in params.experiments:
        train_params = train_params_for(experiment, params.train)
        started = time.perf_counter()
        model = fit_model(train, train_params)
        seconds = time.perf_counter() - started
        report = evaluate_scores(holdout, labels, predict_scores(model, holdout), params.evaluate)
        with mlflow.start_run(run_name=experiment.name) as run:
            hyper = getattr(train_params, train_params.family).model_dump()
            mlflow.log_params({"family": train_params.family, **hyper})
            mlflow.log_metrics({**report.overall.to_dict(), "fit_seconds": seconds})
        results.append(
            ExperimentResult(
                experiment.name,
                experiment.family,
                report.overall.to_dict(),
                seconds,
                run.info.run_id,
            )
        )
    return results


def comparison_table(results: list[ExperimentResult]) -> pd.DataFrame:
    """One row per experiment, best primary metric first."""
    rows = [
        {
            "experiment": r.name,
            "family": r.family,
            **{k: r.metrics[k] for k in TABLE_COLUMNS},
            "fit_s": r.fit_seconds,
        }
        for r in results
    ]
    return pd.DataFrame(rows).sort_values("roc_auc", ascending=False).reset_index(drop=True)
