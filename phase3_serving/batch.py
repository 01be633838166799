"""Batch scoring: score a CSV or parquet file of customers chunk by chunk, losing no row.

Every input row lands in exactly one of two files: its score in the output, or its original
values with the contract's reasons in the rejects file. CSV cells are read as text and parsed
here by one strict rule (a number is a plain decimal literal, a blank cell is null), never by a
reader's guesses; the data contract then checks types, ranges, categories and ids. Memory is
bounded by the chunk size: the input is read, and both outputs are written, a chunk at a time.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from tqdm import tqdm  # type: ignore[import-untyped]

from phase1_foundations.contract import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    FEATURES,
    ID_COLUMN,
    LABEL_COLUMN,
    ColumnIssue,
    NumericColumn,
    Problem,
    ValidationReport,
    to_model_frame,
    validate_frame,
)
from phase3_serving.model import LoadedModel, ModelLoadError

if TYPE_CHECKING:
    from phase1_foundations.settings import Settings

Format = Literal["csv", "parquet"]
FORMATS: dict[str, Format] = {".csv": "csv", ".parquet": "parquet"}
DEFAULT_CHUNK_ROWS = 50_000
REJECTED_INFIX = ".rejected"
PARTIAL_SUFFIX = ".partial"
# Arrow parses CSV in blocks of this size on background threads and reads up to 32 blocks
# ahead, so this also bounds the raw text held in memory (about 32 MiB).
CSV_BLOCK_BYTES = 1024 * 1024

PROBABILITY_COLUMN = "churn_probability"
DECISION_COLUMN = "churn_decision"
VERSION_COLUMN = "model_version"
INPUT_ROW_COLUMN = "input_row"
REASONS_COLUMN = "reasons"
SCORE_SCHEMA = pa.schema(
    [
        (ID_COLUMN, pa.string()),
        (PROBABILITY_COLUMN, pa.float64()),
        (DECISION_COLUMN, pa.bool_()),
        (VERSION_COLUMN, pa.string()),
    ]
)
# A number in a CSV cell is a plain ASCII decimal literal. "nan", "inf", "1_000" and non-ASCII
# digits are refused, although some parsers accept them and turn them into a value nobody wrote.
DECIMAL_PATTERN = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
DUPLICATE_ID_REASON = f"{ID_COLUMN}: {Problem.DUPLICATE_ID.value}"
DUPLICATE_COLUMN = "duplicate column"
EXAMPLES_SHOWN = 3
READ_ERRORS = (OSError, ValueError, pa.ArrowException)
REQUIRED_COLUMNS = frozenset({ID_COLUMN, *FEATURE_NAMES})
ALLOWED_EXTRA = frozenset({LABEL_COLUMN})

BoolArray = npt.NDArray[np.bool_]


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


def _text_array(values: pd.Series) -> pa.Array:
    """The column as Arrow strings (no copy for Arrow-backed text); a missing value is null."""
    return pa.array(values, type=pa.string(), from_pandas=True)


def _blank_mask(text: pa.Array) -> BoolArray:
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), True)
    return np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)


def parse_numbers(values: pd.Series) -> pd.Series:
    """Parse a text column into numbers without guessing.

    Blank cells become null. When a cell is not a decimal literal, the column comes back as
    objects that keep that cell's original text, so the contract reports it as a wrong type
    rather than a null; a clean column (the common case) comes back as float64.
    """
    text = pc.utf8_trim_whitespace(_text_array(values))
    try:
        # Fast path: Arrow's strict float parser accepts exactly the decimal literals plus
        # nan/inf spellings, so an all-finite result means every cell was a decimal literal.
        cast = np.asarray(pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False), float)
        if np.isfinite(cast).all():
            return pd.Series(cast, index=values.index, name=values.name)
    except pa.ArrowInvalid:
        pass
    blank = _blank_mask(text)
    decimal = pc.fill_null(pc.match_substring_regex(text, DECIMAL_PATTERN), False)
    parsed = pc.cast(pc.if_else(decimal, text, pa.scalar(None, pa.string())), pa.float64())
    numbers = np.asarray(parsed.to_numpy(zero_copy_only=False), dtype=np.float64)
    wrong = ~np.asarray(decimal.to_numpy(zero_copy_only=False), dtype=bool) & ~blank
    if not wrong.any():
        return pd.Series(numbers, index=values.index, name=values.name)
    kept = numbers.astype(object)
    kept[blank] = None
    kept[wrong] = values.to_numpy(dtype=object)[wrong]
    return pd.Series(kept, index=values.index, name=values.name, dtype=object)


def parse_categories(values: pd.Series) -> pd.Series:
    """A text column as a categorical of the very strings found, blank cells as null.

    Unknown strings stay, as categories of their own, for the contract to report; the
    categorical only makes that check fast.
    """
    categorical = values.astype("category")
    blank = [c for c in categorical.cat.categories if not str(c).strip()]
    return categorical.cat.remove_categories(blank) if blank else categorical


def type_text_chunk(raw: pd.DataFrame) -> pd.DataFrame:
    """The id and feature columns of a text chunk, typed for the contract to check."""
    ids = raw[ID_COLUMN]
    typed: dict[str, pd.Series] = {
        ID_COLUMN: ids.astype(object).mask(_blank_mask(_text_array(ids)))
    }
    for spec in FEATURES:
        values = raw[spec.name]
        if isinstance(spec, NumericColumn):
            typed[spec.name] = parse_numbers(values)
        else:
            typed[spec.name] = parse_categories(values)
    return pd.DataFrame(typed, index=raw.index)


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
    """One chunk split by the contract: typed rows to score, original rows to reject."""

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    report: ValidationReport

    def reason_counts(self) -> Counter[str]:
        """Rows per reason (a row with two problems counts under both)."""
        return Counter({reason: int(mask.sum()) for reason, mask in self.report.row_masks})


def _is_null(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and bool(np.isnan(value))


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The values as given, as text (null stays null), for the rejects file.

    Arrow casts whole columns (CSV text passes through unchanged); a column Arrow cannot cast,
    such as one mixing types, is converted value by value.
    """
    text_type = pd.ArrowDtype(pa.string())
    columns: dict[str, pd.Series] = {}
    for name, column in frame.items():
        try:
            text = pc.cast(pa.array(column, from_pandas=True), pa.string())
            columns[str(name)] = pd.Series(
                pd.arrays.ArrowExtensionArray(text), index=frame.index, dtype=text_type
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            values = [None if _is_null(v) else str(v) for v in column.astype(object)]
            columns[str(name)] = pd.Series(values, index=frame.index, dtype=text_type)
    return pd.DataFrame(columns, index=frame.index)


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
    raw: pd.DataFrame, *, from_text: bool = True, seen_ids: SeenIds | None = None
) -> ParsedChunk:
    """Type a raw chunk, check it against the contract, and split it into accepted and rejected.

    ``from_text`` chunks (CSV) hold every value as text and are parsed here; otherwise
    (parquet) the column types are checked as they are. ``raw``'s index is taken as the input
    row number. ``accepted`` holds the id and the features in contract dtypes; ``rejected``
    holds the original values as text, the input row and the '; '-joined reasons.
    """
    check_columns(raw.columns)
    typed = type_text_chunk(raw) if from_text else raw[[ID_COLUMN, *FEATURE_NAMES]]
    report = validate_frame(typed, require_id=True)
    if seen_ids is not None:
        _flag_repeated_ids(report, typed[ID_COLUMN], seen_ids)
    bad = report.bad_rows
    good_rows = typed[~bad]
    accepted = to_model_frame(good_rows[list(FEATURE_NAMES)])
    accepted.insert(0, ID_COLUMN, good_rows[ID_COLUMN].astype(str))
    rejected = _as_text(raw[bad])
    rejected[INPUT_ROW_COLUMN] = np.asarray(raw.index[bad], dtype=np.int64)
    rejected[REASONS_COLUMN] = report.rejection_reasons().to_numpy()
    return ParsedChunk(accepted=accepted, rejected=rejected, report=report)


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


def _open_csv(source: pa.NativeFile, columns: Iterable[str] | None) -> pa_csv.CSVStreamingReader:
    """A streaming reader that keeps every cell as text: no cell is parsed or becomes null.

    Categorical columns are read dictionary-encoded (still text) because that is much faster
    to turn into pandas categoricals than one string object per cell.
    """
    column_types = {
        name: pa.dictionary(pa.int32(), pa.string())
        if name in CATEGORICAL_FEATURES
        else pa.string()
        for name in columns or ()
    }
    return pa_csv.open_csv(
        source,
        read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=column_types,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


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
            with pa.OSFile(str(path)) as handle:
                columns = tuple(_open_csv(handle, None).schema.names)
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


def _rebatch(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
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


def _arrow_chunks(source: InputFile, chunk_rows: int) -> Iterator[tuple[pa.Table, int]]:
    """Tables of ``chunk_rows`` rows, each with the progress position (bytes or rows) after it."""
    if source.format == "csv":
        with pa.OSFile(str(source.path)) as handle:
            reader = _open_csv(handle, source.columns)
            for table in _rebatch(reader, chunk_rows):
                yield table, handle.tell()
        return
    batches = pq.ParquetFile(source.path).iter_batches(
        batch_size=chunk_rows, columns=list(source.columns)
    )
    done = 0
    for table in _rebatch(batches, chunk_rows):
        done += table.num_rows
        yield table, done


def read_chunks(source: InputFile, chunk_rows: int) -> Iterator[tuple[pd.DataFrame, int]]:
    """Raw chunks indexed by input row number, each with the progress position after it.

    CSV chunks hold text only (Arrow-backed strings, or categoricals of strings); parquet
    chunks hold the column types as stored.
    """
    text_mapper = {pa.string(): pd.ArrowDtype(pa.string())}.get
    offset = 0
    try:
        for table, position in _arrow_chunks(source, chunk_rows):
            # CSV text stays in Arrow (no Python string per cell); parquet keeps its types.
            frame = table.to_pandas(types_mapper=text_mapper if source.format == "csv" else None)
            frame.index = pd.RangeIndex(offset, offset + len(frame))
            offset += len(frame)
            yield frame, position
    except READ_ERRORS as error:
        raise BatchInputError(
            f"input {source.path}: cannot read it after row {offset}: {error}"
        ) from error


class TableSink:
    """Appends frames with a fixed schema to a CSV or parquet file that appears only when done.

    Rows go to a hidden ``.partial`` file beside the target and ``commit`` moves it into place,
    so a failed run never leaves a half-written file that looks complete.
    """

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


def rejects_schema(columns: Iterable[str]) -> pa.Schema:
    """Every input column as text, then the input row number and the reasons."""
    fields = [(name, pa.string()) for name in columns]
    return pa.schema([*fields, (INPUT_ROW_COLUMN, pa.int64()), (REASONS_COLUMN, pa.string())])


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


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did: row counts (read = scored + rejected), time, and why rows failed."""

    source: Path
    output: Path
    rejects: Path
    model: str
    threshold: float
    rows_read: int
    rows_scored: int
    rows_rejected: int
    seconds: float
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def render(self) -> str:
        lines = [
            f"read     {self.rows_read:>12,} rows from {self.source}",
            f"scored   {self.rows_scored:>12,} rows -> {self.output}"
            f" ({self.model}, threshold {self.threshold:g})",
            f"rejected {self.rows_rejected:>12,} rows -> {self.rejects}",
        ]
        lines += [
            f"  {reason}: {rows:,} row(s)"
            for reason, rows in sorted(self.reasons.items(), key=lambda item: -item[1])
        ]
        lines.append(f"took {self.seconds:.2f} s: {self.rows_per_second:,.0f} rows/s")
        return "\n".join(lines)


def score_file(
    model: LoadedModel,
    source: Path | InputFile,
    output: Path,
    *,
    rejects: Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: bool = True,
) -> BatchSummary:
    """Score every valid row of ``source`` into ``output`` and write the rest to ``rejects``.

    Raises ``BatchInputError``, and leaves neither output behind, when the input is unusable.
    """
    if chunk_rows <= 0:
        raise ValueError(f"chunk_rows: must be a positive number of rows, got {chunk_rows}")
    started = time.perf_counter()
    found = source if isinstance(source, InputFile) else open_input(source)
    rejects = rejects or default_rejects_path(output)
    check_output_paths(found.path, output, rejects)
    seen_ids = SeenIds()
    reasons: Counter[str] = Counter()
    rows_read = 0
    sinks: list[TableSink] = []
    bar = tqdm(
        total=found.size,
        unit=found.size_unit,
        unit_scale=True,
        desc=found.path.name,
        disable=not progress,
    )
    try:
        scores = TableSink(output, SCORE_SCHEMA)
        sinks.append(scores)
        rejected = TableSink(rejects, rejects_schema(found.columns))
        sinks.append(rejected)
        for raw, position in read_chunks(found, chunk_rows):
            parsed = parse_chunk(raw, from_text=found.format == "csv", seen_ids=seen_ids)
            scores.write(score_accepted(parsed.accepted, model))
            rejected.write(parsed.rejected)
            reasons.update(parsed.reason_counts())
            rows_read += len(raw)
            bar.update(position - bar.n)
        for sink in sinks:
            sink.commit()
    except BaseException:
        for sink in sinks:
            sink.discard()
        raise
    finally:
        bar.close()
    return BatchSummary(
        source=found.path,
        output=output,
        rejects=rejects,
        model=f"{model.name} v{model.version}",
        threshold=model.threshold,
        rows_read=rows_read,
        rows_scored=scores.rows,
        rows_rejected=rejected.rows,
        seconds=time.perf_counter() - started,
        reasons=dict(reasons),
    )


def load_batch_model(settings: Settings, name: str, alias: str) -> LoadedModel:
    """The model ``name@alias`` from the registry the settings point at.

    Failing to reach the registry is a ``ModelLoadError``, like failing verification.
    """
    from mlflow.exceptions import MlflowException

    from phase2_pipelines.tracking import configure_mlflow
    from phase3_serving.model import load_model

    try:
        configure_mlflow(settings)
    except (MlflowException, OSError) as error:
        raise ModelLoadError(
            f"cannot reach the registry at {settings.tracking_uri}: {error}"
        ) from error
    return load_model(name, alias)
