"""Real DVC: stages re-run when their data, params or code change, and the registry stages always.

The project's pipeline files, code, lock and raw data are copied into a temporary project, so the
run has its own DVC state, its own var/ and its own MLflow store. The first `dvc repro` runs once
per module; each later test starts from the project as that run left it (whatever ran before it),
and changes it as a learner would.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from phase1_foundations.settings import PROJECT_ROOT
from phase2_pipelines.workdir import STAGES

pytestmark = pytest.mark.slow

COPIED = (
    "dvc.yaml",
    "params.yaml",
    "uv.lock",
    ".gitignore",
    # DVC's repository files, as a clone has them (no `dvc init`): analytics off, so no command
    # leaves a reporting process behind.
    ".dvc/config",
    ".dvc/.gitignore",
    ".dvcignore",
    "phase1_foundations",
    "phase2_pipelines",
)
COPIED_DATA = "data/raw"
MODEL = "churn-model"


def _copy_project(target: Path) -> None:
    ignore = shutil.ignore_patterns("tests", "__pycache__", "docker", "*.md")
    for name in (*COPIED, COPIED_DATA):
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _dvc(project: Path, *args: str) -> str:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MLOPS_STATE_DIR": str(project / "var"),
        "MLOPS_DATA_DIR": str(project / "data"),
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"dvc {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _ran(output: str) -> list[str]:
    return re.findall(r"Running stage '(\w+)'", output)


def _edit_params(project: Path, section: str, key: str, value: object) -> None:
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    node = params
    for part in section.split("."):
        node = node[part]
    node[key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _registry(project: Path) -> tuple[int, str | None]:
    """(number of registered versions, champion version) read straight from the store's sqlite
    file, in a connection of its own: no MLflow client, whose cached engines outlive a restore."""
    with contextlib.closing(sqlite3.connect(project / "var" / "mlflow.db")) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM model_versions WHERE name = ?", (MODEL,)
        ).fetchone()
        alias = db.execute(
            "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = 'champion'",
            (MODEL,),
        ).fetchone()
    return int(count), None if alias is None else str(alias[0])


def _gate(project: Path) -> dict[str, object]:
    decision: dict[str, object] = json.loads((project / "var/pipeline/gate/gate.json").read_text())
    return decision


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The copied project after `git init`, before any run."""
    root = tmp_path_factory.mktemp("dvc-project")
    _copy_project(root)
    # A git repository with the project's .gitignore and DVC files, as a learner's clone is.
    subprocess.run(["git", "init", "--quiet"], cwd=root, check=True)
    return root


@dataclass(frozen=True)
class FirstRepro:
    root: Path
    output: str  # what `dvc repro` printed
    saved: Path  # a copy of the project as the run left it


@pytest.fixture(scope="module")
def first_repro(initialised: Path, tmp_path_factory: pytest.TempPathFactory) -> FirstRepro:
    output = _dvc(initialised, "repro")
    saved = tmp_path_factory.mktemp("dvc-after-first-repro") / "project"
    shutil.copytree(initialised, saved, symlinks=True)
    return FirstRepro(initialised, output, saved)


@pytest.fixture
def project(first_repro: FirstRepro) -> Path:
    """The project put back as the first repro left it, in place (the MLflow store and DVC's
    state name its absolute path)."""
    shutil.rmtree(first_repro.root)
    shutil.copytree(first_repro.saved, first_repro.root, symlinks=True)
    return first_repro.root


def test_pipeline_is_a_dag_of_six_stages(initialised: Path) -> None:
    dag = _dvc(initialised, "dag", "--md")
    for stage in STAGES:
        assert stage in dag


def test_repro_runs_every_stage_and_promotes_the_first_model(first_repro: FirstRepro) -> None:
    assert _ran(first_repro.output) == list(STAGES)
    assert "Gate decision: PROMOTE: first model" in first_repro.output
    assert _registry(first_repro.root) == (1, "1")


def test_dvc_lock_stays_out_of_git_without_being_ignored(project: Path) -> None:
    """DVC refuses to read a git-ignored dvc.lock, so it is left untracked instead."""
    ignored = subprocess.run(["git", "check-ignore", "-q", "dvc.lock"], cwd=project, check=False)
    assert ignored.returncode == 1  # not ignored: DVC would fail with "is git-ignored"
    status = subprocess.run(
        ["git", "status", "--porcelain", "dvc.lock"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout.strip() == "?? dvc.lock"  # untracked: never staged behind your back


def test_unchanged_repro_reruns_only_the_registry_stages_and_registers_nothing(
    project: Path,
) -> None:
    again = _dvc(project, "repro")
    assert _ran(again) == ["gate", "register"]  # always_changed; the rest is up to date
    assert "NOTHING TO PROMOTE: candidate is champion v1" in again
    assert "beats champion" not in again  # the champion is never compared with itself
    assert _registry(project) == (1, "1")  # no duplicate version


def test_changed_param_reruns_only_the_stages_it_affects(project: Path) -> None:
    chosen = json.loads((project / "var/pipeline/evaluate/metrics.json").read_text())["threshold"]
    _edit_params(project, "evaluate", "contact_rule", "fixed")  # contact at evaluate.threshold
    _edit_params(project, "evaluate", "threshold", 0.4)
    output = _dvc(project, "repro")
    assert _ran(output) == ["evaluate", "gate", "register"]  # not ingest, validate or train
    metrics = json.loads((project / "var/pipeline/evaluate/metrics.json").read_text())
    assert metrics["threshold"] == 0.4
    assert chosen != 0.4  # break_even had chosen its own (the cost ratio, 10/90, calibrated)


@pytest.mark.parametrize(
    ("module", "first_stage"),
    [("phase2_pipelines/stages/train.py", "train"), ("phase2_pipelines/plots.py", "evaluate")],
)
def test_editing_a_stages_code_reruns_that_stage(
    project: Path, module: str, first_stage: str
) -> None:
    path = project / module
    original = path.read_text()
    path.write_text(original + "\n# an edit DVC must notice\n")
    ran = _ran(_dvc(project, "repro"))
    assert ran[0] == first_stage
    assert "ingest" not in ran
    assert "validate" not in ran
    assert ran[-2:] == ["gate", "register"]


def test_the_gate_decides_afresh_each_run_and_the_champion_follows(project: Path) -> None:
    # A floor above what the model reaches: the gate says so, nothing moves.
    _edit_params(project, "gate.floors", "roc_auc", 0.99)
    raised = _dvc(project, "repro")
    assert _ran(raised) == ["gate", "register"]
    assert "[FAIL] floor roc_auc" in raised
    assert _registry(project) == (1, "1")
    # The floor restored, and a different candidate: the floor is judged again (it passes now);
    # the candidate is registered once and judged against the champion.
    _edit_params(project, "gate.floors", "roc_auc", 0.80)
    _edit_params(project, "train.logreg", "C", 0.02)
    other = _dvc(project, "repro")
    assert _ran(other)[0] == "train"
    assert "[PASS] floor roc_auc" in other
    decision = _gate(project)
    assert decision["champion_version"] == "1"
    assert "vs champion v1: dAUC" in other
    expected_champion = "2" if decision["promote"] else "1"
    assert _registry(project) == (2, expected_champion)
    # Back to the first params: train and evaluate come from DVC's cache, the gate does not.
    _edit_params(project, "train.logreg", "C", 0.3)
    back = _dvc(project, "repro")
    assert "train" not in _ran(back)  # restored from the run cache
    assert _ran(back)[-2:] == ["gate", "register"]
    decision = _gate(project)
    assert decision["champion_version"] == expected_champion  # judged against today's champion
    count, champion = _registry(project)
    assert count == 2  # v1's model again: found by its identity, not registered a third time
    if expected_champion == "1":
        assert decision["same_as_champion"] is True
        assert champion == "1"
    else:
        assert champion == ("1" if decision["promote"] else "2")
