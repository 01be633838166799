"""`make experiments` chooses on a validation split of the training window, then tests once."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from mlflow import MlflowClient

from phase1_foundations.settings import Settings
from phase1_foundations.telco import load_telco
from phase2_pipelines.__main__ import main
from phase2_pipelines.experiments import comparison_table, run_experiments, validation_split
from phase2_pipelines.params import PipelineParams, load_params
from phase2_pipelines.tracking import EXPERIMENTS_EXPERIMENT


def test_validation_split_is_carved_from_the_training_window(
    state: Settings, params: PipelineParams
) -> None:
    splits = load_telco(state)
    fit, validation = validation_split(splits.train, params)
    assert len(fit) + len(validation) == len(splits.train)
    assert set(fit.customerid).isdisjoint(validation.customerid)
    assert set(validation.customerid) <= set(splits.train.customerid)  # never the test split
    assert abs(validation.churn.mean() - splits.train.churn.mean()) < 0.01  # stratified


def test_experiments_choose_on_validation_and_test_only_the_chosen(
    state: Settings, params: PipelineParams
) -> None:
    outcome = run_experiments(params, state)
    candidates = params.experiments.candidates
    assert [r.name for r in outcome.results] == [e.name for e in candidates]
    table = comparison_table(outcome.results)
    assert table["roc_auc"].is_monotonic_decreasing  # best first
    assert set(table["family"]) == {"logreg", "hgb"}  # at least two families
    fraction = params.experiments.validation_fraction
    validation_rows = math.ceil(len(load_telco(state).train) * fraction)
    assert outcome.validation_rows == validation_rows
    assert all(r.metrics["n"] == validation_rows for r in outcome.results)  # chosen on validation
    assert outcome.chosen == table["experiment"][0]
    assert outcome.test_rows == 2113
    assert outcome.test.n == 2113  # the test figures are the chosen one's, on the test split
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENTS_EXPERIMENT)
    assert experiment is not None
    runs = {
        run.info.run_name: run for run in MlflowClient().search_runs([experiment.experiment_id])
    }
    assert set(runs) == {r.name for r in outcome.results}
    tested = {name for name, run in runs.items() if "test.roc_auc" in run.data.metrics}
    assert tested == {outcome.chosen}  # nobody else ever saw the test split
    assert runs[outcome.chosen].data.metrics["test.roc_auc"] == pytest.approx(outcome.test.roc_auc)


def test_experiments_command_prints_the_choice_and_its_test_figures(
    state: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["experiments"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("validation split (")
    assert "hgb-default" in out
    assert "chosen: " in out
    assert "its test figures (refitted on the whole training window" in out


def test_world_validation_is_the_latest_weeks(telco_sample: pd.DataFrame) -> None:
    """World rows come in week order, so the validation split is the most recent rows."""
    project = load_params()
    params = project.model_copy(
        update={"data": project.data.model_copy(update={"source": "world"})}
    )
    fit, validation = validation_split(telco_sample, params)
    rows = math.ceil(len(telco_sample) * params.experiments.validation_fraction)
    assert validation.index.tolist() == telco_sample.index[-rows:].tolist()
    assert fit.index.tolist() == telco_sample.index[:-rows].tolist()
