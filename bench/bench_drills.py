"""Do the drills reward judgment? Scripted on-call policies played through every drill.

Run ``python -m bench.bench_drills`` (``make bench-drills``). Every drill of the catalogue is
played on the real system (``simulator.engine``) for each seed, once with nobody acting; the
other policies (``simulator.policies``) fork that run the week they declare, declare, and play
to the end. A policy acts once, so until its declaration its drill is the silent one.

Two runbooks play the lookup: the fixed one (each signal's textbook cause and fix) and one
fitted in hindsight to these very drills (each first alert's most common cause), the strongest a
table could be. It prints the mean score (of 100) per policy, per drill, the targets, and the
seconds per drill played (median, p99). Exit code 1 when a target is missed.

Targets: expert >= 95, lookup <= 60, late <= 55, silent and panic <= 35 (means over the drills
and seeds), and in each control drill silence scores at least as much as every policy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from phase1_foundations.logs import configure_logging
from phase1_foundations.settings import Settings, load_settings, refuse_bad_config
from simulator.drills import DrillSpec, load_catalogue
from simulator.engine import advance, declare, finish, fork_drill, start_drill, week_signals
from simulator.policies import (
    POLICIES,
    RUNBOOK,
    WHAT_THEY_DO,
    Plan,
    Rule,
    fitted_runbook,
    plan,
)
from simulator.records import DrillRecord

TARGETS = {"expert": (">=", 95.0), "lookup": ("<=", 60.0), "late": ("<=", 55.0)}
TARGETS |= {"silent": ("<=", 35.0), "panic": ("<=", 35.0), "lookup (fitted)": ("<=", 60.0)}
FITTED = "lookup (fitted)"
ROWS = (*POLICIES[:2], "lookup", FITTED, *POLICIES[3:])


@dataclass
class Trunk:
    """One drill and seed played with nobody acting, and the forks waiting for a declaration."""

    spec: DrillSpec
    seed: int
    record: DrillRecord
    fired: list[frozenset[str]] = field(default_factory=list)
    forks: dict[str, tuple[str, Plan | None]] = field(default_factory=dict)  # policy -> (id, plan)
    scores: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def _fork_at(trunk: Trunk, name: str, settings: Settings) -> str:
    """A copy of the trunk as it stands (before the week it is about to play)."""
    drill_id = f"{trunk.record.drill_id}-{name.replace(' ', '_').replace('(', '').replace(')', '')}"
    fork_drill(trunk.record.drill_id, drill_id, settings=settings)
    return drill_id


def play_trunk(spec: DrillSpec, seed: int, settings: Settings) -> Trunk:
    """The silent run, week by week, forking each policy's copy the week it declares."""
    started = time.perf_counter()
    record = start_drill(spec.name, seed=seed, settings=settings, drill_id=f"{spec.name}-{seed}")
    trunk = Trunk(spec=spec, seed=seed, record=record)
    weeks = record.weeks
    # The week each policy declares is known from the silent run's signals up to it; a policy
    # declaring in week w needs the trunk as it stands before week w is played.
    pending = {policy for policy in POLICIES if policy != "silent"} | {FITTED}
    for week in range(weeks):
        for policy in sorted(pending):
            if policy == FITTED:
                continue  # forked with the lookup: the same week, another table
            chosen = plan(policy, spec, trunk.fired, record.inject_week, weeks)
            if policy == "lookup":
                # the lookup declares the week after the first alert, whatever its table says
                due = any(trunk.fired)
                if due:
                    for name in ("lookup", FITTED):
                        trunk.forks[name] = (_fork_at(trunk, name, settings), chosen)
                    pending -= {"lookup", FITTED}
                continue
            if chosen is not None and chosen.week == week:
                trunk.forks[policy] = (_fork_at(trunk, policy, settings), chosen)
                pending.discard(policy)
        record = advance(record.drill_id, settings=settings)
        trunk.record = record
        trunk.fired = [frozenset(f) for f in week_signals(record, settings)]
    trunk.record = finish(record.drill_id, settings=settings)
    assert trunk.record.score is not None
    trunk.scores["silent"] = trunk.record.score.total
    trunk.seconds = time.perf_counter() - started
    return trunk


def play_forks(trunk: Trunk, runbook: Sequence[Rule], settings: Settings) -> None:
    """Each fork declares its policy's plan (the fitted lookup: its own table) and plays on."""
    for policy, (drill_id, chosen) in trunk.forks.items():
        if policy == FITTED:
            chosen = plan(
                "lookup",
                trunk.spec,
                trunk.fired,
                trunk.record.inject_week,
                trunk.record.weeks,
                runbook,
            )
        if chosen is not None:
            declare(drill_id, chosen.signal, chosen.root_cause, chosen.response, settings=settings)
        started = time.perf_counter()
        record = finish(drill_id, settings=settings)
        trunk.seconds += time.perf_counter() - started
        assert record.score is not None
        trunk.scores[policy] = record.score.total
    for policy in ROWS:
        trunk.scores.setdefault(policy, trunk.scores["silent"])  # never declared: silent


def first_alert(trunk: Trunk) -> frozenset[str]:
    return next((week for week in trunk.fired if week), frozenset())


def _check(name: str, value: float) -> str:
    if name not in TARGETS:
        return ""
    sign, bound = TARGETS[name]
    ok = value >= bound if sign == ">=" else value <= bound
    return f"{sign} {bound:g} {'met' if ok else 'MISSED'}"


def report(trunks: list[Trunk], fitted: Sequence[Rule]) -> tuple[str, bool]:
    """The tables, and whether every target was met."""
    lines: list[str] = []
    ok = True
    drills = list(dict.fromkeys(t.spec.name for t in trunks))
    seeds = sorted({t.seed for t in trunks})
    lines.append(f"{len(drills)} drills x {len(seeds)} seeds {seeds}: scores of 100\n")
    lines.append("| policy | what it does | mean | median | worst | target |")
    lines.append("|---|---|---|---|---|---|")
    for policy in ROWS:
        values = [t.scores[policy] for t in trunks]
        what = WHAT_THEY_DO.get(policy, "the lookup with a runbook fitted in hindsight (below)")
        mean = statistics.fmean(values)
        target = _check(policy, mean)
        ok &= "MISSED" not in target
        lines.append(
            f"| {policy} | {what} | {mean:.1f} | {statistics.median(values):.1f} |"
            f" {min(values):.1f} | {target} |"
        )
    lines.append("\nMean per drill (over the seeds); * marks a control\n")
    lines.append("| drill | " + " | ".join(ROWS) + " |")
    lines.append("|---|" + "---|" * len(ROWS))
    for name in drills:
        mine = [t for t in trunks if t.spec.name == name]
        control = "" if mine[0].spec.incident else "*"
        means = [statistics.fmean(t.scores[p] for t in mine) for p in ROWS]
        lines.append(f"| {name}{control} | " + " | ".join(f"{m:.1f}" for m in means) + " |")
    lines.append("")
    for trunk in (t for t in trunks if not t.spec.incident):
        beaten = {p: s for p, s in trunk.scores.items() if s > trunk.scores["silent"] + 1e-9}
        verdict = "met" if not beaten else f"MISSED by {beaten}"
        ok &= not beaten
        lines.append(
            f"control {trunk.spec.name} seed {trunk.seed}: silence scores highest"
            f" ({trunk.scores['silent']:.1f}): {verdict}"
        )
    lines.append("\nThe fixed runbook: " + "; ".join(_rule(r) for r in RUNBOOK))
    lines.append("The runbook fitted in hindsight: " + "; ".join(_rule(r) for r in fitted))
    seconds = np.array([t.seconds for t in trunks])
    p50, p99 = np.percentile(seconds, [50, 99])
    lines.append(
        f"\nseconds per drill and seed (its {len(ROWS)} policies): median {p50:.1f} s,"
        f" p99 {p99:.1f} s, total {seconds.sum():.0f} s"
    )
    return "\n".join(lines), ok


def _rule(rule: Rule) -> str:
    return f"{rule.signal} -> {rule.root_cause}, {rule.response}"


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--drills", nargs="*", default=None, help="default: every drill")
    parser.add_argument("--state-dir", type=Path, default=None, help="default: a temporary one")
    args = parser.parse_args(argv)
    configure_logging("bench-drills")  # MLflow's lines to <state>/logs, not between the tables
    catalogue = load_catalogue()
    names = args.drills or list(catalogue.drills)
    for name in names:
        catalogue.drill(name)  # an unknown name is refused before anything runs
    with tempfile.TemporaryDirectory(prefix="bench-drills-") as tmp:
        settings = load_settings(Settings, state_dir=args.state_dir or Path(tmp))
        trunks = []
        for seed in range(args.seeds):
            for name in names:
                trunk = play_trunk(catalogue.drill(name), seed, settings)
                trunks.append(trunk)
                print(f"{name} seed {seed}: played ({trunk.seconds:.1f} s)", file=sys.stderr)
        fitted = fitted_runbook([(t.spec, first_alert(t)) for t in trunks])
        for trunk in trunks:
            play_forks(trunk, fitted, settings)
        text, ok = report(trunks, fitted)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
