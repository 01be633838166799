"""Batch scoring: score a CSV or parquet file of customers chunk by chunk, losing no row.

Every input row lands in exactly one of two files: its score in the output, or its original
values with the reasons in the rejects file. That holds for a CSV line with the wrong number
of fields too: it is rejected with its line and raw text, and the rest of the file is scored.
Memory is bounded by the chunk size: the input is read, checked (``batch_validate``) and both
outputs are written (``batch_output``) a chunk at a time. This module runs it and sums it up.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm  # type: ignore[import-untyped]

from phase3_serving.batch_input import InputFile, open_input, read_chunks
from phase3_serving.batch_output import (
    SCORE_SCHEMA,
    TableSink,
    check_output_paths,
    default_rejects_path,
    rejects_schema,
    score_accepted,
)
from phase3_serving.batch_validate import SeenIds, parse_chunk
from phase3_serving.config import DEFAULT_CHUNK_ROWS
from phase3_serving.model import LoadedModel, ModelLoadError

if TYPE_CHECKING:
    from phase1_foundations.settings import Settings


@dataclass(frozen=True)
class BatchSummary:
    """What a batch run did: row counts (read = scored + rejected), time, and why rows failed.

    ``chunk_seconds`` is each chunk's time from reading it to writing its rows.
    """

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
    chunk_seconds: tuple[float, ...] = ()

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
    chunk_seconds: list[float] = []
    rows_read = 0
    sinks: list[TableSink] = []
    chunks = read_chunks(found, chunk_rows)
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
        chunk_started = time.perf_counter()
        for raw in chunks:
            parsed = parse_chunk(
                raw.frame,
                from_text=raw.from_text,
                seen_ids=seen_ids,
                lines=raw.lines,
                malformed=raw.malformed,
            )
            scores.write(score_accepted(parsed.accepted, model))
            rejected.write(parsed.rejected)
            reasons.update(parsed.reasons)
            rows_read += raw.rows
            bar.update(raw.position - bar.n)
            chunk_ended = time.perf_counter()
            chunk_seconds.append(chunk_ended - chunk_started)
            chunk_started = chunk_ended
        for sink in sinks:
            sink.commit()
    except BaseException:
        for sink in sinks:
            sink.discard()
        raise
    finally:
        chunks.close()  # stops the background reader now, not when the generator is collected
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
        chunk_seconds=tuple(chunk_seconds),
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
