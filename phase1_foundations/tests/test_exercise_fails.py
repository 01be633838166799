"""The phase-1 exercise, followed as written in a fresh clone: each step breaks a promise,
`make check-phase1` fails and says what to do, the lesson's fix is run, and the check passes.

Everything happens in a copy of the project with its own `.venv`, data, DVC cache and git
repository, so breaking them leaves this checkout alone (the last test makes sure of it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from phase1_foundations.lesson.selfcheck import (
    DIGESTS,
    DVC_VERSION,
    INSTALLED,
    LOCKFILE,
    deterministic,
)
from phase1_foundations.settings import PROJECT_ROOT
from phase1_foundations.telco import CSV_SHA256, raw_dir, sha256_file
from testing.clone import Clone, clean_env, make_clone

LESSON = (PROJECT_ROOT / "phase1_foundations" / "README.md").read_text()
FAILED = re.compile(r"^\[FAIL\] ([^:\n]+)", re.MULTILINE)
HASHES = re.compile(r"^run [12] predictions sha256 ([0-9a-f]{64})$", re.MULTILINE)
UNPINNED = ('"pandas>=2.2,<3"', '"pandas>=2.2"')
BASELINE_MODEL = "LogisticRegression(max_iter=BASELINE_MAX_ITER, random_state=seed)"
FOREST_IMPORT = "from sklearn.ensemble import RandomForestClassifier\n"


def lesson_says(command: str) -> str:
    """A command the lesson shows, so the test runs what a learner reads."""
    assert f"`{command}`" in LESSON, f"the phase-1 lesson no longer shows `{command}`"
    return command


def failed_checks(done: subprocess.CompletedProcess[str]) -> set[str]:
    assert done.returncode != 0, f"the check passed on a broken state:\n{done.stdout}"
    return set(FAILED.findall(done.stdout))


def assert_check_passes(clone: Clone) -> None:
    done = clone.make("check-phase1")
    assert done.returncode == 0, (
        f"the check fails on the fixed state:\n{done.stdout}\n{done.stderr}"
    )


def run_ok(clone: Clone, command: str) -> str:
    done = clone.sh(command)
    assert done.returncode == 0, f"`{command}` failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def snapshot() -> dict[str, str]:
    """What the exercise breaks, as it is in this checkout."""
    files = ["pyproject.toml", "uv.lock", "phase1_foundations/repro.py"]
    state = {name: sha256_file(PROJECT_ROOT / name) for name in files}
    state |= {name: sha256_file(raw_dir() / name) for name in CSV_SHA256}
    state["scikit-learn"] = metadata.version("scikit-learn")
    return state


@pytest.fixture(scope="module")
def before() -> dict[str, str]:
    return snapshot()


@pytest.fixture(scope="module")
def clone(before: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Clone:
    return make_clone(tmp_path_factory.mktemp("learner"))


@pytest.mark.slow
def test_the_check_passes_on_a_fresh_clone(clone: Clone) -> None:
    assert_check_passes(clone)


@pytest.mark.slow
def test_step1_an_unpinned_dependency_is_caught(clone: Clone) -> None:
    clone.edit("pyproject.toml", *UNPINNED)
    broken = clone.make("check-phase1")
    assert failed_checks(broken) == {LOCKFILE}
    assert "uv.lock no longer matches pyproject.toml" in broken.stdout
    assert "git checkout pyproject.toml" in broken.stdout  # says how to undo it
    run_ok(clone, lesson_says("git checkout pyproject.toml"))
    assert_check_passes(clone)


@pytest.mark.slow
def test_step2_one_changed_byte_of_data_is_caught(clone: Clone) -> None:
    csv = clone.root / "data" / "raw" / "telco" / "test.csv"
    original = csv.read_bytes()
    digit = re.search(rb",\d+\.\d(\d),", original)  # one digit of a customer's charges
    assert digit is not None
    changed = str((int(digit.group(1)) + 1) % 10).encode()
    csv.write_bytes(original[: digit.start(1)] + changed + original[digit.end(1) :])
    broken = clone.make("check-phase1")
    assert failed_checks(broken) == {DIGESTS, DVC_VERSION}
    restore = lesson_says("dvc checkout --force data/raw/telco")
    assert broken.stdout.count(restore) == 2  # both failures say how to restore the file
    plain = clone.sh("dvc checkout data/raw/telco")
    assert plain.returncode != 0  # DVC won't overwrite a changed file unless told to
    assert "--force" in plain.stderr  # (the lesson explains why)
    assert csv.read_bytes() != original  # the check only looked: the change is still there
    run_ok(clone, restore)
    assert csv.read_bytes() == original
    assert_check_passes(clone)


@pytest.mark.slow
def test_step3_environment_drift_is_caught(clone: Clone) -> None:
    run_ok(clone, lesson_says("uv pip install scikit-learn==1.5.2"))
    broken = clone.make("check-phase1")
    assert failed_checks(broken) == {INSTALLED}
    assert "installed: scikit-learn==1.5.2" in broken.stdout
    assert f"locked:    scikit-learn=={metadata.version('scikit-learn')}" in broken.stdout
    assert "make setup" in broken.stdout
    run_ok(clone, lesson_says("make setup"))
    assert_check_passes(clone)


@pytest.mark.slow
def test_step4_unseeded_randomness_is_caught(clone: Clone) -> None:
    repro = "phase1_foundations/repro.py"
    clone.edit(repro, BASELINE_MODEL, "RandomForestClassifier()")
    # where the lesson says: with the other imports at the top of build_baseline
    linear = "    from sklearn.linear_model"
    clone.edit(repro, linear, f"    {FOREST_IMPORT}{linear}")
    assert "`RandomForestClassifier()`" in LESSON
    assert FOREST_IMPORT.strip() in LESSON
    assert "imports at the top of `build_baseline`" in LESSON

    first = clone.sh(lesson_says("make phase1"))
    assert first.returncode != 0
    assert "=> DIFFERENT" in first.stdout
    again = clone.sh("make phase1")
    assert HASHES.findall(again.stdout) == HASHES.findall(first.stdout)  # the same pair again:
    # the global seed makes the whole run repeat, and hides the unseeded model
    unseeded_first_run = HASHES.findall(first.stdout)[0]

    broken = clone.make("check-phase1")
    assert failed_checks(broken) == {deterministic(42), deterministic(7)}  # the lesson's two seeds
    assert "pass random_state=seed" in broken.stdout

    clone.edit(repro, "RandomForestClassifier()", "RandomForestClassifier(random_state=seed)")
    fixed = clone.sh("make phase1")
    assert fixed.returncode == 0
    assert "=> IDENTICAL" in fixed.stdout
    # random_state=42 and the global generator seeded with 42 start from the same state
    assert HASHES.findall(fixed.stdout) == [unseeded_first_run, unseeded_first_run]
    assert_check_passes(clone)
    run_ok(clone, lesson_says("git checkout phase1_foundations/repro.py"))


@pytest.mark.slow
def test_this_checkout_was_left_alone(clone: Clone, before: dict[str, str]) -> None:
    assert snapshot() == before  # its files, its data and its .venv's scikit-learn


CHECKS = ("check-phase1", "check-phase2", "check-phase3")


def make_in(directory: Path, target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=directory,
        env=clean_env(),  # no MLOPS_DATA_DIR or activated environment of this checkout
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_each_check_says_what_to_run_first_and_installs_nothing(tmp_path: Path) -> None:
    """A checkout before `make setup`, then before `make data`: each check stops at its guard
    with one line naming what to run, and installs or fetches nothing. The guards are the
    Makefile's own, so the checkout holds the Makefile alone, and, for the second question, a
    `.venv` whose interpreter is this environment's (a real `make setup` from nothing runs in
    ``phase5_capstone/tests/test_make.py``)."""
    shutil.copy2(PROJECT_ROOT / "Makefile", tmp_path / "Makefile")
    data = tmp_path / "data" / "raw" / "telco"
    data.mkdir(parents=True)
    for check in CHECKS:
        no_env = make_in(tmp_path, check)
        assert no_env.returncode != 0, check
        assert no_env.stdout.splitlines() == [
            "No project environment in .venv: run `make setup` first."
        ], check
        assert not (tmp_path / ".venv").exists(), check  # it did not install the environment
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    for check in CHECKS:
        no_data = make_in(tmp_path, check)
        assert no_data.returncode != 0, check
        assert no_data.stdout.splitlines() == [
            f"No Telco data in {tmp_path / 'data'}/raw/telco: run `make data` first."
        ], check
        assert not list(data.iterdir()), check  # nor fetched it
