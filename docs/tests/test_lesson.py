"""Every command docs/README.md shows is run by a named test."""

from __future__ import annotations

from phase1_foundations.settings import PROJECT_ROOT
from testing.readme import assert_make_runs, missing_coverage

README = PROJECT_ROOT / "docs" / "README.md"
COVERED_BY = {
    "make phase2": (
        "phase2_pipelines.tests.test_dvc::test_repro_runs_every_stage_and_promotes_the_first_model"
    ),
    "make docs": "docs.tests.test_generate::test_make_docs_renders_the_live_state",
    "make site": "docs.tests.test_site::test_make_site_builds_into_the_given_folder",
    "make site-serve": "docs.tests.test_site::test_site_serve_answers_on_loopback",
}


def test_every_command_of_the_lesson_is_covered() -> None:
    assert missing_coverage(README, COVERED_BY) == []


def test_make_site_serve_serves_on_loopback_what_the_test_serves() -> None:
    assert_make_runs({"site-serve": "mkdocs serve --dev-addr 127.0.0.1:8001"})
