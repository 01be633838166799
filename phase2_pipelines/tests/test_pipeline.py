"""The whole pipeline on the real Telco data with a real MLflow store (sqlite in a temp dir).

One module-scoped registry lives through a story: a first champion, a crippled challenger that
the gate rejects, a promotion, a rollback, a quarantined batch and a reproduction.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.repro import git_state
from phase1_foundations.settings import Settings
from phase1_foundations.telco import load_telco
from phase2_pipelines.__main__ import main
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.pipeline import DataRejected, Registration, run_pipeline
from phase2_pipelines.registry import CHAMPION, PREVIOUS_CHAMPION, Registry
from phase2_pipelines.reproduce import ReproduceError, reproduce_run
from phase2_pipelines.tests.conftest import workdir


@pytest.fixture(scope="module")
def story(module_state: Settings, params: PipelineParams) -> dict[str, Registration]:
    splits = load_telco(module_state)
    first = run_pipeline(params, workdir(module_state, "first"), module_state)
    shuffled = splits.train.copy()
    shuffled[LABEL_COLUMN] = np.random.default_rng(0).permutation(shuffled[LABEL_COLUMN])
    crippled = run_pipeline(
        params, workdir(module_state, "crippled"), module_state, (shuffled, splits.test)
    )
    equal_allowed = params.model_copy(
        update={"gate": params.gate.model_copy(update={"superiority_margin": 0.0})}
    )
    second = run_pipeline(equal_allowed, workdir(module_state, "second"), module_state)
    return {"first": first, "crippled": crippled, "second": second}


def registry(params: PipelineParams) -> Registry:
    return Registry(params.registry.model_name)


def count_versions(params: PipelineParams) -> int:
    return len(MlflowClient().search_model_versions(f"name='{params.registry.model_name}'"))


def test_first_model_becomes_champion_on_floors(story: dict[str, Registration]) -> None:
    first = story["first"]
    assert first.decision.promote
    assert first.decision.champion_version is None  # nothing to beat: floors only
    assert first.champion == first.version == "1"


def test_champion_reaches_the_quality_bar(
    story: dict[str, Registration], module_state: Settings
) -> None:
    run = MlflowClient().get_run(story["first"].run_id)
    assert run.data.metrics["roc_auc"] >= 0.86  # on the real Telco test split
    assert run.data.metrics["n"] == len(load_telco(module_state).test)


def test_crippled_challenger_is_rejected_with_reasons(
    story: dict[str, Registration], params: PipelineParams
) -> None:
    crippled = story["crippled"]
    assert not crippled.decision.promote
    failed = {check.name for check in crippled.decision.failures}
    assert "floor roc_auc" in failed
    assert "beats champion on roc_auc" in failed
    assert crippled.champion == "1"  # the champion did not move
    tags = MlflowClient().get_model_version(params.registry.model_name, crippled.version).tags
    assert tags["gate.promote"] == "False"
    assert "floor roc_auc" in tags["gate"]


def test_run_records_everything_needed_to_audit_it(story: dict[str, Registration]) -> None:
    run_id = story["first"].run_id
    run = MlflowClient().get_run(run_id)
    tags, metrics, logged = run.data.tags, run.data.metrics, run.data.params
    assert len(tags["data.train_fingerprint"]) == 64  # data fingerprint
    assert tags["data.dvc_version"].endswith(".dir")  # DVC data version
    assert tags["git_commit"] == str(git_state()[0])  # code version
    assert len(tags["lock_sha256"]) == 64  # environment
    assert logged["train.family"] == "logreg"
    assert "slice.contract.Month-to-month.roc_auc" in metrics  # per-slice metrics
    assert "slice.tenure_band.000-011m.recall" in metrics
    artifacts = {a.path for a in MlflowClient().list_artifacts(run_id)}
    assert {"environment.json", "gate.json", "params.json", "reference_profile.json"} <= artifacts
    plots = {a.path for a in MlflowClient().list_artifacts(run_id, "plots")}
    assert plots == {"plots/roc.png", "plots/calibration.png", "plots/confusion.png"}
    profile = mlflow.artifacts.load_dict(f"runs:/{run_id}/reference_profile.json")
    assert set(profile) == {"n_rows", "numeric", "categorical", "score"}


def test_logged_model_pins_its_requirements(
    story: dict[str, Registration], params: PipelineParams
) -> None:
    uri = f"models:/{params.registry.model_name}/{story['first'].version}"
    requirements = Path(mlflow.artifacts.download_artifacts(f"{uri}/requirements.txt"))
    pinned = requirements.read_text().split()
    assert any(line.startswith("scikit-learn==") for line in pinned)
    assert all("==" in line for line in pinned if not line.startswith("mlflow"))


def test_rollback_restores_previous_champion(
    story: dict[str, Registration], params: PipelineParams, capsys: pytest.CaptureFixture[str]
) -> None:
    reg = registry(params)
    assert story["second"].champion == story["second"].version == "3"
    assert reg.version_for(PREVIOUS_CHAMPION) == "1"
    event = reg.rollback("canary guardrail: p95 latency breach")
    assert (event.version, event.replaced) == ("1", "3")
    assert reg.version_for(CHAMPION) == "1"
    champion = mlflow.sklearn.load_model(f"models:/{reg.name}@{CHAMPION}")
    assert champion is not None
    actions = [(e.action, e.version) for e in reg.history()]
    assert actions == [
        ("promote", "1"),
        ("demote", "1"),
        ("promote", "3"),
        ("rolled_back", "3"),
        ("rollback", "1"),
    ]
    assert main(["history"]) == 0
    printed = capsys.readouterr().out
    assert "canary guardrail: p95 latency breach" in printed  # the rollback's reason
    assert "passed all" in printed  # the promotion's reason
    assert "champion=v1" in printed


def test_rejected_batch_is_quarantined_and_nothing_trains(
    story: dict[str, Registration], module_state: Settings, params: PipelineParams
) -> None:
    splits = load_telco(module_state)
    bad = splits.train.copy()
    bad["tenure"] = bad["tenure"].astype(float)
    bad.loc[bad.index[:100], "tenure"] = np.nan
    versions_before = len(
        MlflowClient().search_model_versions(f"name='{params.registry.model_name}'")
    )
    with pytest.raises(DataRejected, match=r"tenure: null values in 100 row\(s\)"):
        run_pipeline(params, workdir(module_state, "bad"), module_state, (bad, splits.test))
    folders = list(module_state.quarantine_dir.iterdir())
    assert len(folders) == 1
    report = json.loads((folders[0] / "report.json").read_text())
    assert report["issues"][0]["column"] == "tenure"
    assert len(pd.read_parquet(folders[0] / "batch.parquet")) == len(bad)  # nothing lost
    assert not (workdir(module_state, "bad").train / "model.joblib").exists()
    versions_after = len(
        MlflowClient().search_model_versions(f"name='{params.registry.model_name}'")
    )
    assert versions_after == versions_before


def test_run_reproduces_from_its_id(story: dict[str, Registration]) -> None:
    run_id = story["first"].run_id
    result = reproduce_run(run_id, allow_dirty=True)
    assert result.identical, result.render()
    _, dirty = git_state()
    if dirty:  # a developer's tree: refused by default, naming why
        with pytest.raises(ReproduceError, match="uncommitted changes"):
            reproduce_run(run_id)
    else:  # CI's fresh clone: reproduces as is
        assert reproduce_run(run_id).identical


def test_reproduce_names_a_data_mismatch(story: dict[str, Registration]) -> None:
    run_id = story["crippled"].run_id  # trained on shuffled labels, not what params describe
    with pytest.raises(ReproduceError, match="data-hash mismatch on train"):
        reproduce_run(run_id, allow_dirty=True)
