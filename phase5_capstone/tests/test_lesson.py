"""Every command the phase-5 lesson shows is exercised by a named test."""

from __future__ import annotations

from phase1_foundations.settings import PROJECT_ROOT
from testing.readme import missing_coverage

T = "phase5_capstone.tests."
COMMANDS = T + "test_make::test_explain_summary_and_timeline_commands"
COVERED_BY = {
    "make capstone": T + "test_make::test_make_capstone_runs_the_default_scenario_as_designed",
    "python -m phase5_capstone explain --week 14": COMMANDS,
    "python -m phase5_capstone summary": COMMANDS,
    "python -m phase5_capstone timeline": COMMANDS,
    "make bench-capstone": T + "test_bench::test_bench_reports_weekly_percentiles_and_the_steps",
    "make check-phase5": T + "test_make::test_make_check_phase5_reads_the_run_and_passes",
    "make bench-policy": T + "test_bench::test_bench_policy_judges_each_policy_against_the_oracle",
    "make capstone-ui": T
    + "test_orchestrator::test_make_capstone_ui_serves_the_job_on_loopback_and_stops_cleanly",
}


def test_lesson_commands_are_covered() -> None:
    assert missing_coverage(PROJECT_ROOT / "phase5_capstone" / "README.md", COVERED_BY) == []
