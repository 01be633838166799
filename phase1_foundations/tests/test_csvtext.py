"""The one CSV reader and parsing rule: text as written, strict numbers, rows that don't split."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from phase1_foundations.contract import NUMERIC_FEATURES
from phase1_foundations.csvrows import (
    CsvTextError,
    read_header,
    read_text_chunks,
    read_text_csv,
)
from phase1_foundations.csvtext import (
    CSV_BLOCK_BYTES,
    READ_AHEAD_BATCHES,
    empty_rows,
    parse_categories,
    parse_numbers,
)
from phase1_foundations.telco import CSV_SHA256, load_telco, raw_dir


@pytest.mark.parametrize("name", sorted(CSV_SHA256))
def test_real_files_read_as_pandas_reads_text(name: str) -> None:
    path = raw_dir() / name
    expected = pd.read_csv(path, dtype=str, keep_default_na=False)  # an independent reader
    pd.testing.assert_frame_equal(read_text_csv(path), expected)


def test_real_numbers_parse_as_pandas_parses_them() -> None:
    splits = load_telco()
    for cleaned, name in ((splits.test, "test.csv"), (splits.train, "train.csv")):
        raw = pd.read_csv(raw_dir() / name, dtype=str, keep_default_na=False)
        raw = raw.set_index("customerid").loc[cleaned["customerid"]]
        for column in NUMERIC_FEATURES:
            independent = pd.to_numeric(raw[column].str.strip().replace("", "0"))
            np.testing.assert_array_equal(cleaned[column].to_numpy(float), independent.to_numpy())


@pytest.mark.parametrize(
    ("text", "number"),
    [(" 12 ", 12.0), ("+1.5e2", 150.0), ("-.5", -0.5), ("7.", 7.0), ("", None), ("  ", None)],
)
def test_decimal_literals_parse_and_blanks_are_null(text: str, number: float | None) -> None:
    parsed = parse_numbers(pd.Series([text, "1"]))
    assert parsed.dtype == np.float64  # every cell followed the rule
    assert np.isnan(parsed[0]) if number is None else parsed[0] == number, parsed[0]


@pytest.mark.parametrize("text", ["nan", "inf", "1_000", "12,5", "0x10", "\u0661\u0662", "1e"])
def test_other_spellings_stay_text_for_the_contract_to_refuse(text: str) -> None:
    parsed = parse_numbers(pd.Series([text, "1", ""]))
    assert parsed.tolist() == [text, 1.0, None]  # kept as written, not NaN nor a number


def test_categories_are_the_exact_text() -> None:
    parsed = parse_categories(pd.Series(["Male", " Male", "male", " "]))
    assert parsed.astype(object).tolist()[:3] == ["Male", " Male", "male"]  # no strip, no fold
    assert parsed.isna().tolist() == [False, False, False, True]  # blank is null


def test_empty_rows_have_no_value_in_any_column() -> None:
    raw = pd.DataFrame({"customerid": ["", "", "a", " "], "churn": ["", "Yes", "", "  "]})
    assert empty_rows(raw).tolist() == [True, False, False, True]


def numbered(tmp_path: Path, text: bytes, chunk_rows: int = 2) -> list[tuple[str, ...]]:
    """(kind, record, line, what) for every row of the file, in the order chunks give them."""
    path = tmp_path / "rows.csv"
    path.write_bytes(text)
    rows: list[tuple[str, ...]] = []
    for chunk in read_text_chunks(path, read_header(path), chunk_rows):
        values = chunk.table.column("a").to_pylist()
        for value, record, line in zip(values, chunk.records, chunk.lines, strict=True):
            rows.append(("row", str(record), str(line), value))
        rows += [("bad", str(m.record), str(m.line), m.reason) for m in chunk.malformed]
    return sorted(rows, key=lambda row: int(row[1]))


def test_rows_know_their_lines_around_blank_lines(tmp_path: Path) -> None:
    assert numbered(tmp_path, b"a,b,c\n1,2,3\n\n\n4,5\n6,7,8\n") == [
        ("row", "0", "2", "1"),
        ("row", "1", "3", ""),  # an empty line is a row of blank cells, not skipped
        ("row", "2", "4", ""),
        ("bad", "3", "5", "row has 2 fields, expected 3"),
        ("row", "4", "6", "6"),
    ]


def test_line_breaks_inside_quoted_values_push_later_lines_down(tmp_path: Path) -> None:
    text = b'a,b,c\r\n1,2,3\r\n"x\r\n\r\ny",7,8\r\n4,"5\n6",7,8\r\n9\r\n10,11,12\r\n'
    assert numbered(tmp_path, text, chunk_rows=1) == [
        ("row", "0", "2", "1"),
        ("row", "1", "3", "x\r\n\r\ny"),  # lines 3 to 5
        ("bad", "2", "6", "row has 4 fields, expected 3, over several lines"),
        ("bad", "3", "8", "row has 1 field, expected 3"),
        ("row", "4", "9", "10"),
    ]


def test_a_file_of_malformed_rows_still_yields_them(tmp_path: Path) -> None:
    assert numbered(tmp_path, b"a,b,c\n1,2\n3\n") == [
        ("bad", "0", "2", "row has 2 fields, expected 3"),
        ("bad", "1", "3", "row has 1 field, expected 3"),
    ]


def test_a_quote_left_open_swallows_the_rest_into_one_malformed_row(tmp_path: Path) -> None:
    rows = numbered(tmp_path, b'a,b,c\n1,2,3\n"4,5,6\n7,8,9\n10,11,12\n')
    assert rows[0] == ("row", "0", "2", "1")
    assert rows[1:] == [
        (
            "bad",
            "1",
            "3",
            "row has 1 field, expected 3, over several lines: a quote is never closed",
        )
    ]


def test_whole_file_reading_refuses_a_malformed_row_by_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"a,b,c\n1,2,3\n4,5\n")
    with pytest.raises(CsvTextError, match=r"rows\.csv line 3: row has 2 fields, expected 3"):
        read_text_csv(path)


@pytest.mark.parametrize(("threads", "number"), [(True, None), (False, 3)])
def test_arrow_numbers_a_malformed_row_only_on_one_thread(
    threads: bool, number: int | None
) -> None:
    """Why the reader runs on one thread: with threads, Arrow cannot say where a bad row is."""
    seen: list[int | None] = []

    def handler(row: pa_csv.InvalidRow) -> str:
        seen.append(row.number)
        return "skip"

    pa_csv.read_csv(
        io.BytesIO(b"a,b\n1,2\n3\n4,5\n"),
        read_options=pa_csv.ReadOptions(use_threads=threads),
        parse_options=pa_csv.ParseOptions(invalid_row_handler=handler),
    )
    assert seen == [number]


def test_reader_keeps_every_cell_as_text(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b'customerid,tenure\n"007",1e3\nNA,nan\n')
    frame = read_text_csv(path)
    assert frame.to_dict("list") == {"customerid": ["007", "NA"], "tenure": ["1e3", "nan"]}
    assert pa.types.is_string(pa.array(frame["tenure"]).type)  # nothing parsed


def test_stopping_early_stops_the_background_reader(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    blocks = 2 * READ_AHEAD_BATCHES + 2  # more than the reader may hold ready: it must wait
    path.write_bytes(b"a,b,c\n" + b"1,2,3\n" * (blocks * CSV_BLOCK_BYTES // 6))
    chunks = read_text_chunks(path, read_header(path), chunk_rows=10)
    next(chunks)
    assert "csv-reader" in {thread.name for thread in threading.enumerate()}
    chunks.close()
    assert "csv-reader" not in {thread.name for thread in threading.enumerate()}


def test_an_error_in_the_background_reader_is_raised_to_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"a,b,c\n1,2,3\n\xff,2,3\n")
    with pytest.raises(pa.ArrowInvalid, match="invalid UTF8"):
        list(read_text_chunks(path, read_header(path), chunk_rows=10))
