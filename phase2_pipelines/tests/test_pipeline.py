"""The whole pipeline on the real Telco data with a real MLflow store (sqlite in a temp dir).

One module-scoped registry lives through a story: a pilot champion trained on a tenth of the
rows, a crippled challenger that the gate rejects, a model on all the rows that beats the pilot
by more than the noise, and re-runs that register nothing new. Each test then starts from the
store as the story left it, whatever ran before it: a rollback, a manual override, a quarantined
batch, a reproduction. Five real pipelines: slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.repro import git_state
from phase1_foundations.settings import PROJECT_ROOT, Settings
from phase1_foundations.telco import load_telco
from phase2_pipelines.__main__ import main
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.pipeline import (
    DataRejected,
    Registration,
    evaluate,
    gate,
    ingest,
    register,
    run_pipeline,
    train,
    validate,
)
from phase2_pipelines.registry import (
    CHALLENGER,
    CHAMPION,
    CHECKSUM_TAG,
    IDENTITY_TAG,
    PREVIOUS_CHAMPION,
    Registry,
)
from phase2_pipelines.reproduce import ReproduceError, reproduce_run
from testing.store import copy_store, store_file, workdir

pytestmark = pytest.mark.slow

PILOT_FRACTION = 0.1


@pytest.fixture(scope="module")
def told(module_state: Settings, params: PipelineParams) -> tuple[dict[str, Registration], Path]:
    """The story's registrations, and a copy of the store as the story left it."""
    splits = load_telco(module_state)
    pilot = splits.train.sample(frac=PILOT_FRACTION, random_state=0)
    first = run_pipeline(params, workdir(module_state, "first"), module_state, (pilot, splits.test))
    shuffled = splits.train.copy()
    shuffled[LABEL_COLUMN] = np.random.default_rng(0).permutation(shuffled[LABEL_COLUMN])
    crippled_window = (shuffled, splits.test)
    crippled = run_pipeline(
        params, workdir(module_state, "crippled"), module_state, crippled_window
    )
    crippled_again = run_pipeline(
        params, workdir(module_state, "crippled-again"), module_state, crippled_window
    )
    second = run_pipeline(params, workdir(module_state, "second"), module_state)
    unchanged = run_pipeline(params, workdir(module_state, "unchanged"), module_state)
    registrations = {
        "first": first,
        "crippled": crippled,
        "crippled_again": crippled_again,
        "second": second,
        "unchanged": unchanged,
    }
    told = module_state.state_dir.parent / "told.db"
    copy_store(store_file(module_state), told)
    return registrations, told


@pytest.fixture
def story(
    told: tuple[dict[str, Registration], Path], module_state: Settings
) -> dict[str, Registration]:
    """The story's registrations, with the store put back as the story left it: what another
    test moved (champion, challenger, tags) is undone, so each test passes alone or in any order.
    The artifacts and work directories later tests add are their own (a name per test)."""
    registrations, told_store = told
    copy_store(told_store, store_file(module_state))
    return registrations


ROLLBACK_REASON = "canary guardrail: p95 latency breach"


@pytest.fixture
def rolled_back(story: dict[str, Registration], params: PipelineParams) -> dict[str, Registration]:
    """The story, then v3 rolled back to v1 (as ``test_rollback_restores_previous_champion``
    does from the command line)."""
    registry(params).rollback(ROLLBACK_REASON)
    return story


def registry(params: PipelineParams) -> Registry:
    return Registry(params.registry.model_name)


def count_versions(params: PipelineParams) -> int:
    return len(MlflowClient().search_model_versions(f"name='{params.registry.model_name}'"))


def test_first_model_becomes_champion_on_floors(story: dict[str, Registration]) -> None:
    first = story["first"]
    assert first.decision.promote
    assert first.decision.champion_version is None  # nothing to beat: floors only
    assert first.champion == first.version == "1"


def test_crippled_challenger_is_rejected_with_reasons(
    story: dict[str, Registration], params: PipelineParams
) -> None:
    crippled = story["crippled"]
    assert not crippled.decision.promote
    failed = {check.check for check in crippled.decision.failures}
    assert "floor roc_auc" in failed
    assert "beats champion on roc_auc" in failed
    assert crippled.champion == "1"  # the champion did not move
    tags = MlflowClient().get_model_version(params.registry.model_name, crippled.version).tags
    assert tags["gate.promote"] == "False"
    assert "floor roc_auc" in tags["gate"]


def test_better_model_is_promoted_on_its_interval(
    story: dict[str, Registration], params: PipelineParams
) -> None:
    second = story["second"]
    assert second.decision.promote, second.decision.render()
    evidence = second.decision.comparison
    assert evidence is not None
    assert evidence.low > params.gate.superiority_margin  # the lower bound, not the point
    assert evidence.counts.n == 2113  # the candidate's holdout rows, champion scored on them
    assert second.decision.champion_version == "1"
    assert second.champion == second.version == "3"
    run = MlflowClient().get_run(second.run_id)
    assert run.data.metrics["gate.delta_roc_auc_low"] == pytest.approx(evidence.low)
    assert run.data.metrics["roc_auc"] >= 0.86  # on the real Telco test split
    # The model's page shows the run's metrics too: each once, for this model.
    (model,) = MlflowClient().search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{second.run_id}'",
    )
    on_model = {metric.key: metric.value for metric in model.metrics or []}
    assert on_model == run.data.metrics
    assert len(model.metrics or []) == len(on_model)
    logged = mlflow.artifacts.load_dict(f"runs:/{second.run_id}/gate.json")
    logged_check = logged["checks"][4]
    assert (logged_check["check"], logged_check["verdict"]) == ("beats champion on roc_auc", "ok")
    assert logged_check["evidence"][0]["interval"][0] == pytest.approx(evidence.low)


def test_status_prints_the_last_decision_with_its_evidence(
    story: dict[str, Registration],
    module_state: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = workdir(module_state, "second")
    assert main(["status", "--workdir", str(work.root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Gate decision: PROMOTE: passed all")
    assert "vs champion v1: dAUC +" in out
    assert "slices not gated:" in out
    assert "contract=Two year: not gated, 12 churners < min_slice_positives 50" in out
    assert "last run: registered as v3; promoted to champion" in out


def test_the_same_model_is_never_registered_twice(
    story: dict[str, Registration], params: PipelineParams
) -> None:
    unchanged = story["unchanged"]
    assert unchanged.decision.same_as_champion
    assert unchanged.decision.summary.startswith("NOTHING TO PROMOTE: candidate is champion v3")
    assert (unchanged.version, unchanged.registered) == ("3", False)
    again = story["crippled_again"]
    assert (again.version, again.registered) == ("2", False)
    assert again.note.startswith("same model as v2")
    assert count_versions(params) == 3
    tags = registry(params).tags("2")
    assert len(tags[IDENTITY_TAG]) == 64


def test_a_registration_cut_short_is_completed_not_repeated(
    story: dict[str, Registration], params: PipelineParams, module_state: Settings
) -> None:
    """A process killed between creating the version and recording its checksum: the version
    already carries its identity (written in the same transaction), so a rerun finds it and
    records the checksum the service verifies, instead of registering a second copy."""
    client = MlflowClient()
    name = params.registry.model_name
    checksum = client.get_model_version(name, "2").tags[CHECKSUM_TAG]
    client.delete_model_version_tag(name, "2", CHECKSUM_TAG)  # where the kill left it
    again = register(params, workdir(module_state, "crippled"), module_state)
    assert (again.version, again.registered) == ("2", False)
    assert client.get_model_version(name, "2").tags[CHECKSUM_TAG] == checksum
    assert count_versions(params) == 3


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
    assert profile["score"]["source"] == "out-of-fold scores of the training rows"


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
    # As `make rollback REASON=...` runs it.
    assert main(["rollback", "--reason", ROLLBACK_REASON]) == 0
    assert "rolled back: champion is v1 again (was v3)" in capsys.readouterr().out
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
    assert ROLLBACK_REASON in printed  # the rollback's reason
    assert "passed all" in printed  # the promotion's reason
    assert "champion=v1" in printed


def test_the_pipeline_does_not_promote_a_rolled_back_model_again(
    rolled_back: dict[str, Registration], module_state: Settings, params: PipelineParams
) -> None:
    again = run_pipeline(params, workdir(module_state, "after-rollback"), module_state)
    assert again.decision.promote  # v3's model still beats v1 on the holdout ...
    assert again.version == "3"
    assert not again.registered
    assert "not promoted: v3 was rolled back" in again.note  # ... but a human rolled it back
    assert registry(params).version_for(CHAMPION) == "1"


def test_manual_promotion_needs_force_and_is_recorded_as_an_override(
    rolled_back: dict[str, Registration],
    params: PipelineParams,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reg = registry(params)
    assert main(["promote", "3", "--reason", "fixed the latency"]) == 2
    refused = capsys.readouterr().err
    assert "bypasses the gate" in refused
    assert "--force" in refused
    assert reg.version_for(CHAMPION) == "1"  # nothing moved
    assert main(["promote", "3", "--reason", "latency fixed in v3's host", "--force"]) == 0
    assert "override: champion is v3 (was v1), gate bypassed" in capsys.readouterr().out
    assert reg.version_for(CHAMPION) == "3"
    last = reg.history()[-1]
    assert (last.action, last.version, last.reason) == (
        "override",
        "3",
        "latency fixed in v3's host",
    )
    assert main(["history"]) == 0
    assert "override    champion=v3 (was v1)  latency fixed in v3's host" in (
        capsys.readouterr().out
    )


def test_challenger_is_staged_and_retired_from_the_command_line(
    story: dict[str, Registration], params: PipelineParams, capsys: pytest.CaptureFixture[str]
) -> None:
    reg = registry(params)
    assert main(["stage-challenger", "2", "--reason", "shadow the crippled model"]) == 0
    assert "challenger is v2; champion is v3" in capsys.readouterr().out
    assert reg.version_for(CHALLENGER) == "2"
    assert main(["stage-challenger", "99", "--reason", "typo"]) == 1
    assert "has no version 99" in capsys.readouterr().err
    assert main(["retire-challenger", "--reason", "shadow showed noise"]) == 0
    assert "retired challenger v2" in capsys.readouterr().out
    assert reg.version_for(CHALLENGER) is None
    assert [e.action for e in reg.history()][-2:] == ["challenge", "retired"]


def test_register_does_not_act_on_a_decision_about_an_older_champion(
    story: dict[str, Registration], module_state: Settings, params: PipelineParams
) -> None:
    reg = registry(params)
    reg.promote("1", "test: the pilot serves again", override=True)
    work = workdir(module_state, "stale-decision")
    ingest(params, work, module_state)
    validate(work, module_state)
    train(params, work)
    evaluate(params, work)
    decision = gate(params, work, module_state)
    assert decision.promote  # against v1, the full model is better ...
    reg.promote("2", "test: someone moved the champion meanwhile", override=True)
    registration = register(params, work, module_state)
    assert "not promoted: the gate judged against champion v1, but the champion is now v2" in (
        registration.note
    )
    assert reg.version_for(CHAMPION) == "2"  # ... but the decision was about v1


def test_registry_works_in_a_plain_python_session(
    story: dict[str, Registration], module_state: Settings, tmp_path: Path
) -> None:
    """A fresh interpreter, started elsewhere, finds the project's store and leaves no mlflow.db."""
    code = (
        "from phase2_pipelines.registry import Registry\n"
        "event = Registry('churn-model').stage_challenger('2', 'from a plain session')\n"
        "print(event.version)\n"
    )
    env = {**os.environ, "MLOPS_STATE_DIR": str(module_state.state_dir)}
    env.pop("MLFLOW_TRACKING_URI", None)
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    stray_before = (PROJECT_ROOT / "mlflow.db").exists()
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
    assert Registry("churn-model").version_for(CHALLENGER) == "2"  # the same store
    assert not (tmp_path / "mlflow.db").exists()
    assert (PROJECT_ROOT / "mlflow.db").exists() == stray_before


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
    run_id = story["second"].run_id  # trained on the window params.yaml describes
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
