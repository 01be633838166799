"""`make check-phase3` fails on the exercise's broken states and passes on the fixed one.

The exercise breaks the guardrails two ways, through the environment: a score-shift limit so
loose that a model trained on noise gets through, and one so tight that healthy challengers are
rolled back. Each failure must say what to change.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from phase1_foundations.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow
SHIFT = "MLOPS_SERVING_GUARDRAIL_MAX_SCORE_SHIFT"


def check_phase3(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_SERVING_GUARDRAIL")}
    return subprocess.run(
        ["make", "check-phase3"],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_fixed_state_passes() -> None:
    done = check_phase3()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check-phase3: PASS" in done.stdout


def test_a_loose_limit_fails_and_says_what_to_change() -> None:
    done = check_phase3(**{SHIFT: "10"})
    assert done.returncode != 0
    assert "shuffled labels kept serving in 20 of 20 canaries" in done.stdout
    assert f"lower {SHIFT} (now 10" in done.stdout
    assert "Traceback" not in done.stdout


def test_a_limit_inside_the_noise_fails_and_says_what_to_change() -> None:
    done = check_phase3(**{SHIFT: "0.01"})
    assert done.returncode != 0
    assert "healthy challengers" in done.stdout
    assert f"Raise {SHIFT}" in done.stdout
    assert "score_shift_psi fired" in done.stdout
