"""`make experiments` compares at least two configurations and tracks each as an MLflow run."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from phase1_foundations.settings import Settings
from phase2_pipelines.__main__ import main
from phase2_pipelines.experiments import comparison_table, run_experiments
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.tracking import EXPERIMENTS_EXPERIMENT


def test_experiments_are_compared_and_tracked(state: Settings, params: PipelineParams) -> None:
    results = run_experiments(params, state)
    assert [r.name for r in results] == [e.name for e in params.experiments]
    table = comparison_table(results)
    assert table["roc_auc"].is_monotonic_decreasing  # best first
    assert set(table["family"]) == {"logreg", "hgb"}  # at least two families
    experiment = MlflowClient().get_experiment_by_name(EXPERIMENTS_EXPERIMENT)
    assert experiment is not None
    runs = MlflowClient().search_runs([experiment.experiment_id])
    assert {run.info.run_name for run in runs} == {r.name for r in results}
    chosen = next(r for r in results if r.name == "logreg-C0.3")
    assert chosen.metrics["roc_auc"] >= 0.86  # the configuration params.yaml trains


def test_experiments_command_prints_the_table(
    state: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["experiments"]) == 0
    out = capsys.readouterr().out
    assert "experiment" in out.splitlines()[0]
    assert "hgb-default" in out
