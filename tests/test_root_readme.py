"""The root README's quickstart: the main job and `make test`, each run by something real."""

from __future__ import annotations

from phase1_foundations.settings import PROJECT_ROOT
from phase1_foundations.tests.lesson import missing_coverage, readme_commands

README = PROJECT_ROOT / "README.md"
COVERED_BY = {
    "make phase2": "phase2_pipelines.tests.test_dvc::test_repro_runs_every_stage_then_is_a_no_op",
    "make test": "tests.test_root_readme::test_ci_runs_the_readme_test_command",
}


def test_root_readme_commands_are_covered() -> None:
    assert missing_coverage(README, COVERED_BY) == []
    assert "make test" in readme_commands(README)


def test_ci_runs_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci  # CI runs exactly what the README tells users to run
