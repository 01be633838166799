"""Phase 2's commands are quiet by default: MLflow's store set-up lines go to the state dir's
log file; ``MLOPS_LOG=debug`` or ``-v`` brings them back to the terminal. Real MLflow, a fresh
store each time. A new store is a copy of a migrated empty one, made once per temporary
directory; each test gives the command a temporary directory of its own, so MLflow migrates that
empty store and announces it at INFO."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from phase1_foundations.settings import PROJECT_ROOT

ANNOUNCEMENT = "Creating initial MLflow database tables"


def history(state: Path, *flags: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "MLFLOW_"))}
    fresh_tmp = state.parent / f"{state.name}-tmp"
    fresh_tmp.mkdir()
    clean["TMPDIR"] = str(fresh_tmp)  # no empty store made yet: MLflow migrates one and says so
    return subprocess.run(
        [sys.executable, "-m", "phase2_pipelines", *flags, "history"],
        cwd=PROJECT_ROOT,
        env={**clean, "MLOPS_STATE_DIR": str(state), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_mlflow_lines_go_to_the_log_file(tmp_path: Path) -> None:
    done = history(tmp_path)
    assert done.stdout == "no promotions recorded for churn-model\n"
    assert done.stderr == ""
    assert ANNOUNCEMENT in (tmp_path / "logs" / "phase2.log").read_text()


@pytest.mark.parametrize(("flags", "env"), [((), {"MLOPS_LOG": "debug"}), (("-v",), {})])
def test_verbose_shows_them(tmp_path: Path, flags: tuple[str, ...], env: dict[str, str]) -> None:
    done = history(tmp_path, *flags, **env)
    assert ANNOUNCEMENT in done.stderr
    assert not (tmp_path / "logs").exists()


def test_mlflow_bare_prints_go_to_the_log_file_too(tmp_path: Path) -> None:
    """MLflow prints "Created version '1' of model ..." with ``eprint``, not through a logger."""
    script = (
        "from phase1_foundations.logs import configure_logging\n"
        "configure_logging('unit')\n"
        "from mlflow.utils.logging_utils import eprint\n"
        "eprint(\"Created version '7' of model 'churn-model'.\")\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "MLFLOW_"))}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env={**clean, "MLOPS_STATE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stderr == ""
    assert "Created version '7'" in (tmp_path / "logs" / "unit.log").read_text()
