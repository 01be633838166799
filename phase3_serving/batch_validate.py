"""Batch scoring's checks: split each chunk into rows to score and rows to reject, with reasons.

Text (CSV) is typed by phase 1's one parsing rule (``csvtext``); the data contract then checks
types, ranges, categories and ids, and ``SeenIds`` extends its duplicate check across chunks.
A rejected row keeps its original values as text, its input row, the line it starts on (CSV),
and every reason; a row that could not be split into columns keeps its raw text instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from phase1_foundations.contract import (
    FEATURE_NAMES,
    ID_COLUMN,
    ColumnIssue,
    Problem,
    ValidationReport,
    to_model_frame,
    validate_frame,
)
from phase1_foundations.csvrows import MalformedRow
from phase1_foundations.csvtext import empty_rows, parse_text_frame
from phase3_serving.batch_input import check_columns

INPUT_ROW_COLUMN = "input_row"
LINE_COLUMN = "line"
REASONS_COLUMN = "reasons"
RAW_TEXT_COLUMN = "raw_text"
EMPTY_ROW_REASON = "empty row: no value in any column"
DUPLICATE_ID_REASON = f"{ID_COLUMN}: {Problem.DUPLICATE_ID.value}"
EXAMPLES_SHOWN = 3
TEXT = pd.ArrowDtype(pa.string())

BoolArray = npt.NDArray[np.bool_]


class SeenIds:
    """Hashes of the ids met in earlier chunks, so a repeated id is rejected whatever the chunk.

    The contract finds duplicates within one frame; this extends that across chunks while
    keeping 8 bytes per id instead of the ids. Two different ids share a 64-bit hash with a
    probability of about n^2 / 2^65: under 3e-8 for a million rows.
    """

    def __init__(self) -> None:
        self._sorted: npt.NDArray[np.uint64] = np.empty(0, dtype=np.uint64)

    def flag_repeats(self, ids: pd.Series) -> BoolArray:
        """Rows whose (non-null) id appeared in an earlier chunk; then remember this chunk's."""
        hashes = np.asarray(
            pd.util.hash_pandas_object(ids, index=False, categorize=False), dtype=np.uint64
        )
        # Looking up sorted hashes walks the sorted store in order, which is several times
        # faster than random probes, and gives the insert positions for free.
        order = np.argsort(hashes)
        ordered = hashes[order]
        positions = np.searchsorted(self._sorted, ordered)
        found = np.zeros(len(ordered), dtype=bool)
        if len(self._sorted):
            found = self._sorted[np.minimum(positions, len(self._sorted) - 1)] == ordered
        seen = np.empty_like(found)
        seen[order] = found
        present = ids.notna().to_numpy()
        new = present[order] & ~found
        new[1:] &= ordered[1:] != ordered[:-1]  # each new hash once
        self._sorted = np.insert(self._sorted, positions[new], ordered[new])
        return np.asarray(present & seen, dtype=bool)


@dataclass(frozen=True)
class ParsedChunk:
    """One chunk split: typed rows to score, and rows to reject in input order, with reasons.

    ``reasons`` counts rows per reason (a row with two problems counts under both).
    """

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    reasons: Counter[str]


def _is_null(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and bool(np.isnan(value))


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The values as given, as text (null stays null), for the rejects file.

    Arrow casts whole columns (CSV text passes through unchanged); a column Arrow cannot cast,
    such as one mixing types, is converted value by value.
    """
    columns: dict[str, pd.Series] = {}
    for name, column in frame.items():
        try:
            text = pc.cast(pa.array(column, from_pandas=True), pa.string())
            columns[str(name)] = pd.Series(
                pd.arrays.ArrowExtensionArray(text), index=frame.index, dtype=TEXT
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            values = [None if _is_null(v) else str(v) for v in column.astype(object)]
            columns[str(name)] = pd.Series(values, index=frame.index, dtype=TEXT)
    return pd.DataFrame(columns, index=frame.index)


def _rejects(
    rows: pd.DataFrame, lines: npt.NDArray[np.int64] | None, reasons: Sequence[str]
) -> pd.DataFrame:
    """Rejected rows as the rejects file holds them: original text, where, why."""
    rejected = _as_text(rows)
    rejected[INPUT_ROW_COLUMN] = np.asarray(rows.index, dtype=np.int64)
    rejected[LINE_COLUMN] = pd.array(lines if lines is not None else [None] * len(rows), "Int64")
    rejected[REASONS_COLUMN] = np.asarray(reasons, dtype=object)
    rejected[RAW_TEXT_COLUMN] = pd.Series([None] * len(rows), index=rows.index, dtype=TEXT)
    return rejected


def _malformed_rejects(columns: Sequence[str], malformed: Sequence[MalformedRow]) -> pd.DataFrame:
    """Rows that could not be split into columns: no values, only their raw text."""
    index = pd.Index([row.record for row in malformed])
    frame = pd.DataFrame({name: pd.Series(None, index=index, dtype=TEXT) for name in columns})
    rejected = _rejects(
        frame, np.array([row.line for row in malformed]), [row.reason for row in malformed]
    )
    rejected[RAW_TEXT_COLUMN] = pd.Series([row.text for row in malformed], index=index, dtype=TEXT)
    return rejected


def _flag_repeated_ids(report: ValidationReport, ids: pd.Series, seen_ids: SeenIds) -> None:
    """Report ids met in earlier chunks the way the contract reports repeats within one."""
    repeats = seen_ids.flag_repeats(ids.reset_index(drop=True))
    for reason, mask in report.row_masks:
        if reason == DUPLICATE_ID_REASON:
            repeats &= ~mask  # repeated within this chunk too: one reason is enough
    count = int(repeats.sum())
    if count == 0:
        return
    examples = tuple(repr(v) for v in pd.unique(ids.to_numpy()[repeats])[:EXAMPLES_SHOWN])
    report.issues.append(ColumnIssue(ID_COLUMN, Problem.DUPLICATE_ID, count, examples))
    report.row_masks.append((DUPLICATE_ID_REASON, repeats))
    report.bad_rows |= repeats


def parse_chunk(
    raw: pd.DataFrame,
    *,
    from_text: bool = True,
    seen_ids: SeenIds | None = None,
    lines: npt.NDArray[np.int64] | None = None,
    malformed: Sequence[MalformedRow] = (),
) -> ParsedChunk:
    """Type a raw chunk, check it against the contract, and split it into accepted and rejected.

    ``from_text`` chunks (CSV) hold every value as text and are parsed here; otherwise
    (parquet) the column types are checked as they are. ``raw``'s index is taken as the input
    row number, and ``lines`` (CSV) as where each row starts. ``accepted`` holds the id and
    the features in contract dtypes; ``rejected`` holds the original values as text, the
    input row, the line, the '; '-joined reasons, and the raw text of ``malformed`` rows.
    """
    check_columns(raw.columns)
    empty = empty_rows(raw) if from_text else np.zeros(len(raw), dtype=bool)
    rows, row_lines = raw, lines
    if empty.any():
        rows, row_lines = raw[~empty], None if lines is None else lines[~empty]
    typed = parse_text_frame(rows) if from_text else rows[[ID_COLUMN, *FEATURE_NAMES]]
    report = validate_frame(typed, require_id=True)
    if seen_ids is not None:
        _flag_repeated_ids(report, typed[ID_COLUMN], seen_ids)
    bad = report.bad_rows
    good_rows = typed[~bad]
    accepted = to_model_frame(good_rows[list(FEATURE_NAMES)])
    accepted.insert(0, ID_COLUMN, good_rows[ID_COLUMN].astype(str))
    reasons = Counter({reason: int(mask.sum()) for reason, mask in report.row_masks})
    bad_lines = None if row_lines is None else row_lines[bad]
    parts = [_rejects(rows[bad], bad_lines, report.rejection_reasons().tolist())]
    if empty.any():
        empty_lines = None if lines is None else lines[empty]
        parts.append(_rejects(raw[empty], empty_lines, [EMPTY_ROW_REASON] * int(empty.sum())))
        reasons[EMPTY_ROW_REASON] += int(empty.sum())
    if malformed:
        parts.append(_malformed_rejects([str(c) for c in raw.columns], malformed))
        reasons.update(row.reason for row in malformed)
    rejected = parts[0]
    if len(parts) > 1:
        rejected = pd.concat(parts).sort_values(INPUT_ROW_COLUMN, kind="stable")
    return ParsedChunk(accepted=accepted, rejected=rejected, reasons=+reasons)
