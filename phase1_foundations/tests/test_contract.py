"""The contract names the column and the problem for every kind of bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from phase1_foundations.contract import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    FEATURES,
    ID_COLUMN,
    NUMERIC_FEATURES,
    ContractViolation,
    Problem,
    empty_frame,
    to_model_frame,
    validate_frame,
)


def problems(frame: pd.DataFrame, **kwargs: bool) -> set[tuple[str, Problem]]:
    return {(i.column, i.problem) for i in validate_frame(frame, **kwargs).issues}


def test_contract_declares_the_telco_columns() -> None:
    assert len(FEATURES) == 19  # the 19 Telco features, no more, no fewer
    assert len(set(FEATURE_NAMES)) == 19  # no column declared twice
    assert set(CATEGORICAL_FEATURES) | set(NUMERIC_FEATURES) == set(FEATURE_NAMES)
    assert ID_COLUMN not in FEATURE_NAMES  # the id is never a feature


def test_clean_sample_passes(telco_sample: pd.DataFrame) -> None:
    report = validate_frame(telco_sample, require_label=True)
    assert report.ok, report.summary()
    assert not report.bad_rows.any()


def test_renamed_column_is_reported_as_missing_and_unexpected(telco_sample: pd.DataFrame) -> None:
    renamed = telco_sample.rename(columns={"monthlycharges": "monthly_charges"})
    found = problems(renamed)
    assert ("monthlycharges", Problem.MISSING_COLUMN) in found
    assert ("monthly_charges", Problem.UNEXPECTED_COLUMN) in found
    assert not validate_frame(renamed).schema_ok


def test_null_flood_names_the_column(telco_sample: pd.DataFrame) -> None:
    flooded = telco_sample.copy()
    flooded.loc[flooded.index[:120], "tenure"] = np.nan
    report = validate_frame(flooded)
    assert problems(flooded) == {("tenure", Problem.NULL)}
    assert report.issues[0].rows == 120
    assert "tenure: null values in 120 row(s)" in report.summary()
    assert report.bad_rows.sum() == 120


def test_unknown_category_names_the_column_and_value(telco_sample: pd.DataFrame) -> None:
    frame = telco_sample.astype({"internetservice": object})
    frame.loc[frame.index[3], "internetservice"] = "Satellite"
    report = validate_frame(frame)
    assert problems(frame) == {("internetservice", Problem.UNKNOWN_CATEGORY)}
    assert "'Satellite'" in report.summary()
    assert report.reasons_for(3) == ["internetservice: unknown category"]


def test_unknown_category_in_a_categorical_dtype(telco_sample: pd.DataFrame) -> None:
    frame = telco_sample.copy()
    frame["contract"] = frame["contract"].cat.add_categories(["Three year"])
    frame.loc[frame.index[0], "contract"] = "Three year"
    assert problems(frame) == {("contract", Problem.UNKNOWN_CATEGORY)}


@pytest.mark.parametrize(
    ("column", "value"),
    [("monthlycharges", 7985.0), ("tenure", -1), ("totalcharges", 1e9), ("seniorcitizen", 2)],
)
def test_out_of_range_value_names_the_column(
    telco_sample: pd.DataFrame, column: str, value: float
) -> None:
    frame = telco_sample.copy()
    frame[column] = frame[column].astype(float)
    frame.loc[frame.index[5], column] = value
    assert problems(frame) == {(column, Problem.OUT_OF_RANGE)}


def test_infinity_and_nan_are_not_silently_accepted(telco_sample: pd.DataFrame) -> None:
    frame = telco_sample.copy()
    frame.loc[frame.index[0], "monthlycharges"] = np.inf
    frame.loc[frame.index[1], "monthlycharges"] = -np.inf
    found = problems(frame)
    assert found == {("monthlycharges", Problem.NOT_FINITE)}


def test_text_in_numeric_column_is_wrong_type_not_coerced(telco_sample: pd.DataFrame) -> None:
    frame = telco_sample.astype({"tenure": object})
    frame.loc[frame.index[2], "tenure"] = "twelve"
    frame.loc[frame.index[4], "tenure"] = "12"  # a number as text is still text
    report = validate_frame(frame)
    assert problems(frame) == {("tenure", Problem.WRONG_TYPE)}
    assert report.issues[0].rows == 2
    assert frame.loc[frame.index[4], "tenure"] == "12"  # validation never modifies the input


def test_fractional_tenure_is_not_an_integer(telco_sample: pd.DataFrame) -> None:
    frame = telco_sample.astype({"tenure": float})
    frame.loc[frame.index[0], "tenure"] = 3.5
    assert problems(frame) == {("tenure", Problem.NOT_INTEGER)}


def test_duplicate_and_malformed_ids(telco_sample: pd.DataFrame) -> None:
    frame = pd.concat([telco_sample, telco_sample.iloc[:7]], ignore_index=True)
    frame.loc[0, ID_COLUMN] = "bad id with spaces"
    found = validate_frame(frame)
    assert {(i.column, i.problem, i.rows) for i in found.issues} == {
        (ID_COLUMN, Problem.DUPLICATE_ID, 6),
        (ID_COLUMN, Problem.BAD_ID, 1),
    }


def test_label_must_be_binary(telco_sample: pd.DataFrame) -> None:
    frame = telco_sample.astype({"churn": object})
    frame.loc[frame.index[0], "churn"] = "Yes"
    assert problems(frame, require_label=True) == {("churn", Problem.OUT_OF_RANGE)}


def test_rejection_reasons_cover_every_bad_row(telco_sample: pd.DataFrame) -> None:
    frame = telco_sample.astype({"contract": object})
    frame.loc[frame.index[1], "contract"] = "Lifetime"
    frame.loc[frame.index[1], "tenure"] = -5
    frame.loc[frame.index[9], "tenure"] = -1
    reasons = validate_frame(frame).rejection_reasons()
    assert list(reasons.index) == [1, 9]
    assert reasons[1] == "tenure: out of range; contract: unknown category"
    assert reasons[9] == "tenure: out of range"


def test_to_model_frame_refuses_bad_rows_instead_of_casting(telco_sample: pd.DataFrame) -> None:
    frame = telco_sample.astype({"seniorcitizen": float})
    assert list(to_model_frame(frame).columns) == list(FEATURE_NAMES)
    assert to_model_frame(frame)["seniorcitizen"].dtype == np.int64
    frame.loc[frame.index[0], "seniorcitizen"] = 0.5
    with pytest.raises(ContractViolation, match="seniorcitizen"):
        to_model_frame(frame)


def test_empty_frame_has_every_contract_column() -> None:
    frame = empty_frame()
    assert set(FEATURE_NAMES) <= set(frame.columns)
    assert validate_frame(frame, require_label=True).ok
