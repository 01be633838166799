"""CSV text to contract types: the one parsing rule every CSV reader in the project follows.

A CSV is read with every cell as text: the reader guesses no type and turns no cell into null.
The text is then parsed by one strict rule: a number is a plain ASCII decimal literal (spaces
around it allowed), a blank cell is null, and a category or an id is exactly the text found.
A value that breaks the rule is kept as it was written, so the data contract reports it ("wrong
type", "unknown category") rather than a reader making it null or a number nobody wrote.
Telco loading and ``python -m phase1_foundations validate`` (phase 1), batch scoring (phase 3)
and the monitor's CSV windows (phase 4) all read through this module; rows with the wrong number
of fields are in ``csvrows``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from phase1_foundations.contract import (
    CATEGORICAL_FEATURES,
    COLUMNS_BY_NAME,
    FEATURE_NAMES,
    ID_COLUMN,
    LABEL_COLUMN,
    LABEL_WORDS,
    NumericColumn,
)

# Arrow parses CSV in blocks of this size and reads ahead, so this also bounds the raw text
# held in memory.
CSV_BLOCK_BYTES = 1024 * 1024
# Batches (of one block each) the background reader may hold ready: bounds memory.
READ_AHEAD_BATCHES = 4
# A number in a CSV cell is a plain ASCII decimal literal. "nan", "inf", "1_000" and non-ASCII
# digits are refused, although some parsers accept them and turn them into a value nobody wrote.
DECIMAL_PATTERN = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"

BoolArray = npt.NDArray[np.bool_]
InvalidRowHandler = Callable[[pa_csv.InvalidRow], str]


def text_schema(columns: Iterable[str]) -> pa.Schema:
    """Every column as text; categorical columns dictionary-encoded (still text).

    Dictionary-encoded text turns into pandas categoricals much faster than one string object
    per cell.
    """
    return pa.schema(
        [
            (name, pa.dictionary(pa.int32(), pa.string()))
            if name in CATEGORICAL_FEATURES
            else (name, pa.string())
            for name in columns
        ]
    )


def open_text_csv(
    source: pa.NativeFile | str,
    columns: Iterable[str] | None = None,
    *,
    on_invalid_row: InvalidRowHandler | None = None,
) -> pa_csv.CSVStreamingReader:
    """A streaming reader that keeps every cell as text: no cell is parsed or becomes null.

    The reader runs on one thread: only then does Arrow tell ``on_invalid_row`` the record
    number of a row with the wrong number of fields (with threads it reports None). Empty lines
    are kept as rows of blank cells, so a file's records are its lines, unless a quoted value
    holds a line break.
    """
    schema = text_schema(columns or ())
    return pa_csv.open_csv(
        source,
        read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False),
        parse_options=pa_csv.ParseOptions(
            newlines_in_values=True,
            ignore_empty_lines=False,
            invalid_row_handler=on_invalid_row,
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: schema.field(name).type for name in schema.names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


@dataclass
class TextBatch:
    """One block's rows as text, the rows the reader skipped while reading it, and the offset.

    ``batch`` is None after the last block; ``error`` is what stopped the reader, if anything.
    """

    batch: pa.RecordBatch | None
    skipped: list[pa_csv.InvalidRow] = field(default_factory=list)
    position: int = 0
    error: BaseException | None = None


def _hand_over(ready: queue.Queue[TextBatch], item: TextBatch, stop: threading.Event) -> bool:
    """Queue an item unless the consumer has gone; False when it has."""
    while not stop.is_set():
        try:
            ready.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _read_blocks(
    path: Path, columns: tuple[str, ...], ready: queue.Queue[TextBatch], stop: threading.Event
) -> None:
    skipped: list[pa_csv.InvalidRow] = []

    def skip(row: pa_csv.InvalidRow) -> str:
        skipped.append(row)
        return "skip"

    try:
        with pa.OSFile(str(path)) as handle:
            for batch in open_text_csv(handle, columns, on_invalid_row=skip):
                if not _hand_over(ready, TextBatch(batch, skipped.copy(), handle.tell()), stop):
                    return
                skipped.clear()
            _hand_over(ready, TextBatch(None, skipped.copy(), handle.tell()), stop)
    except BaseException as error:  # handed to the consumer, which raises it
        _hand_over(ready, TextBatch(None, error=error), stop)


def read_text_batches(path: Path, columns: Iterable[str]) -> Iterator[TextBatch]:
    """The file's blocks in order, read (and parsed) on a background thread while you work.

    Arrow releases the GIL while it parses, so reading overlaps the caller's work on the
    rows; the reader itself stays on one thread so malformed rows keep their numbers. The last
    item has no batch. An error in the reader is raised here.
    """
    ready: queue.Queue[TextBatch] = queue.Queue(maxsize=READ_AHEAD_BATCHES)
    stop = threading.Event()
    reader = threading.Thread(
        target=_read_blocks,
        args=(path, tuple(columns), ready, stop),
        name="csv-reader",
        daemon=True,  # never keeps the interpreter alive, even if nobody closes this generator
    )
    reader.start()
    try:
        while True:
            item = ready.get()
            if item.error is not None:
                raise item.error
            yield item
            if item.batch is None:
                return
    finally:
        stop.set()
        reader.join()


def text_array(values: pd.Series) -> pa.Array:
    """The column as Arrow strings (no copy for Arrow-backed text); a missing value is null."""
    return pa.array(values, type=pa.string(), from_pandas=True)


def blank_mask(text: pa.Array) -> BoolArray:
    """Cells that are empty or only whitespace (or already null)."""
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), True)
    return np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)


def parse_numbers(values: pd.Series) -> pd.Series:
    """Parse a text column into numbers without guessing.

    Blank cells become null. When a cell is not a decimal literal, the column comes back as
    objects that keep that cell's original text, so the contract reports it as a wrong type
    rather than a null; a clean column (the common case) comes back as float64.
    """
    text = pc.utf8_trim_whitespace(text_array(values))
    try:
        # Fast path: Arrow's strict float parser accepts exactly the decimal literals plus
        # nan/inf spellings, so an all-finite result means every cell was a decimal literal.
        cast = np.asarray(pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False), float)
        if np.isfinite(cast).all():
            return pd.Series(cast, index=values.index, name=values.name)
    except pa.ArrowInvalid:
        pass
    blank = blank_mask(text)
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
    categorical only makes that check fast. Nothing is stripped or case-folded.
    """
    categorical = values.astype("category")
    blank = [c for c in categorical.cat.categories if not str(c).strip()]
    return categorical.cat.remove_categories(blank) if blank else categorical


def parse_ids(values: pd.Series) -> pd.Series:
    """Customer ids exactly as written (the contract checks their form); blank cells as null."""
    return values.astype(object).mask(blank_mask(text_array(values)))


def parse_labels(values: pd.Series) -> pd.Series:
    """The label column: 1 and 0, or Yes and No as the raw Telco files spell them; anything else
    is kept as written, like any cell that is not a number."""
    return parse_numbers(values.replace({word: str(n) for word, n in LABEL_WORDS.items()}))


def parse_text_column(name: str, values: pd.Series) -> pd.Series:
    """One column of text cells typed by the rule: the id, a feature or the label. A column the
    contract does not name stays text."""
    spec = COLUMNS_BY_NAME.get(name)
    if name == ID_COLUMN:
        return parse_ids(values)
    if name == LABEL_COLUMN:
        return parse_labels(values)
    if isinstance(spec, NumericColumn):
        return parse_numbers(values)
    if spec is not None:
        return parse_categories(values)
    return values


def parse_text_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """The id and feature columns of text cells, typed by the one rule for the contract to check.

    The result is not yet valid: ``validate_frame`` says which rows break the contract.
    """
    columns = (ID_COLUMN, *FEATURE_NAMES)
    return pd.DataFrame({name: parse_text_column(name, raw[name]) for name in columns}, raw.index)


def empty_rows(raw: pd.DataFrame) -> BoolArray:
    """Rows with no value in any cell: an empty line, or a line of bare delimiters."""
    # The id column first: in most files no id is blank, and the other columns need no look.
    names = sorted(raw.columns, key=lambda name: name != ID_COLUMN)
    candidates = np.arange(len(raw))
    for name in names:
        values = raw[name].iloc[candidates]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        candidates = candidates[blank_mask(text_array(values))]
        if len(candidates) == 0:
            break
    empty = np.zeros(len(raw), dtype=bool)
    empty[candidates] = True
    return empty
