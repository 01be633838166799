"""Batch scoring's checks on one chunk: text parsed by the one rule, every reason given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from phase1_foundations.contract import ID_COLUMN, Problem, validate_frame
from phase1_foundations.csvrows import MalformedRow
from phase3_serving.batch_validate import (
    EMPTY_ROW_REASON,
    INPUT_ROW_COLUMN,
    LINE_COLUMN,
    RAW_TEXT_COLUMN,
    REASONS_COLUMN,
    SeenIds,
    parse_chunk,
)
from phase3_serving.schemas import CustomerRow


def raw_frame(telco_sample_raw: pd.DataFrame, **cells: str) -> pd.DataFrame:
    """Two clean text rows; the first gets the given cells."""
    blank = telco_sample_raw["totalcharges"].str.strip() == ""
    frame = telco_sample_raw[~blank].head(2).reset_index(drop=True)
    for column, value in cells.items():
        frame.loc[0, column] = value
    return frame


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("tenure", "abc", "tenure: wrong type"),  # not also "null values"
        ("tenure", "nan", "tenure: wrong type"),  # not a number anyone wrote
        ("totalcharges", "1_000", "totalcharges: wrong type"),  # Python's float would take it
        ("totalcharges", "1e400", "totalcharges: NaN or infinity"),
        ("tenure", "1.5", "tenure: not an integer"),
        ("tenure", "", "tenure: null values"),
        ("gender", " ", "gender: null values"),  # blank text is null in every column
        ("gender", "female", "gender: unknown category"),  # no case folding
        (ID_COLUMN, "", "customerid: null values"),
    ],
)
def test_parse_chunk_rejects_text_that_is_not_what_the_contract_says(
    telco_sample_raw: pd.DataFrame, column: str, value: str, reason: str
) -> None:
    parsed = parse_chunk(raw_frame(telco_sample_raw, **{column: value}))
    assert parsed.rejected[REASONS_COLUMN].tolist() == [reason]
    assert parsed.rejected[column].tolist() == [value]
    assert len(parsed.accepted) == 1


def test_parse_chunk_reads_padded_and_signed_numbers(telco_sample_raw: pd.DataFrame) -> None:
    parsed = parse_chunk(raw_frame(telco_sample_raw, tenure=" 12 ", totalcharges="+1.5e2"))
    assert len(parsed.rejected) == 0
    assert parsed.accepted.loc[0, "tenure"] == 12
    assert parsed.accepted.loc[0, "totalcharges"] == 150.0


def test_parse_chunk_checks_typed_columns_as_they_are(telco_sample: pd.DataFrame) -> None:
    frame = telco_sample.head(3).reset_index(drop=True)
    frame["tenure"] = pd.Series([12, "12", 7], dtype=object)  # text among numbers: not parsed
    parsed = parse_chunk(frame, from_text=False)
    assert parsed.rejected[REASONS_COLUMN].tolist() == ["tenure: wrong type"]
    assert parsed.rejected["tenure"].tolist() == ["12"]
    assert parsed.accepted["tenure"].tolist() == [12, 7]


def test_seen_ids_flags_only_ids_from_earlier_chunks() -> None:
    seen = SeenIds()
    first = seen.flag_repeats(pd.Series(["a", "b", None, "b"], dtype=object))
    second = seen.flag_repeats(pd.Series(["c", "b", None, "a", "c"], dtype=object))
    assert first.tolist() == [False, False, False, False]  # repeats within: the contract's job
    assert second.tolist() == [False, True, False, True, False]


def test_parse_chunk_merges_every_kind_of_reject_in_input_order(
    telco_sample_raw: pd.DataFrame,
) -> None:
    raw = raw_frame(telco_sample_raw, tenure="abc").head(2)
    raw = pd.concat([raw, raw.iloc[[1]].map(lambda _: "")])  # a row of blank cells
    raw.index = pd.Index([0, 3, 4])  # input rows 1 and 2 were malformed lines
    lines = np.array([2, 6, 7])
    malformed = (
        MalformedRow(record=1, line=3, fields=3, expected=21, text="a,b,c"),
        MalformedRow(record=2, line=4, fields=22, expected=21, text='x,"y\nz",...'),
    )
    parsed = parse_chunk(raw, lines=lines, malformed=malformed)
    rejected = parsed.rejected
    assert rejected[INPUT_ROW_COLUMN].tolist() == [0, 1, 2, 4]  # every reject, in file order
    assert rejected[LINE_COLUMN].tolist() == [2, 3, 4, 7]
    assert rejected[REASONS_COLUMN].tolist() == [
        "tenure: wrong type",
        "row has 3 fields, expected 21",
        "row has 22 fields, expected 21, over several lines",
        EMPTY_ROW_REASON,
    ]
    assert rejected[RAW_TEXT_COLUMN].fillna("").tolist() == ["", "a,b,c", 'x,"y\nz",...', ""]
    assert parsed.accepted.index.tolist() == [3]  # the one good row, by its input row
    assert parsed.reasons[EMPTY_ROW_REASON] == 1
    assert sum(parsed.reasons.values()) == len(rejected)  # one reason per rejected row here


def test_an_id_is_refused_here_exactly_when_the_service_refuses_it(
    telco_sample: pd.DataFrame,
) -> None:
    """The batch contract and the service's request schema judge an id by one pattern: an id
    with a trailing newline (a quoted CSV field can hold one) is malformed in both."""
    candidates = ["7590-VHVEG", "7590-VHVEG\n", "a" * 64, "a" * 65, "-x", "x_y-z"]
    frame = telco_sample.iloc[: len(candidates)].copy()
    frame[ID_COLUMN] = candidates
    found = validate_frame(frame)
    [bad] = [i for i in found.issues if i.problem is Problem.BAD_ID]
    row = frame.iloc[0].drop(labels=["churn"], errors="ignore").to_dict()
    refused = set()
    for value in candidates:
        try:
            CustomerRow.model_validate({**row, ID_COLUMN: value})
        except ValidationError:
            refused.add(value)
    assert refused == {"7590-VHVEG\n", "a" * 65, "-x"}
    assert bad.rows == len(refused)
