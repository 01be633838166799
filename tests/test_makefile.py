"""`make` documents itself: its help lists every target with real values, not `$(NAME)`."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from phase1_foundations.settings import PROJECT_ROOT


def help_text(*overrides: str) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", "help", *overrides],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)


def test_help_shows_values_not_variable_names() -> None:
    shown = help_text()
    assert "$(" not in shown
    assert "serve the champion on http://127.0.0.1:8000" in shown  # PORT ?= 8000
    assert "Streamlit on http://127.0.0.1:8501" in shown  # SIMULATOR_PORT ?= 8501
    assert "at http://127.0.0.1:3000" in shown  # DAGSTER_PORT ?= 3000


def test_help_shows_the_value_given_on_the_command_line() -> None:
    shown = help_text("PORT=9123", "SIMULATOR_PORT=9124")
    assert "serve the champion on http://127.0.0.1:9123" in shown
    assert "Streamlit on http://127.0.0.1:9124" in shown


TELEMETRY_PROBE = "from mlflow.telemetry.utils import is_telemetry_disabled as off; print(off())"


def test_processes_make_starts_send_mlflow_no_telemetry() -> None:
    """A learner's machine: no CI variable, no pytest variable (MLflow's own reasons to stay
    quiet), nothing set by hand. The same probe outside make says MLflow would send it."""
    learner = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    under_make = subprocess.run(
        ["make", "--no-print-directory", "-s",
         f"--eval=telemetry-probe: ; @$(PY) -c '{TELEMETRY_PROBE}'", "telemetry-probe"],
        cwd=PROJECT_ROOT, env=learner, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert under_make.stdout.split() == ["True"], under_make.stdout + under_make.stderr
    alone = subprocess.run(
        [sys.executable, "-c", TELEMETRY_PROBE],
        cwd=PROJECT_ROOT, env=learner, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert alone.stdout.split() == ["False"], alone.stdout + alone.stderr  # the probe can fail
