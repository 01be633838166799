"""Real DVC: `dvc repro` runs the six stages, a repeat is a no-op, a param re-runs only its stages.

The project's pipeline files, code and raw data are copied into a temporary project, so the run
has its own DVC state, its own var/ and its own MLflow store.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from phase1_foundations.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

COPIED = ("dvc.yaml", "params.yaml", "phase1_foundations", "phase2_pipelines", "data/raw")


def _copy_project(target: Path) -> None:
    ignore = shutil.ignore_patterns("tests", "__pycache__", "docker", "*.md")
    for name in COPIED:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
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
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"dvc {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _ran(output: str) -> list[str]:
    return re.findall(r"Running stage '(\w+)'", output)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dvc-project")
    _copy_project(root)
    _dvc(root, "init", "--no-scm", "--quiet")
    return root


def test_pipeline_is_a_dag_of_six_stages(project: Path) -> None:
    dag = _dvc(project, "dag", "--md")
    for stage in ("ingest", "validate", "train", "evaluate", "gate", "register"):
        assert stage in dag


def test_repro_runs_every_stage_then_is_a_no_op(project: Path) -> None:
    first = _dvc(project, "repro")
    assert _ran(first) == ["ingest", "validate", "train", "evaluate", "gate", "register"]
    assert "Gate decision: PROMOTE" in first
    registered = json.loads((project / "var/pipeline/register/registered.json").read_text())
    assert registered["champion"] == registered["version"] == "1"
    second = _dvc(project, "repro")
    assert _ran(second) == []  # same data and params: nothing re-runs
    assert "Data and pipelines are up to date" in second


def test_changed_param_reruns_only_the_stages_it_affects(project: Path) -> None:
    params_file = project / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["evaluate"]["threshold"] = 0.4
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    output = _dvc(project, "repro")
    assert _ran(output) == ["evaluate", "gate", "register"]  # not ingest, validate or train
    metrics = json.loads((project / "var/pipeline/evaluate/metrics.json").read_text())
    assert metrics["threshold"] == 0.4
