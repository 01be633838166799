"""`make check-phase3` fails on the exercise's broken states and passes on the fixed one.

The exercise breaks the guardrails two ways, in a copy of params.yaml the check is pointed at
(``MLOPS_SERVING_PARAMS_FILE``): a score-shift limit so loose that a model trained on noise gets
through, and one so tight that healthy challengers are rolled back. Each failure must say what
to change.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from phase1_foundations.settings import PROJECT_ROOT
from phase2_pipelines.params import PARAMS_FILE

pytestmark = pytest.mark.slow
PARAMS_ENV = "MLOPS_SERVING_PARAMS_FILE"
LIMIT = "serving.guardrails.max_score_shift"


def with_score_shift(directory: Path, limit: str) -> Path:
    """The lesson's sed: params.yaml with another score-shift limit."""
    edit = f"s/max_score_shift: 0.25/max_score_shift: {limit}/"
    done = subprocess.run(
        ["sed", edit, str(PARAMS_FILE)], capture_output=True, text=True, check=True
    )
    assert f"max_score_shift: {limit} " in done.stdout  # the lesson's edit still applies
    path = directory / "params.yaml"
    path.write_text(done.stdout)
    return path


def check_phase3(params: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != PARAMS_ENV}
    return subprocess.run(
        ["make", "check-phase3"],
        cwd=PROJECT_ROOT,
        env=clean if params is None else {**clean, PARAMS_ENV: str(params)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_fixed_state_passes() -> None:
    done = check_phase3()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check-phase3: PASS" in done.stdout


def test_a_loose_limit_fails_and_says_what_to_change(tmp_path: Path) -> None:
    done = check_phase3(with_score_shift(tmp_path, "10"))
    assert done.returncode != 0
    assert "shuffled labels kept serving in 20 of 20 canaries" in done.stdout
    assert f"lower {LIMIT} (now 10" in done.stdout
    assert "Traceback" not in done.stdout


def test_a_limit_inside_the_noise_fails_and_says_what_to_change(tmp_path: Path) -> None:
    done = check_phase3(with_score_shift(tmp_path, "0.01"))
    assert done.returncode != 0
    assert "healthy challengers" in done.stdout
    assert f"Raise {LIMIT}" in done.stdout
    assert "score_shift_psi fired" in done.stdout
