"""Every command the phase-1 lesson shows runs, as written, in a fresh clone."""

from __future__ import annotations

import csv
import os
import subprocess

import pytest

from phase1_foundations.settings import PROJECT_ROOT
from testing.clone import Clone, make_clone
from testing.readme import missing_coverage

T = "phase1_foundations.tests."
COVERED_BY = {
    "make setup": T + "test_exercise_fails::test_step3_environment_drift_is_caught",
    "source .venv/bin/activate": (
        "tests.test_lesson_commands::test_the_cheap_commands_run_as_written"
    ),
    "make phase1": T + "test_lesson::test_make_phase1_prints_two_equal_hashes",
    "make check-phase1": T + "test_exercise_fails::test_the_check_passes_on_a_fresh_clone",
    "python -m phase1_foundations validate data/raw/telco/test.csv --label": T
    + "test_lesson::test_validate_example_names_the_columns",
    "make image": T + "test_container::test_make_phase1_container_reproduces_the_host",
    "make phase1-container": T + "test_container::test_make_phase1_container_reproduces_the_host",
    "make bench-world": T + "test_lesson::test_make_bench_world_prints_seconds_and_memory",
}
README = PROJECT_ROOT / "phase1_foundations" / "README.md"


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Clone:
    return make_clone(tmp_path_factory.mktemp("phase1-lesson"))


def test_lesson_commands_are_covered() -> None:
    assert missing_coverage(README, COVERED_BY) == []


@pytest.mark.slow
def test_make_phase1_prints_two_equal_hashes(clone: Clone) -> None:
    done = clone.make("phase1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Environment fingerprint" in done.stdout
    assert "=> IDENTICAL" in done.stdout


@pytest.mark.slow
def test_validate_example_names_the_columns(clone: Clone) -> None:
    done = clone.sh("python -m phase1_foundations validate data/raw/telco/test.csv --label")
    assert done.returncode == 1  # the lesson says it fails on purpose
    with (clone.root / "data" / "raw" / "telco" / "test.csv").open(newline="") as file:
        blanks = sum(not row["totalcharges"].strip() for row in csv.DictReader(file))
    assert blanks > 0
    assert f"totalcharges: null values in {blanks} row(s)" in done.stdout
    assert "1 contract violation(s)" in done.stdout  # churn's Yes and No are read as the label


@pytest.mark.slow
def test_make_bench_world_prints_seconds_and_memory(clone: Clone) -> None:
    done = clone.make("bench-world")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rows generated:            1,000,000" in done.stdout
    assert "one week:" in done.stdout
    assert "MB (ru_maxrss)" in done.stdout


def test_container_targets_stop_at_once_without_a_docker_daemon() -> None:
    """No daemon: one line that says so, before debootstrap, wheels or the data are touched."""
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    for target in ("phase1-container", "image", "base-image"):
        done = subprocess.run(
            ["make", "--no-print-directory", target],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode != 0
        assert done.stdout.splitlines() == [
            "No Docker daemon answers `docker info`: start Docker (e.g. `sudo systemctl start "
            f"docker`), then run `make {target}` again."
        ]  # nothing ran before the check: no setup, fetch, debootstrap or build output


def test_build_script_checks_the_daemon_first() -> None:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    script = PROJECT_ROOT / "phase1_foundations" / "docker" / "build-image.sh"
    done = subprocess.run(
        ["bash", str(script)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert (
        done.stderr.strip()
        == "build-image: no Docker daemon answers `docker info`; start Docker first"
    )
    assert done.stdout == ""  # no base image, wheels or project build was started


@pytest.mark.slow
def test_clone_is_a_separate_project(clone: Clone) -> None:
    assert (clone.root / ".venv").resolve() != (PROJECT_ROOT / ".venv").resolve()
    done = clone.sh(
        "python -c 'import phase1_foundations, sys; print(phase1_foundations.__file__)'"
    )
    assert done.stdout.strip().startswith(str(clone.root))  # the clone runs its own code
