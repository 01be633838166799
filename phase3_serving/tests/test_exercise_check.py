"""`make check-phase3` fails on the exercise's broken states and passes on the fixed one.

The exercise breaks the guardrails two ways, in a copy of params.yaml the check is pointed at
(``MLOPS_SERVING_PARAMS_FILE``): a score-skew limit so loose that a serving package reading
tenure in years gets through, and a latency limit so tight that healthy challengers are rolled
back. Each failure must say what to change. A tight skew limit passes: a healthy challenger
scores live exactly as it did offline, so there is no noise for that limit to be inside.
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
SKEW_LIMIT = "serving.guardrails.max_score_shift"
LATENCY_LIMIT = "serving.guardrails.max_p95_ms"


def with_limit(directory: Path, name: str, old: str, new: str) -> Path:
    """The lesson's sed: params.yaml with another limit ``name``."""
    edit = f"s/{name}: {old}/{name}: {new}/"
    done = subprocess.run(
        ["sed", edit, str(PARAMS_FILE)], capture_output=True, text=True, check=True
    )
    assert f"{name}: {new} " in done.stdout  # the lesson's edit still applies
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
    done = check_phase3(with_limit(tmp_path, "max_score_shift", "0.25", "10"))
    assert done.returncode != 0
    assert "serving skew (tenure read in years) kept serving in 20 of 20 canaries" in done.stdout
    assert "score_skew_psi" in done.stdout  # its evidence at the last look
    assert f"lower {SKEW_LIMIT} (now 10" in done.stdout
    assert "Traceback" not in done.stdout


def test_a_limit_inside_the_noise_fails_and_says_what_to_change(tmp_path: Path) -> None:
    done = check_phase3(with_limit(tmp_path, "max_p95_ms", "250.0", "5.0"))
    assert done.returncode != 0
    assert "healthy challengers" in done.stdout
    assert f"Raise {LATENCY_LIMIT} (now 5" in done.stdout
    assert "p95_latency_ms fired" in done.stdout


def test_a_tight_skew_limit_passes_there_is_no_noise_to_be_inside(tmp_path: Path) -> None:
    done = check_phase3(with_limit(tmp_path, "max_score_shift", "0.25", "0.01"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check-phase3: PASS" in done.stdout
    assert "max_score_shift=0.01" in done.stdout  # it really read the tight limit
