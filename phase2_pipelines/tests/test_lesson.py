"""Every command the phase-2 lesson shows is exercised by a test; `make mlflow-ui` serves."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from phase1_foundations.ports import free_port
from phase1_foundations.settings import PROJECT_ROOT
from testing.readme import assert_make_runs, missing_coverage

T = "phase2_pipelines.tests."
CLI = ".venv/bin/python -m phase2_pipelines"
SHUFFLE = T + "test_model_report::test_label_shuffle_bug_is_rejected_and_fails_until_reverted"
COVERED_BY = {
    "make phase2": T + "test_dvc::test_repro_runs_every_stage_and_promotes_the_first_model",
    ".venv/bin/dvc dag": T + "test_dvc::test_pipeline_is_a_dag_of_six_stages",
    "make history": T + "test_pipeline::test_rollback_restores_previous_champion",
    "make experiments": T
    + "test_experiments::test_experiments_command_prints_the_choice_and_its_test_figures",
    "make reproduce RUN_ID=<run id>": T + "test_pipeline::test_run_reproduces_from_its_id",
    'make rollback REASON="why"': T + "test_pipeline::test_rollback_restores_previous_champion",
    "make mlflow-ui": T + "test_lesson::test_mlflow_ui_serves_the_store",
    ".venv/bin/python -m bench.bench_gate": T + "test_lesson::test_gate_benchmark_runs",
    ".venv/bin/python -m bench.bench_gate --superiority-margin 0": T
    + "test_lesson::test_gate_benchmark_runs",
    f'{CLI} stage-challenger 2 --reason "shadow the new model"': T
    + "test_pipeline::test_challenger_is_staged_and_retired_from_the_command_line",
    f'{CLI} retire-challenger --reason "shadow showed no gain"': T
    + "test_pipeline::test_challenger_is_staged_and_retired_from_the_command_line",
    f'{CLI} promote 2 --reason "why the gate is wrong here" --force': T
    + "test_pipeline::test_manual_promotion_needs_force_and_is_recorded_as_an_override",
    "make check-phase2": T
    + "test_exercise::test_the_command_fails_with_advice_then_passes_when_fixed",
    "git switch -c break-the-model": SHUFFLE,
    'git commit -am "Refactor: read the training labels once"': SHUFFLE,
    "make model-report BASE=main": SHUFFLE,
    "git revert --no-edit HEAD": SHUFFLE,
}


def test_lesson_commands_are_covered() -> None:
    assert missing_coverage(PROJECT_ROOT / "phase2_pipelines" / "README.md", COVERED_BY) == []


def test_make_targets_run_the_tested_commands() -> None:
    recipes = {
        "phase2": "dvc repro 2>&1 | sed -e '/To track the changes with git, run:/",
        "history": "-m phase2_pipelines history",
        "experiments": "-m phase2_pipelines experiments",
        "reproduce RUN_ID=abc": "-m phase2_pipelines reproduce abc",
        "rollback REASON=why": "-m phase2_pipelines rollback --reason",
        "check-phase2": "-m phase2_pipelines.lesson selfcheck",
        "model-report BASE=main": '-m phase2_pipelines model-report --base "main"',
        "actionlint": "/bin/actionlint -no-color .github/workflows/*.yml",
    }
    assert_make_runs(recipes)


def test_gate_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The benchmark's own entry point, with few trials (the lesson's figures use the defaults)."""
    from bench.bench_gate import main

    assert main(["--equal-trials", "2", "--power-trials", "2", "--fractions", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "false superiority (promoted):  " in out
    assert "power (promoted):" in out
    assert "gate decision time over 4 decisions: p50 " in out
    assert main(["--superiority-margin", "0", "--equal-trials", "2", "--fractions"]) == 0
    assert "superiority_margin 0.0," in capsys.readouterr().out


@pytest.mark.slow
def test_mlflow_ui_serves_the_store(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "MLOPS_STATE_DIR": str(tmp_path)}
    env.pop("MLFLOW_TRACKING_URI", None)
    server = subprocess.Popen(
        ["make", "mlflow-ui", f"MLFLOW_PORT={port}"], cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    status = r.status
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert status == 200, "mlflow ui did not answer on 127.0.0.1"
        assert (tmp_path / "mlflow.db").is_file()  # it serves the project's store, not ./mlruns
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
