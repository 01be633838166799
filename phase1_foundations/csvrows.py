"""A CSV file's rows in order, each with its record and line number, and the malformed ones.

A row with the wrong number of fields cannot be split into columns, but it must not stop the
reading of a file either: it is set aside as a ``MalformedRow`` with its text and where it is.
Arrow reports such a row's record number (the header is record 1) when it reads on one thread;
with threads it reports None, so ``open_text_csv`` reads on one. A record is not a line when a
quoted value holds a line break, so those breaks are counted to give true line numbers.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from phase1_foundations.csvtext import (
    open_text_csv,
    parse_text_column,
    read_text_batches,
    text_schema,
)

IntArray = npt.NDArray[np.int64]
HEADER_RECORDS = 1  # the header is one record; data records are numbered from 0 after it
FIRST_LINE = 1  # editors number lines from 1
WHOLE_FILE_ROWS = 1 << 62


class CsvTextError(ValueError):
    """The CSV cannot be read as text rows; the message says where and why."""


@dataclass(frozen=True)
class MalformedRow:
    """A row whose field count differs from the header's, kept as the text that was read."""

    record: int  # 0-based data record: the header is not counted, every other row is
    line: int  # 1-based line where the row starts; the header is line 1
    fields: int
    expected: int
    text: str

    @property
    def reason(self) -> str:
        noun = "field" if self.fields == 1 else "fields"
        where = ""
        if count_breaks(self.text):
            where = ", over several lines"
            if self.text.count('"') % 2:  # quotes come in pairs ("" inside a quoted value)
                where += ": a quote is never closed"  # and swallowed the lines after it
        return f"row has {self.fields} {noun}, expected {self.expected}{where}"


@dataclass(frozen=True)
class TextChunk:
    """Well-formed rows in file order, where each starts, and the malformed rows among them.

    ``malformed`` holds the malformed rows before the last row of ``table`` (after the last
    well-formed row of the file, they come in a final chunk whose table is empty).
    ``position`` is how many bytes of the file have been read, for a progress bar.
    """

    table: pa.Table
    records: IntArray
    lines: IntArray
    malformed: tuple[MalformedRow, ...]
    position: int


def rebatch(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Tables of exactly ``rows`` rows (the last one may be shorter), whatever the reader gives."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def count_breaks(text: str) -> int:
    """Line breaks in text: CR LF, LF and a lone CR each end one line, as Arrow's reader has it."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _may_hold_breaks(table: pa.Table) -> bool:
    """A fast test (one memchr per column buffer) that is never False when a cell has a break."""
    for column in table.columns:
        for chunk in column.chunks:
            values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
            data = values.buffers()[2]
            if data is not None and any(b in data.to_pybytes() for b in (b"\n", b"\r")):
                return True
    return False


def _row_breaks(table: pa.Table) -> IntArray:
    """Line breaks inside each row's values (quoted values may hold them)."""
    breaks = np.zeros(table.num_rows, dtype=np.int64)
    if not _may_hold_breaks(table):
        return breaks
    for column in table.columns:
        text = column.cast(pa.string())
        found = [pc.count_substring(text, pattern) for pattern in ("\n", "\r", "\r\n")]
        lf, cr, crlf = (np.asarray(f.to_numpy(), dtype=np.int64) for f in found)
        breaks += lf + cr - crlf
    return breaks


class RowNumbering:
    """Numbers the well-formed rows the reader yields, given the malformed rows it skipped.

    ``add_skipped`` takes the rows the reader skipped. Arrow skips them while parsing, before
    it yields the rows around them, so each chunk's numbers are known when it comes.
    """

    def __init__(self) -> None:
        self._skipped: list[pa_csv.InvalidRow] = []
        self._rows_before = 0  # well-formed rows numbered so far
        self._malformed_before = 0  # malformed rows handed out so far
        self._breaks_before = 0  # line breaks inside the values of every record handed out

    def add_skipped(self, rows: Iterable[pa_csv.InvalidRow]) -> None:
        self._skipped.extend(rows)

    def number(self, table: pa.Table, position: int, *, last: bool = False) -> TextChunk:
        """Where each row of the next chunk starts, and the malformed rows handed out with it."""
        if any(row.number is None for row in self._skipped):
            raise CsvTextError("the CSV reader did not say where a malformed row is")
        self._skipped.sort(key=lambda row: int(row.number))
        skipped = np.array([int(r.number) - HEADER_RECORDS - 1 for r in self._skipped], np.int64)
        # Well-formed rows before each skipped one; row k comes after those with k or fewer.
        rows_ahead = skipped - (self._malformed_before + np.arange(len(skipped)))
        ordinals = np.arange(self._rows_before, self._rows_before + table.num_rows)
        records = ordinals + self._malformed_before + np.searchsorted(rows_ahead, ordinals, "right")
        due = len(skipped) if last or not len(records) else int(np.sum(skipped < records[-1]))
        malformed_rows, self._skipped = self._skipped[:due], self._skipped[due:]
        malformed_breaks = [count_breaks(r.text) for r in malformed_rows]
        # Each record starts below the line breaks inside every record before it.
        all_records = np.concatenate([records, skipped[:due]])
        all_breaks = np.concatenate([_row_breaks(table), np.array(malformed_breaks, np.int64)])
        order = np.argsort(all_records, kind="stable")
        before = np.empty_like(all_breaks)
        before[order] = self._breaks_before + np.cumsum(all_breaks[order]) - all_breaks[order]
        starts = all_records + before + HEADER_RECORDS + FIRST_LINE
        malformed = tuple(
            MalformedRow(int(record), int(line), r.actual_columns, r.expected_columns, r.text)
            for record, line, r in zip(
                skipped[:due], starts[len(records) :], malformed_rows, strict=True
            )
        )
        self._rows_before += table.num_rows
        self._malformed_before += due
        self._breaks_before += int(all_breaks.sum())
        return TextChunk(table, records, starts[: len(records)], malformed, position)

    @property
    def pending(self) -> bool:
        return bool(self._skipped)


def read_header(path: Path) -> tuple[str, ...]:
    """The column names on a CSV's first line."""
    with pa.OSFile(str(path)) as handle:
        return tuple(open_text_csv(handle, on_invalid_row=lambda row: "skip").schema.names)


def read_text_chunks(
    path: Path, columns: Sequence[str], chunk_rows: int
) -> Generator[TextChunk, None, None]:
    """The file's rows as text, ``chunk_rows`` well-formed rows at a time, malformed ones aside.

    Memory is bounded by the chunk, plus any malformed rows after its last well-formed row.
    """
    numbering = RowNumbering()
    position = 0

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal position
        for read in read_text_batches(path, columns):
            numbering.add_skipped(read.skipped)
            position = read.position
            if read.batch is not None:
                yield read.batch

    for table in rebatch(batches(), chunk_rows):
        yield numbering.number(table, position)
    if numbering.pending:
        yield numbering.number(text_schema(columns).empty_table(), position, last=True)


def read_text_csv(path: Path) -> pd.DataFrame:
    """A whole CSV as it is stored: every cell as a str, nothing parsed, dropped or made null.

    A row with the wrong number of fields is an error that names its line.
    """
    columns = read_header(path)
    tables: list[pa.Table] = []
    for chunk in read_text_chunks(path, columns, WHOLE_FILE_ROWS):
        if chunk.malformed:
            first = chunk.malformed[0]
            raise CsvTextError(f"{path} line {first.line}: {first.reason}")
        tables.append(chunk.table)
    if not tables:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in columns})
    text = pa.schema([(name, pa.string()) for name in columns])
    frame: pd.DataFrame = pa.concat_tables(tables).cast(text).to_pandas()
    return frame


def read_typed_csv(path: Path) -> pd.DataFrame:
    """A whole CSV read as text, then typed column by column by the one rule
    (``csvtext.parse_text_column``): the id, the features and the label; other columns stay text.

    A column named twice, or a row with the wrong number of fields, is an error that says where.
    """
    columns = read_header(path)
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise CsvTextError(f"{path}: column {repeated[0]!r} appears more than once")
    raw = read_text_csv(path)
    return pd.DataFrame({name: parse_text_column(name, raw[name]) for name in raw.columns})
