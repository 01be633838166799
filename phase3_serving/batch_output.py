"""Batch scoring's outputs: the scores file and the rejects file, each written a chunk at a time.

Both appear only when the run completes: rows go to a hidden ``.partial`` file that is moved
into place at the end, so a failed run never leaves a half-written file that looks complete.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from phase1_foundations.contract import ID_COLUMN
from phase3_serving.batch_input import BatchInputError, read_format
from phase3_serving.batch_validate import (
    INPUT_ROW_COLUMN,
    LINE_COLUMN,
    RAW_TEXT_COLUMN,
    REASONS_COLUMN,
)
from phase3_serving.model import LoadedModel

REJECTED_INFIX = ".rejected"
PARTIAL_SUFFIX = ".partial"
PROBABILITY_COLUMN = "churn_probability"
DECISION_COLUMN = "churn_decision"
VERSION_COLUMN = "model_version"
SCORE_SCHEMA = pa.schema(
    [
        (ID_COLUMN, pa.string()),
        (PROBABILITY_COLUMN, pa.float64()),
        (DECISION_COLUMN, pa.bool_()),
        (VERSION_COLUMN, pa.string()),
    ]
)


def score_accepted(accepted: pd.DataFrame, model: LoadedModel) -> pd.DataFrame:
    """The output rows: id, churn probability, decision at the model's threshold, version."""
    probabilities = model.score(accepted) if len(accepted) else np.empty(0, dtype=np.float64)
    return pd.DataFrame(
        {
            ID_COLUMN: accepted[ID_COLUMN].to_numpy(dtype=object),
            PROBABILITY_COLUMN: probabilities,
            DECISION_COLUMN: probabilities >= model.threshold,
            VERSION_COLUMN: model.version,
        }
    )


def rejects_schema(columns: Iterable[str]) -> pa.Schema:
    """Every input column as text, then where the row is, why, and a malformed row's text.

    ``line`` is the line a CSV row starts on (the header is line 1); it is null for parquet.
    """
    fields = [(name, pa.string()) for name in columns]
    return pa.schema(
        [
            *fields,
            (INPUT_ROW_COLUMN, pa.int64()),
            (LINE_COLUMN, pa.int64()),
            (REASONS_COLUMN, pa.string()),
            (RAW_TEXT_COLUMN, pa.string()),
        ]
    )


def default_rejects_path(output: Path) -> Path:
    """``scores.parquet`` -> ``scores.rejected.parquet``: beside the output, same format."""
    return output.with_name(f"{output.stem}{REJECTED_INFIX}{output.suffix}")


def check_output_paths(source: Path, output: Path, rejects: Path) -> None:
    """Refuse unknown suffixes, and outputs that would overwrite the input or each other."""
    read_format(output, "output")
    read_format(rejects, "rejects")
    resolved = [p.resolve() for p in (source, output, rejects)]
    if len(set(resolved)) < len(resolved):
        raise BatchInputError(
            f"input {source}, output {output} and rejects {rejects} must be three different files"
        )


class TableSink:
    """Appends frames with a fixed schema to a CSV or parquet file that appears only when done."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.partial = path.with_name(f".{path.name}{PARTIAL_SUFFIX}")
        self.rows = 0
        file_format = read_format(path, "output")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if file_format == "parquet":
                self._writer = pq.ParquetWriter(self.partial, schema)
            else:
                self._writer = pa_csv.CSVWriter(self.partial, schema)
        except OSError as error:
            raise BatchInputError(f"output {path}: cannot write it: {error}") from error

    def write(self, frame: pd.DataFrame) -> None:
        if len(frame) == 0:
            return
        self._writer.write_table(
            pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        )
        self.rows += len(frame)

    def commit(self) -> None:
        self._writer.close()
        os.replace(self.partial, self.path)

    def discard(self) -> None:
        self._writer.close()
        self.partial.unlink(missing_ok=True)
