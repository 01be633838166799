"""Every command the phase-4 lesson shows is exercised by a named test."""

from __future__ import annotations

from phase1_foundations.settings import PROJECT_ROOT
from testing.readme import missing_coverage

T = "phase4_monitoring.tests."
COVERED_BY = {
    "python -m phase4_monitoring check data/raw/telco/test.csv":
        T + "test_cli::test_the_lesson_checks_the_telco_holdout",
    "python -m phase4_monitoring.lesson world-week covariate_shift 9 var/week.parquet":
        T + "test_demo::test_world_week_writes_a_week_to_check",
    "python -m phase4_monitoring check var/week.parquet --report var/reports/week":
        T + "test_cli::test_report_writes_the_evidently_html_and_the_checks",
    "MLOPS_STATE_DIR=var/phase4 python -m phase4_monitoring check --log var/phase4/predictions"
    " --weeks 15 --labels var/phase4/labels.parquet":
        T + "test_walkthrough::test_make_phase4_serves_monitors_alerts_and_decides",
    "python -m phase4_monitoring.lesson pvalues":
        T + "test_demo::test_pvalues_command_runs_as_written",
    "make bench-monitoring":
        T + "test_bench_monitoring::test_bench_prints_times_ratio_agreement_and_the_cbpe_table",
    "python -m phase4_monitoring check var/week.parquet --metrics var/monitoring/metrics.prom":
        T + "test_monitor_metrics::test_check_writes_the_metrics_file",
    "python -m phase4_monitoring exporter --textfile var/monitoring/metrics.prom --port 9108":
        T + "test_monitor_metrics::test_the_exporter_command_runs_as_written",
    "promtool check rules phase4_monitoring/alerts.yml":
        T + "test_alerts::test_promtool_accepts_the_rules",
    "promtool test rules phase4_monitoring/alerts_test.yml":
        T + "test_alerts::test_promtool_unit_tests_pass",
    "make phase4": T + "test_walkthrough::test_make_phase4_serves_monitors_alerts_and_decides",
    "make check-phase4": T + "test_selfcheck::test_make_check_phase4_passes_on_the_projects_policy",
    "make nannyml-env":
        T + "test_bench_monitoring::test_make_targets_run_the_benchmark_and_build_the_nannyml_env",
}  # fmt: skip


def test_lesson_commands_are_covered() -> None:
    assert missing_coverage(PROJECT_ROOT / "phase4_monitoring" / "README.md", COVERED_BY) == []
