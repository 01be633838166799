"""How long one simulated week takes, and how much memory it needs, at a given volume.

Run ``python -m bench.bench_world`` (default: one 1,000,000-row week on the real Telco data).
Calibration (loading the reference and fitting the churn mechanism) happens once per process and
is timed apart from the week itself.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc

import pandas as pd

from phase1_foundations.settings import get_settings, refuse_bad_config
from phase1_foundations.world import World

DEFAULT_ROWS = 1_000_000
BYTES_PER_MB = 1024 * 1024
# ru_maxrss is in kilobytes on Linux and in bytes on macOS.
RSS_UNIT_BYTES = 1 if sys.platform == "darwin" else 1024


def measure_max_rss_mb() -> float:
    """The process's peak resident memory so far (includes Python, pandas and the reference)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * RSS_UNIT_BYTES / BYTES_PER_MB


def run(
    rows: int = DEFAULT_ROWS, seed: int | None = None, reference: pd.DataFrame | None = None
) -> dict[str, float]:
    """Generate one baseline week of ``rows`` customers and measure it.

    The week is generated twice: once untraced for the time, once under tracemalloc for the peak
    of memory allocated while it is built (tracing slows Python-level allocation down).
    """
    world = World(
        get_settings().seed if seed is None else seed, rows_per_week=rows, reference=reference
    )
    started = time.perf_counter()
    _ = world.calibration
    calibrate_seconds = time.perf_counter() - started

    started = time.perf_counter()
    batch = world.week(0)
    week_seconds = time.perf_counter() - started
    emitted = len(batch.features)
    del batch

    tracemalloc.start()
    try:
        world.week(0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {
        "rows": float(emitted),
        "calibrate_seconds": calibrate_seconds,
        "week_seconds": week_seconds,
        "rows_per_second": emitted / week_seconds,
        "peak_traced_mb": peak / BYTES_PER_MB,
        "max_rss_mb": measure_max_rss_mb(),
    }


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="customers in the week")
    parser.add_argument("--seed", type=int, default=None, help="world seed (default: settings)")
    args = parser.parse_args(argv)
    result = run(args.rows, args.seed)
    print(f"rows generated:            {result['rows']:,.0f}")
    print(f"calibration (load + fit):  {result['calibrate_seconds']:.2f} s")
    print(f"one week:                  {result['week_seconds']:.2f} s")
    print(f"throughput:                {result['rows_per_second']:,.0f} rows/s")
    print(f"peak traced memory (week): {result['peak_traced_mb']:.1f} MB (tracemalloc)")
    print(f"peak process memory:       {result['max_rss_mb']:.1f} MB (ru_maxrss)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
