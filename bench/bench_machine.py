"""How fast this machine is right now: the figure to read beside any suite or benchmark time.

Run ``python -m bench.bench_machine`` (``make bench-machine``; CI prints it before and after
``make test``). On a shared machine a wall time moves with the machine: this project's slowest
tests ran about 1.6x longer on one machine of this size than on another, five stops of work
apart, while a smoke capstone run timed back to back at the two commits showed the later one
no slower. A time is comparable only with the machine's speed beside it.

Two fixed single-threaded workloads, each timed ``--reps`` times (median and p99):
- the interpreter: a pure-Python loop of additions (imports, the CLIs, pandas glue);
- numpy: sorting a fixed array of floats (the vectorised half: scoring, bootstraps).
And, on Linux, the share of CPU time the host took away while they ran ("steal", /proc/stat).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LOOP_ADDITIONS = 3_000_000
SORT_FLOATS = 4_000_000
DEFAULT_REPS = 15
PROC_STAT = Path("/proc/stat")


@dataclass(frozen=True)
class Timing:
    """One workload's repeated timings, in milliseconds."""

    name: str
    ms: tuple[float, ...]

    @property
    def median(self) -> float:
        return float(np.percentile(self.ms, 50))

    @property
    def p99(self) -> float:
        return float(np.percentile(self.ms, 99))

    def render(self) -> str:
        return f"{self.name}: median {self.median:.1f} ms, p99 {self.p99:.1f} ms (n={len(self.ms)})"


def python_loop() -> int:
    total = 0
    for i in range(LOOP_ADDITIONS):
        total += i
    return total


def time_reps(name: str, work: Callable[[], object], reps: int) -> Timing:
    ms = []
    for _ in range(reps):
        started = time.perf_counter()
        work()
        ms.append((time.perf_counter() - started) * 1000)
    return Timing(name, tuple(ms))


def cpu_counters() -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs since boot, or None where there is no /proc/stat."""
    try:
        fields = PROC_STAT.read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    counts = [int(field) for field in fields[:8]]  # user .. steal; guest is inside user
    return (counts[7] if len(counts) > 7 else 0), sum(counts)


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def run(reps: int = DEFAULT_REPS) -> tuple[list[Timing], float | None]:
    values = np.random.default_rng(0).random(SORT_FLOATS)
    before = cpu_counters()
    timings = [
        time_reps(f"pure-Python loop ({LOOP_ADDITIONS:,} additions)", python_loop, reps),
        time_reps(f"numpy sort ({SORT_FLOATS:,} floats)", lambda: np.sort(values), reps),
    ]
    return timings, steal_share(before, cpu_counters())


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--reps must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--reps must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_machine", description=__doc__)
    parser.add_argument("--reps", type=positive_int, default=DEFAULT_REPS, help="runs of each")
    args = parser.parse_args(argv)
    timings, steal = run(args.reps)
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    for timing in timings:
        print(f"  {timing.render()}")
    if steal is not None:
        print(f"  CPU time taken by the host while they ran (steal): {steal:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
