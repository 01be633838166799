"""Batch scoring's input: check that a file can be scored at all, then read it chunk by chunk.

CSV is read through phase 1's one CSV reader (``csvrows``): every cell as text, and a row with
the wrong number of fields set aside with its line instead of stopping the file. Parquet keeps
the column types it stores.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from phase1_foundations.contract import (
    FEATURE_NAMES,
    ID_COLUMN,
    LABEL_COLUMN,
    Problem,
    validate_frame,
)
from phase1_foundations.csvrows import MalformedRow, read_header, read_text_chunks, rebatch

Format = Literal["csv", "parquet"]
FORMATS: dict[str, Format] = {".csv": "csv", ".parquet": "parquet"}
DUPLICATE_COLUMN = "duplicate column"
READ_ERRORS = (OSError, ValueError, pa.ArrowException)
REQUIRED_COLUMNS = frozenset({ID_COLUMN, *FEATURE_NAMES})
ALLOWED_EXTRA = frozenset({LABEL_COLUMN})


class BatchInputError(ValueError):
    """The input file, or an output path, cannot be used at all; the message says why."""


def read_format(path: Path, role: str) -> Format:
    """The file format a path's suffix names, or a ``BatchInputError`` naming the role."""
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        supported = ", ".join(FORMATS)
        raise BatchInputError(
            f"{role} {path}: unknown suffix {path.suffix!r}; supported: {supported}"
        )
    return found


def check_columns(columns: Iterable[str], where: str = "input") -> None:
    """Refuse columns that are not the contract's, naming every missing and unexpected one.

    The label column may be present (a labeled extract can be scored): it is carried into the
    rejects file but never scored.
    """
    names = [str(c) for c in columns]
    if len(set(names)) == len(names) and set(names) - ALLOWED_EXTRA == REQUIRED_COLUMNS:
        return  # the common case, decided without building a report
    repeated = sorted({n for n in names if names.count(n) > 1})
    report = validate_frame(pd.DataFrame(columns=list(dict.fromkeys(names))), require_id=True)
    if report.schema_ok and not repeated:
        return
    found = {
        problem.value: [i.column for i in report.issues if i.problem is problem]
        for problem in (Problem.MISSING_COLUMN, Problem.UNEXPECTED_COLUMN)
    }
    found[DUPLICATE_COLUMN] = repeated
    parts = [f"{problem}(s): {', '.join(cols)}" for problem, cols in found.items() if cols]
    raise BatchInputError(f"{where}: {'; '.join(parts)}")


@dataclass(frozen=True)
class InputFile:
    """An input whose format and columns are known good, and its size for the progress bar.

    ``size`` is in bytes for CSV (its row count is unknown until read) and in rows for parquet.
    """

    path: Path
    format: Format
    columns: tuple[str, ...]
    size: int

    @property
    def size_unit(self) -> str:
        return "B" if self.format == "csv" else "row"


@dataclass(frozen=True)
class RawChunk:
    """Rows as read, indexed by input row (a CSV's data record), and where the reading is.

    CSV chunks hold text only (Arrow-backed strings, or categoricals of strings), with the line
    each row starts on and the malformed rows among them; parquet chunks hold the stored types.
    """

    frame: pd.DataFrame
    lines: npt.NDArray[np.int64] | None
    malformed: tuple[MalformedRow, ...]
    position: int

    @property
    def from_text(self) -> bool:
        return self.lines is not None

    @property
    def rows(self) -> int:
        return len(self.frame) + len(self.malformed)


def _pandas_index_columns(parquet: pq.ParquetFile) -> set[str]:
    """Columns pandas stored for a frame's index: not data, so neither checked nor scored."""
    metadata = parquet.schema_arrow.pandas_metadata or {}
    return {c for c in metadata.get("index_columns", []) if isinstance(c, str)}


def open_input(path: Path) -> InputFile:
    """Check that a file can be scored at all (format, readability, columns) before any work."""
    file_format = read_format(path, "input")
    if not path.is_file():
        raise BatchInputError(f"input {path}: no such file")
    try:
        if file_format == "csv":
            columns = read_header(path)
            size = path.stat().st_size
        else:
            parquet = pq.ParquetFile(path)
            skipped = _pandas_index_columns(parquet)
            columns = tuple(n for n in parquet.schema_arrow.names if n not in skipped)
            size = int(parquet.metadata.num_rows)
    except READ_ERRORS as error:
        raise BatchInputError(f"input {path}: cannot read it as {file_format}: {error}") from error
    check_columns(columns, where=f"input {path}")
    return InputFile(path=path, format=file_format, columns=columns, size=size)


def _csv_chunks(source: InputFile, chunk_rows: int) -> Iterator[RawChunk]:
    text = {pa.string(): pd.ArrowDtype(pa.string())}.get
    for chunk in read_text_chunks(source.path, source.columns, chunk_rows):
        # The text stays in Arrow: no Python string per cell.
        frame = chunk.table.to_pandas(types_mapper=text)
        frame.index = pd.Index(chunk.records)
        yield RawChunk(frame, chunk.lines, chunk.malformed, chunk.position)


def _parquet_chunks(source: InputFile, chunk_rows: int) -> Iterator[RawChunk]:
    batches = pq.ParquetFile(source.path).iter_batches(
        batch_size=chunk_rows, columns=list(source.columns)
    )
    done = 0
    for table in rebatch(batches, chunk_rows):
        frame = table.to_pandas()
        frame.index = pd.RangeIndex(done, done + len(frame))
        done += len(frame)
        yield RawChunk(frame, None, (), done)


def read_chunks(source: InputFile, chunk_rows: int) -> Generator[RawChunk, None, None]:
    """Chunks of up to ``chunk_rows`` rows in file order, each with the progress after it."""
    chunks = _csv_chunks if source.format == "csv" else _parquet_chunks
    rows = 0
    try:
        for chunk in chunks(source, chunk_rows):
            rows += chunk.rows
            yield chunk
    except READ_ERRORS as error:
        raise BatchInputError(
            f"input {source.path}: cannot read it after row {rows}: {error}"
        ) from error
