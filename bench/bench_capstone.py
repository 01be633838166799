"""Seconds per simulated week of the capstone, with the real service and MLflow, and where the
time goes.

Run ``python -m bench.bench_capstone`` (``make bench-capstone``): the default scenario (26 weeks)
and the same world run for 52 weeks, each from a fresh state directory at 2,000 customers a week.
It prints the total, p50 and p99 of the per-week time, and the time per step summed over the
run. Target: 52 weeks in 60 s or less on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from phase1_foundations.settings import Settings, load_settings, refuse_bad_config
from phase5_capstone.runner import BOOTSTRAP, STEPS, build_context, run
from phase5_capstone.scenario import load_scenario
from phase5_capstone.state import RunPaths

TARGET_52_WEEKS_S = 60.0


@dataclass(frozen=True)
class CapstoneTiming:
    name: str
    weeks: int
    total_s: float
    week_seconds: list[float]
    step_seconds: dict[str, float]

    def render(self) -> str:
        weekly = np.asarray(self.week_seconds)
        lines = [
            f"{self.name}: {self.weeks} weeks in {self.total_s:.1f} s"
            f" ({self.total_s / self.weeks:.2f} s/week); per week"
            f" p50 {np.percentile(weekly, 50):.2f} s, p99 {np.percentile(weekly, 99):.2f} s,"
            f" max {weekly.max():.2f} s",
            "  where the time goes (s, summed over the run):",
        ]
        for step, seconds in sorted(self.step_seconds.items(), key=lambda kv: -kv[1]):
            lines.append(f"    {step:<10} {seconds:7.2f}  ({seconds / self.total_s:5.1%})")
        return "\n".join(lines)


def time_run(scenario_name: str, weeks: int | None, state_dir: Path) -> CapstoneTiming:
    scenario = load_scenario(scenario_name)
    if weeks is not None:
        scenario = scenario.model_copy(update={"weeks": weeks, "name": f"{scenario.name}{weeks}"})
    ctx = build_context(scenario, base=load_settings(Settings, state_dir=state_dir))
    started = time.perf_counter()
    run(ctx, fresh=True, progress=False)
    total = time.perf_counter() - started
    paths = RunPaths.of(state_dir, scenario.name)
    steps: dict[str, float] = {}
    week_seconds = []
    for week in range(scenario.weeks):
        in_week = 0.0
        for name in [*(n for n, _ in STEPS), "retrain"]:
            outcome = paths.read_outcome(week, name)
            seconds = outcome.seconds if outcome else 0.0
            steps[name] = steps.get(name, 0.0) + seconds
            in_week += seconds
        week_seconds.append(in_week)
    setup = paths.read_outcome(-1, BOOTSTRAP)
    steps[BOOTSTRAP] = setup.seconds if setup else 0.0
    steps["startup+other"] = total - sum(steps.values())
    return CapstoneTiming(scenario.name, scenario.weeks, total, week_seconds, steps)


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="default")
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory(prefix="bench-capstone-") as tmp:
        for weeks in (None, 52):
            timing = time_run(args.scenario, weeks, Path(tmp))
            print(timing.render())
            if timing.weeks == 52:
                verdict = "meets" if timing.total_s <= TARGET_52_WEEKS_S else "misses"
                print(f"  52 weeks: {verdict} the {TARGET_52_WEEKS_S:.0f} s target")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
