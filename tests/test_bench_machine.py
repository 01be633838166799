"""The machine benchmark prints its figures, and they move with the CPU the process gets."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from bench import bench_machine

# Says so once it runs, then keeps its core busy until it is killed.
SPIN = "print('spinning', flush=True)\nwhile True: pass"
FIGURE = re.compile(r"^  (.+): median ([\d.]+) ms, p99 ([\d.]+) ms \(n=(\d+)\)$", re.M)


def test_it_prints_the_median_and_p99_of_each_workload(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_machine.main(["--reps", "4"]) == 0
    out = capsys.readouterr().out
    figures = FIGURE.findall(out)
    assert [name.split(" (")[0] for name, *_ in figures] == ["pure-Python loop", "numpy sort"]
    for _, median, p99, n in figures:
        assert n == "4"
        assert 0 < float(median) <= float(p99)
    if os.path.exists("/proc/stat"):
        assert re.search(r"\(steal\): \d+\.\d%$", out, re.M)


@pytest.mark.parametrize("reps", ["0", "-3", "many"])
def test_a_bad_reps_names_the_option(reps: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        bench_machine.main(["--reps", reps])
    assert stopped.value.code == 2
    assert "--reps must be" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_a_busy_core_slows_the_loop_it_shares() -> None:
    """The peer: the same loop on the same core, alone and beside a process spinning there.
    Sharing a core halves a CPU-bound loop's share of it, so the figure must grow: a benchmark
    that timed something other than the CPU it got (a sleep, a cached result) would not. Each
    side keeps its fastest of four runs, the one least disturbed by the rest of the machine
    (the test suite's other worker runs beside it)."""
    core = min(os.sched_getaffinity(0))
    saved = os.sched_getaffinity(0)
    spin = [sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{core}}}); {SPIN}"]
    os.sched_setaffinity(0, {core})
    try:
        ratios = []
        for _ in range(3):
            alone = min(bench_machine.time_reps("loop", bench_machine.python_loop, 4).ms)
            with subprocess.Popen(spin, stdout=subprocess.PIPE) as spinner:  # waited for on exit
                try:
                    assert spinner.stdout is not None
                    assert spinner.stdout.readline() == b"spinning\n"  # on the core now
                    shared = min(bench_machine.time_reps("loop", bench_machine.python_loop, 4).ms)
                finally:
                    spinner.kill()
            ratios.append(shared / alone)
    finally:
        os.sched_setaffinity(0, saved)
    ratios.sort()
    print(f"loop time beside a spinner on the same core / alone: {ratios}")
    assert ratios[1] > 1.25, ratios
