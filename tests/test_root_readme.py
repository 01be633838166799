"""The root README's quickstart: the main job and `make test`, each run by something real."""

from __future__ import annotations

import subprocess

from phase1_foundations.settings import PROJECT_ROOT
from phase1_foundations.tests.lesson import missing_coverage, readme_commands

README = PROJECT_ROOT / "README.md"
COVERED_BY = {
    "make phase3": "tests.test_root_readme::test_make_phase3_trains_then_serves",
    "make test": "tests.test_root_readme::test_ci_runs_the_readme_test_command",
}


def test_root_readme_commands_are_covered() -> None:
    assert missing_coverage(README, COVERED_BY) == []
    assert "make test" in readme_commands(README)


def test_ci_runs_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci  # CI runs exactly what the README tells users to run


def test_make_phase3_trains_then_serves() -> None:
    """The quickstart's job: the DVC pipeline (tested in phase2's test_dvc), then the service
    (tested under uvicorn in phase3's test_service), in that order."""
    dry = subprocess.run(
        ["make", "-n", "phase3"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "dvc repro" in dry
    assert dry.index("dvc repro") < dry.index("serve")
