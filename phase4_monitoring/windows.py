"""Read a window to monitor: a CSV or parquet file of customers, or a slice of the prediction log.

CSV cells are read and parsed by the project's one strict text-to-contract rule, phase 1's
``csvrows`` and ``csvtext``. Nothing is
repaired: a value that does not parse stays as it was, for the contract check to report. A file
that cannot be read at all raises ``WindowError`` with one line that names the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from phase1_foundations.contract import (
    CATEGORICAL_FEATURES,
    ID_COLUMN,
    LABEL_COLUMN,
)
from phase1_foundations.csvrows import CsvTextError, read_typed_csv
from phase1_foundations.world import ID_PREFIX, ID_WEEK_DIGITS

READ_ERRORS = (OSError, ValueError, pa.ArrowException)
LOG_SCORE_COLUMN = "churn_probability"
LOG_VERSION_COLUMN = "model_version"
LOG_TIME_COLUMN = "timestamp"
WEEK_PATTERN = re.compile(rf"^{ID_PREFIX}(\d{{{ID_WEEK_DIGITS}}})-")


class WindowError(ValueError):
    """The window cannot be read or is empty; the message is one line and names the problem."""


@dataclass(frozen=True)
class WeekRange:
    """Simulated weeks [first, last], read from the world's customer ids (``w00004-...``)."""

    first: int
    last: int

    @classmethod
    def parse(cls, text: str) -> WeekRange:
        parts = text.split(":")
        try:
            first, last = (int(parts[0]), int(parts[-1])) if len(parts) <= 2 else (-1, -1)
        except ValueError:
            first, last = -1, -1
        if first < 0 or last < first:
            raise WindowError(f"--weeks {text!r}: expected WEEK or FIRST:LAST, e.g. 4:7")
        return cls(first, last)


def read_csv_window(path: Path) -> pd.DataFrame:
    """Every cell as text, then typed column by column: phase 1's one CSV reader."""
    try:
        return read_typed_csv(path)
    except CsvTextError as error:  # names the file, the line or column, and the problem already
        raise WindowError(_first_line(error)) from error
    except READ_ERRORS as error:
        raise WindowError(f"{path}: cannot read it as CSV: {_first_line(error)}") from error


def read_parquet_window(path: Path) -> pd.DataFrame:
    """The columns as stored; text columns of the contract become categoricals (same values)."""
    try:
        frame = pd.read_parquet(path)
    except READ_ERRORS as error:
        raise WindowError(f"{path}: cannot read it as parquet: {_first_line(error)}") from error
    _refuse_repeated(list(frame.columns), path)
    return _categorize(frame)


def read_window(path: Path) -> pd.DataFrame:
    """A CSV or parquet file of customers (with a ``churn`` column when labels are known)."""
    if not path.is_file():
        raise WindowError(f"{path}: no such file")
    readers = {".csv": read_csv_window, ".parquet": read_parquet_window}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise WindowError(f"{path}: unknown suffix {path.suffix!r}; expected .csv or .parquet")
    frame = reader(path)
    if len(frame) == 0:
        raise WindowError(f"{path}: no rows")
    return frame


def read_log_window(
    directory: Path,
    since: datetime | None = None,
    until: datetime | None = None,
    weeks: WeekRange | None = None,
) -> pd.DataFrame:
    """The prediction log's rows in [since, until) and in the given simulated weeks."""
    from phase3_serving.predlog import read_prediction_log

    if not directory.is_dir():
        raise WindowError(f"{directory}: no such prediction log directory")
    try:
        frame = read_prediction_log(directory)
    except READ_ERRORS as error:
        raise WindowError(f"{directory}: cannot read the log: {_first_line(error)}") from error
    if len(frame) and (since or until):
        stamps = pd.to_numeric(frame[LOG_TIME_COLUMN], errors="coerce").to_numpy()
        keep = np.ones(len(frame), dtype=bool)
        if since:
            keep &= stamps >= since.timestamp()
        if until:
            keep &= stamps < until.timestamp()
        frame = frame[keep]
    if len(frame) and weeks:
        week = frame[ID_COLUMN].astype(str).str.extract(WEEK_PATTERN, expand=False)
        number = pd.to_numeric(week, errors="coerce")
        frame = frame[(number >= weeks.first) & (number <= weeks.last)]
    if len(frame) == 0:
        raise WindowError(f"{directory}: no logged predictions in the chosen range")
    return _categorize(frame.reset_index(drop=True))


def attach_labels(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Join released labels (customer id and churn) onto the window by customer id."""
    labels = read_window(path)
    for column in (ID_COLUMN, LABEL_COLUMN):
        if column not in labels.columns:
            raise WindowError(f"{path}: labels need a {column!r} column")
    if ID_COLUMN not in frame.columns:
        raise WindowError(f"the window has no {ID_COLUMN!r} column to join labels on")
    known = labels.drop_duplicates(ID_COLUMN, keep="last").set_index(ID_COLUMN)[LABEL_COLUMN]
    joined = frame.drop(columns=[LABEL_COLUMN], errors="ignore")
    joined[LABEL_COLUMN] = frame[ID_COLUMN].astype(str).map(known.to_dict())
    return joined


def _categorize(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy(deep=False)
    for name in CATEGORICAL_FEATURES:
        if name in out.columns and out[name].dtype == object:
            out[name] = out[name].astype("category")
    return out


def _refuse_repeated(names: list[str], path: Path) -> None:
    repeated = sorted({str(n) for n in names if names.count(n) > 1})
    if repeated:
        raise WindowError(f"{path}: column {repeated[0]!r} appears more than once")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
