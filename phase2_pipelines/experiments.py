"""Compare model families and hyperparameters, choosing on a validation split, tracked in MLflow.

Choosing among candidates is itself fitting: the figure of the chosen one, on the data it was
chosen on, is optimistic. So every candidate is fitted on the training window minus a validation
split and compared on that split; only the chosen one is then refitted on the whole training
window and scored once on the test split, the split the gate and the lesson report on.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.settings import Settings, get_settings
from phase2_pipelines.evaluate import Metrics, evaluate_scores
from phase2_pipelines.params import Experiment, PipelineParams, TrainParams
from phase2_pipelines.stages.ingest import load_window
from phase2_pipelines.tracking import EXPERIMENTS_EXPERIMENT, configure_mlflow
from phase2_pipelines.train import fit_model, predict_scores

TABLE_COLUMNS = ("roc_auc", "pr_auc", "brier", "precision", "recall", "net_value_per_customer")


@dataclass(frozen=True)
class ExperimentResult:
    name: str
    family: str
    metrics: dict[str, float]  # on the validation split
    fit_seconds: float
    run_id: str


@dataclass(frozen=True)
class ExperimentsOutcome:
    """Every candidate's validation figures, the chosen one, and its test figures."""

    results: list[ExperimentResult]
    chosen: str
    test: Metrics
    validation_rows: int
    test_rows: int

    def render(self) -> str:
        table = comparison_table(self.results)
        test = self.test
        return "\n".join(
            [
                f"validation split ({self.validation_rows} rows of the training window):",
                table.to_string(index=False, float_format=lambda x: f"{x:.4f}"),
                "",
                f"chosen: {self.chosen} (best validation roc_auc)",
                f"its test figures (refitted on the whole training window, scored once on the"
                f" {self.test_rows}-row test split): roc_auc {test.roc_auc:.4f}"
                f"  pr_auc {test.pr_auc:.4f}  brier {test.brier:.4f}",
            ]
        )


def train_params_for(experiment: Experiment, base: TrainParams) -> TrainParams:
    return base.model_copy(
        update={
            "family": experiment.family,
            "logreg": experiment.logreg or base.logreg,
            "hgb": experiment.hgb or base.hgb,
        }
    )


def validation_split(
    train: pd.DataFrame, params: PipelineParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fit rows, validation rows) carved from the training window.

    World weeks are in time order, so the latest rows are the validation split (the past predicts
    the future, as in the gate). The Telco rows carry no time, so the split is stratified at random.
    """
    rows = math.ceil(len(train) * params.experiments.validation_fraction)
    if params.data.source == "world":
        return train.iloc[:-rows], train.iloc[-rows:]
    fit, validation = train_test_split(
        train,
        test_size=rows,
        stratify=train[LABEL_COLUMN],
        random_state=params.train.seed,
    )
    return fit, validation


def run_experiments(params: PipelineParams, settings: Settings | None = None) -> ExperimentsOutcome:
    """Compare every configured candidate on a validation split; test only the chosen one."""
    settings = settings or get_settings()
    candidates = params.experiments.candidates
    if len(candidates) < 2:
        raise ValueError("experiments.candidates: configure at least two to compare")
    configure_mlflow(settings, EXPERIMENTS_EXPERIMENT)
    train, test = load_window(params, settings)
    fit_rows, validation = validation_split(train, params)
    labels = validation[LABEL_COLUMN].to_numpy()
    results = []
    for experiment in candidates:
        train_params = train_params_for(experiment, params.train)
        started = time.perf_counter()
        model = fit_model(fit_rows, train_params)
        seconds = time.perf_counter() - started
        scores = predict_scores(model, validation)
        report = evaluate_scores(validation, labels, scores, params.evaluate)
        with mlflow.start_run(run_name=experiment.name) as run:
            hyper = getattr(train_params, train_params.family).model_dump()
            mlflow.log_params({"family": train_params.family, **hyper})
            metrics = {f"validation.{k}": v for k, v in report.overall.to_dict().items()}
            mlflow.log_metrics({**metrics, "fit_seconds": seconds})
        results.append(
            ExperimentResult(
                experiment.name,
                experiment.family,
                report.overall.to_dict(),
                seconds,
                run.info.run_id,
            )
        )
    best = max(
        results, key=lambda r: r.metrics["roc_auc"] if np.isfinite(r.metrics["roc_auc"]) else -1
    )
    chosen = next(e for e in candidates if e.name == best.name)
    final = fit_model(train, train_params_for(chosen, params.train))
    test_labels = test[LABEL_COLUMN].to_numpy()
    test_report = evaluate_scores(test, test_labels, predict_scores(final, test), params.evaluate)
    with mlflow.start_run(run_id=best.run_id):
        mlflow.log_metrics({f"test.{k}": v for k, v in test_report.overall.to_dict().items()})
        mlflow.set_tag("chosen", "true")
    return ExperimentsOutcome(
        results=results,
        chosen=best.name,
        test=test_report.overall,
        validation_rows=len(validation),
        test_rows=len(test),
    )


def comparison_table(results: list[ExperimentResult]) -> pd.DataFrame:
    """One row per experiment, best validation ROC AUC first."""
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
