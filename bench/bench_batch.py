"""How fast batch scoring runs, end to end, on a CSV and a parquet file of simulated customers.

Run ``python -m bench.bench_batch`` (default: 1,000,000 rows, both formats). The customers come
from one world week; the model is the configured pipeline fitted in-process on the Telco training
split, so no registry is needed. Writing the input files is not timed; scoring them is, from
opening the input to the last output row written (reading, parsing, the contract, the model).
Each format is scored ``--repeat`` times; the rows/s is the median run's, and the chunk times
(read, check, score and write one chunk) are pooled over every run for their p50 and p99.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.settings import refuse_bad_config
from phase1_foundations.telco import load_telco
from phase1_foundations.world import World
from phase2_pipelines.params import load_params
from phase2_pipelines.train import fit_model
from phase3_serving.batch import BatchSummary, score_file
from phase3_serving.config import DEFAULT_CHUNK_ROWS
from phase3_serving.model import LoadedModel

DEFAULT_ROWS = 1_000_000
DEFAULT_SEED = 1
DEFAULT_REPEAT = 3
FORMATS = ("csv", "parquet")
BYTES_PER_MB = 1024 * 1024
# ru_maxrss is in kilobytes on Linux and in bytes on macOS.
RSS_UNIT_BYTES = 1 if sys.platform == "darwin" else 1024


def fit_bench_model(train: pd.DataFrame) -> LoadedModel:
    """The configured pipeline fitted on ``train``, wrapped as the service would load it."""
    params = load_params()
    return LoadedModel(
        name="bench",
        alias="none",
        version="0",
        run_id="",
        pipeline=fit_model(train, params.train),
        checksum="",
        threshold=params.evaluate.threshold,
        data_fingerprint=None,
        trained_at=None,
    )


def write_customers(rows: int, seed: int, directory: Path, reference: pd.DataFrame | None) -> Path:
    """One world week of ``rows`` customers as a parquet file (the CSV is derived from it)."""
    features = World(seed, rows_per_week=rows, reference=reference).week(0).features
    path = directory / "customers.parquet"
    features.to_parquet(path, index=False)
    return path


@dataclass(frozen=True)
class FormatResult:
    """Every run of one format; the figures the bench prints are derived here."""

    runs: tuple[BatchSummary, ...]

    @property
    def median_run(self) -> BatchSummary:
        return sorted(self.runs, key=lambda run: run.seconds)[len(self.runs) // 2]

    @property
    def chunk_seconds(self) -> np.ndarray:
        return np.array([s for run in self.runs for s in run.chunk_seconds], dtype=np.float64)

    def chunk_ms(self, percentile: float) -> float:
        return float(np.percentile(self.chunk_seconds, percentile) * 1000)

    def render(self, name: str) -> str:
        run = self.median_run
        spread = statistics.pstdev([r.rows_per_second for r in self.runs])
        chunk_rows = max(r.rows_read for r in self.runs) // max(len(run.chunk_seconds), 1)
        return (
            f"{name:<8} {run.rows_read:>10,} rows in {run.seconds:6.2f} s:"
            f" {run.rows_per_second:>10,.0f} rows/s (median of {len(self.runs)},"
            f" sd {spread:,.0f}; {run.rows_scored:,} scored, {run.rows_rejected:,} rejected)\n"
            f"{'':<8} per chunk of ~{chunk_rows:,} rows: p50 {self.chunk_ms(50):.1f} ms,"
            f" p99 {self.chunk_ms(99):.1f} ms (n={len(self.chunk_seconds)})"
        )


def run(
    rows: int = DEFAULT_ROWS,
    seed: int = DEFAULT_SEED,
    formats: tuple[str, ...] = FORMATS,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    reference: pd.DataFrame | None = None,
    repeat: int = 1,
) -> dict[str, FormatResult]:
    """Score ``rows`` customers in each format ``repeat`` times (formats interleaved).

    A labeled ``reference`` replaces the Telco data.
    """
    train = load_telco().train if reference is None else reference
    if LABEL_COLUMN not in train.columns:
        raise ValueError(f"reference: needs the {LABEL_COLUMN!r} column to fit the model")
    model = fit_bench_model(train)
    runs: dict[str, list[BatchSummary]] = {file_format: [] for file_format in formats}
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as scratch:
        directory = Path(scratch)
        sources = {"parquet": write_customers(rows, seed, directory, reference)}
        if "csv" in formats:
            sources["csv"] = directory / "customers.csv"
            pd.read_parquet(sources["parquet"]).to_csv(sources["csv"], index=False)
        for _ in range(repeat):
            for file_format in formats:
                summary = score_file(
                    model,
                    sources[file_format],
                    directory / f"scores.{file_format}",
                    chunk_rows=chunk_rows,
                    progress=False,
                )
                runs[file_format].append(summary)
    return {name: FormatResult(tuple(summaries)) for name, summaries in runs.items()}


def measure_max_rss_mb() -> float:
    """The process's peak resident memory so far (includes generating the input)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * RSS_UNIT_BYTES / BYTES_PER_MB


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="customers to score")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="world seed")
    parser.add_argument("--format", choices=FORMATS, action="append", help="default: both")
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="runs per format")
    args = parser.parse_args(argv)
    formats = tuple(args.format) if args.format else FORMATS
    results = run(args.rows, args.seed, formats, args.chunk_rows, repeat=args.repeat)
    for file_format, result in results.items():
        print(result.render(file_format))
    print(f"peak process memory: {measure_max_rss_mb():.1f} MB (ru_maxrss)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
