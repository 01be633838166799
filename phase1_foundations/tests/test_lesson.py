"""Every command the phase-1 lesson shows is exercised by a test."""

from __future__ import annotations

import subprocess
import sys

from phase1_foundations.settings import PROJECT_ROOT
from phase1_foundations.tests.lesson import assert_make_runs, missing_coverage

T = "phase1_foundations.tests."
COVERED_BY = {
    "make phase1": T + "test_repro::test_repro_command_prints_fingerprint_and_two_equal_hashes",
    "make check-phase1": T + "test_exercise::test_training_is_deterministic",
    "python -m phase1_foundations validate data/raw/telco/test.csv --label":
        T + "test_lesson::test_validate_example_names_the_columns",
    "make image": T + "test_container::test_container_reproduces_the_host",
    "make phase1-container": T + "test_container::test_container_reproduces_the_host",
    "make bench-world": T + "test_bench_world::test_main_prints_seconds_and_memory",
}  # fmt: skip


def test_lesson_commands_are_covered() -> None:
    assert missing_coverage(PROJECT_ROOT / "phase1_foundations" / "README.md", COVERED_BY) == []


def test_validate_example_names_the_columns() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "phase1_foundations", "validate", "data/raw/telco/test.csv",
         "--label"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1  # the lesson says it fails on purpose
    assert "totalcharges: wrong type" in done.stdout
    assert "churn: out of range" in done.stdout


def test_make_targets_run_the_tested_commands() -> None:
    recipes = {
        "phase1": "-m phase1_foundations repro",
        "phase1-container": "-m phase1_foundations repro-container",
        "check-phase1": "phase1_foundations/tests/test_exercise.py",
        "bench-world": "-m bench.bench_world",
    }
    assert_make_runs(recipes)
