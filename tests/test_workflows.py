"""The GitHub workflows: actionlint passes on each (and fails on a broken one), and the model
workflow judges the model on exactly the pull requests that can change it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from phase1_foundations.settings import PROJECT_ROOT
from phase2_pipelines.model_report import OVERRIDE_LABEL, TRAINING_INPUTS

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
ACTIONLINT = PROJECT_ROOT / ".venv" / "bin" / "actionlint"


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", *map(str, files)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_workflow_passes_actionlint() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"ci.yml", "model.yml"}
    done = actionlint(*files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_fails_on_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.no_such_field.name }}\n"
        "        if: ${{ steps.missing.outputs.value }}\n"
        "        continue-on-error: maybe\n"
    )
    done = actionlint(broken)
    assert done.returncode != 0
    assert "broken.yml" in done.stdout


def test_make_check_runs_actionlint_on_every_workflow() -> None:
    dry = subprocess.run(
        ["make", "-n", "check"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert "/bin/actionlint -no-color .github/workflows/*.yml" in dry.stdout


def _model_workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / "model.yml").read_text())
    return loaded


def test_model_workflow_runs_on_pull_requests_that_touch_training_inputs() -> None:
    workflow = _model_workflow()
    trigger = workflow[True]["pull_request"]  # YAML 1.1 reads the key `on` as True
    assert {"labeled", "unlabeled", "synchronize"} <= set(trigger["types"])  # a label re-runs it
    paths = trigger["paths"]
    for entry in TRAINING_INPUTS:
        wanted = f"{entry}**" if entry.endswith("/") else entry
        assert wanted in paths, f"{wanted} changes the model but does not trigger the workflow"


def test_model_workflow_reports_in_the_summary_and_fails_on_regression_unless_labelled() -> None:
    steps = _model_workflow()["jobs"]["report"]["steps"]
    report = next(s for s in steps if "make model-report" in s.get("run", ""))
    assert report["run"].strip() == "make model-report BASE=origin/main"
    assert OVERRIDE_LABEL in report["continue-on-error"]
    summary = next(s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert summary["if"] == "always()"  # the report shows when the check fails too
    assert "build/model-report.md" in summary["run"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # origin/main must be in the clone's history
    lesson = (PROJECT_ROOT / "phase2_pipelines" / "README.md").read_text()
    assert f"`{OVERRIDE_LABEL}`" in lesson
