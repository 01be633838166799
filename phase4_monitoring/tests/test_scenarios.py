"""Each world scenario is caught by the check that owns it, and by no other check.

Weeks are taken where the scenario is at full strength (it starts at week 4, ramps over 4).
"""

from __future__ import annotations

from phase2_pipelines.evidence import Verdict
from phase4_monitoring.monitor import WindowReport
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.tests.conftest import WorldChampion
from phase4_monitoring.tests.helpers import LOYAL_CUSTOMERS_LEAVE, check_week

FULL = 8


def null_alerts(report: WindowReport) -> list[str]:
    return [c.column or "" for c in report.data_quality.nulls if c.verdict is Verdict.ALERT]


def contract_columns(report: WindowReport) -> list[str]:
    return sorted({f.column or "" for f in report.data_quality.contract.findings})


def assert_clean_data(report: WindowReport) -> None:
    quality = report.data_quality
    assert quality.schema_check.verdict is Verdict.OK, quality.schema_check.reason
    assert quality.contract.verdict is Verdict.OK, quality.contract.reason
    assert quality.duplicates.verdict is Verdict.OK, quality.duplicates.reason
    assert null_alerts(report) == []


def test_baseline_week_raises_nothing(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, "baseline", FULL, labels=True)
    assert report.verdict is Verdict.OK, report.reason
    assert report.exit_code == 0


def test_covariate_shift_is_that_features_drift(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, "covariate_shift", FULL)
    assert report.drift.drifted == ["monthlycharges"]  # prices moved, nothing else
    assert_clean_data(report)
    assert report.exit_code == 1


def test_category_shift_is_that_features_drift(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, "category_shift", FULL)
    assert report.drift.drifted == ["contract"]
    assert_clean_data(report)


def test_null_flood_is_a_null_rate_alert_not_drift(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, "null_flood", FULL)
    assert null_alerts(report) == ["paymentmethod", "totalcharges"]
    assert report.drift.drifted == []  # the values that did arrive are distributed as before
    assert report.data_quality.schema_check.verdict is Verdict.OK
    assert report.data_quality.contract.verdict is Verdict.OK  # nulls are the null check's
    assert report.exit_code == 1


def test_renamed_column_is_a_schema_failure(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, "schema_break", FULL)
    schema = report.data_quality.schema_check
    assert schema.verdict is Verdict.FAIL
    assert schema.renamed == {"monthlycharges": "monthly_charges"}
    assert report.drift.drifted == []  # the other columns are fine
    assert report.exit_code == 2


def test_dropped_column_is_a_schema_failure(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, "schema_break_drop", FULL)
    schema = report.data_quality.schema_check
    assert schema.missing == ("paymentmethod",)
    assert schema.renamed == {}
    assert report.drift.drifted == []
    assert report.exit_code == 2


def test_unit_change_fails_the_contract_for_that_column(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, "unit_change", FULL)
    assert contract_columns(report) == ["monthlycharges"]
    assert report.data_quality.contract.findings[0].problem == "out of range"
    assert report.data_quality.schema_check.verdict is Verdict.OK
    assert report.drift.drifted == ["monthlycharges"]
    assert report.exit_code == 2


def test_new_category_fails_the_contract_for_that_column(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, "new_category", FULL)
    assert contract_columns(report) == ["internetservice"]
    assert report.data_quality.contract.findings[0].problem == "unknown category"
    assert "Satellite" in report.data_quality.contract.findings[0].examples[0]
    assert report.drift.drifted == ["internetservice"]
    assert report.exit_code == 2


def test_swapped_columns_show_on_those_two_columns(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, "swapped_columns", FULL)
    assert report.data_quality.schema_check.verdict is Verdict.OK  # same names, same types
    assert contract_columns(report) == ["monthlycharges"]  # totals are out of a bill's range
    assert report.drift.drifted == ["monthlycharges", "totalcharges"]
    assert report.exit_code == 2


def test_duplicate_rows_are_a_duplicate_alert(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, "duplicate_rows", FULL)
    assert report.data_quality.duplicates.verdict is Verdict.ALERT
    assert report.data_quality.contract.verdict is Verdict.OK  # repeated ids are its concern
    assert report.drift.drifted == []
    assert report.exit_code == 1


def test_concept_drift_shows_in_realized_quality_not_in_features(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, "concept_drift", FULL, labels=True)
    assert report.drift.verdict is Verdict.OK  # no feature and no score moved
    assert_clean_data(report)
    assert report.quality is not None
    alerts = {c.column for c in report.quality.checks if c.verdict is Verdict.ALERT}
    assert {"calibration", "target_drift"} <= alerts  # churn rose, the scores did not
    assert report.estimate is not None
    assert report.estimate.drop is not None
    assert not report.estimate.drop.exceeded  # CBPE cannot see it


def test_concept_drift_that_hurts_ranking_is_a_realized_auc_drop(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    report = check_week(world_champion, monitoring_params, LOYAL_CUSTOMERS_LEAVE, FULL, labels=True)
    assert report.drift.verdict is Verdict.OK
    assert report.quality is not None
    auc = next(c for c in report.quality.checks if c.column == "roc_auc")
    assert auc.verdict is Verdict.ALERT, auc.reason
    assert report.estimate is not None
    assert report.estimate.drop is not None
    assert not report.estimate.drop.exceeded  # the scores look as confident as ever
