"""The promotion gate's error rates and cost, measured on the real Telco split.

Run ``python -m bench.bench_gate``. Candidates of *equal skill* (one recipe, two bootstrap
resamples of the training rows, two seeds) measure how often the gate calls noise an improvement
(false superiority) and how often their slice checks block them. Candidates trained on all the
rows against champions trained on a fraction of them measure its power. Every rate is printed
with its Wilson 95% interval; the gate's own time (bootstrap included) with p50 and p99.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from phase1_foundations.settings import get_settings, refuse_bad_config
from phase1_foundations.telco import load_telco
from phase2_pipelines.lesson.controls import Trial, better_candidate_trials, equal_skill_trials
from phase2_pipelines.params import PARAMS_FILE, load_params
from phase2_pipelines.stats import wilson_interval

DEFAULT_EQUAL_TRIALS = 200
DEFAULT_POWER_TRIALS = 100
DEFAULT_FRACTIONS = (0.05, 0.1, 0.25, 0.5)


def rate(count: int, trials: int) -> str:
    low, high = wilson_interval(count, trials)
    return f"{count}/{trials} = {count / trials:.1%} [95% CI {low:.1%}, {high:.1%}]"


def describe(trials: list[Trial]) -> dict[str, str]:
    promoted = sum(t.promote for t in trials)
    differences = np.array([t.difference for t in trials])
    return {
        "promoted": rate(promoted, len(trials)),
        "superior": rate(sum(t.superior for t in trials), len(trials)),
        "slice_blocked": rate(sum(t.slice_blocked for t in trials), len(trials)),
        "mean_dauc": f"{differences.mean():+.4f} (sd {differences.std(ddof=1):.4f})",
    }


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--equal-trials", type=int, default=DEFAULT_EQUAL_TRIALS)
    parser.add_argument("--power-trials", type=int, default=DEFAULT_POWER_TRIALS)
    parser.add_argument("--fractions", type=float, nargs="*", default=list(DEFAULT_FRACTIONS))
    parser.add_argument("--confidence", type=float, help="override gate.confidence")
    parser.add_argument("--superiority-margin", type=float, help="override the margin")
    args = parser.parse_args(argv)
    params = load_params()
    overrides = {
        "confidence": args.confidence,
        "superiority_margin": args.superiority_margin,
    }
    changed = {key: value for key, value in overrides.items() if value is not None}
    if changed:
        params = params.model_copy(update={"gate": params.gate.model_copy(update=changed)})
    splits = load_telco(get_settings())
    gate = params.gate
    print(f"gate from {PARAMS_FILE}: confidence {gate.confidence}, {gate.resamples} resamples,")
    print(f"  superiority_margin {gate.superiority_margin}, slices {list(gate.slices)},")
    print(
        f"  slice_tolerance {gate.slice_tolerance}, min_slice_positives {gate.min_slice_positives}"
    )
    rows = f"{len(splits.train)} training, {len(splits.test)} holdout rows"
    print(f"recipe {params.train.family}; {rows}")
    started = time.perf_counter()
    equal = equal_skill_trials(splits.train, splits.test, params, args.equal_trials)
    found = describe(equal)
    print(f"\nequal skill ({args.equal_trials} pairs, mean dAUC {found['mean_dauc']}):")
    print(f"  false superiority (promoted):  {found['promoted']}")
    print(f"  passed superiority alone:      {found['superior']}")
    print(f"  blocked by a slice check:      {found['slice_blocked']}")
    timings = [t.gate_seconds for t in equal]
    for fraction in args.fractions:
        better = better_candidate_trials(
            splits.train, splits.test, params, args.power_trials, fraction
        )
        timings += [t.gate_seconds for t in better]
        found = describe(better)
        print(
            f"\nbetter candidate: all rows vs a champion on {fraction:.0%} of them"
            f" ({args.power_trials} pairs, mean dAUC {found['mean_dauc']}):"
        )
        print(f"  power (promoted):              {found['promoted']}")
        print(f"  blocked by a slice check:      {found['slice_blocked']}")
    p50, p99 = np.percentile(np.array(timings) * 1000, [50, 99])
    print(f"\ngate decision time over {len(timings)} decisions: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
