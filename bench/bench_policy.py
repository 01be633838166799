"""The continuous-training policy judged in dollars, against the oracle, over a suite of worlds.

Run ``python -m bench.bench_policy`` (``make bench-policy``). For every scenario of
``bench/policy_suite.yml``, every seed and every policy, it runs the real capstone (service on
127.0.0.1, MLflow, phase 2's stages, phase 4's trigger) from fresh state, then reads the run's
event log: the ``truth`` step's per-week oracle and earned values, the decisions, promotions,
rollbacks and quarantines. It prints one table per scenario and the suite's totals, policy
beside policy, and the false alarms of the healthy controls with their intervals.
``--write-lesson`` writes the same tables into the phase-5 lesson.

- **regret**: the oracle's value (every customer whose expected saving beats the contact cost is
  contacted, knowing the true churn probabilities) less the value earned, in dollars and as a
  share of the oracle's;
- **weeks degraded**: weeks whose served model ranks customers significantly worse than a refit
  on current data (``phase5_capstone/truth.py``);
- **time to recover**: weeks from the first labeled harm to the promotion of the fix;
- in the controls, where nothing harmful happens: retrains asked for by anything but the
  schedule, promotions (per scheduled retrain) and rollbacks are false alarms.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml
from scipy import stats

from phase1_foundations.settings import get_settings, refuse_bad_config
from phase2_pipelines.params import PARAMS_FILE
from phase2_pipelines.stats import wilson_interval

SUITE_FILE = Path(__file__).with_name("policy_suite.yml")
LESSON = Path(__file__).resolve().parents[1] / "phase5_capstone" / "README.md"
BEGIN, END = "<!-- bench-policy:begin -->", "<!-- bench-policy:end -->"
WEEKS_PER_YEAR = 52
CONFIDENCE = 0.95


@dataclass(frozen=True)
class RunFigures:
    """One run of one policy on one seed of one scenario, read from its event log."""

    scenario: str
    seed: int
    policy: str
    control: bool
    seconds: float
    weeks: int
    oracle_usd: float
    earned_usd: float
    always_usd: float
    degraded_weeks: int
    judged_weeks: int
    recoveries: tuple[int | None, ...]  # per degraded stretch: weeks to recover, None if never
    retrains_scheduled: int
    retrains_other: int
    candidates: int
    promotions: int
    rollbacks: int
    escalations: int
    quarantined_rows: int
    scored_rows: int
    cbpe_errors: tuple[float, ...] = ()  # |CBPE at scoring - realized AUC|, per labeled week

    @property
    def regret_usd(self) -> float:
        return self.oracle_usd - self.earned_usd


def _apply(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with each dotted key of ``overrides`` replaced (missing sections are created)."""
    for dotted, value in overrides.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return raw


def policy_params(overrides: dict[str, Any], folder: Path) -> Path:
    """A copy of ``params.yaml`` with a policy's overrides, validated by the loaders on use."""
    raw = yaml.safe_load(PARAMS_FILE.read_text())
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(_apply(raw, overrides), sort_keys=False))
    return path


def _retrain_rules(evidence: dict[str, Any]) -> set[str]:
    fired = evidence.get("fired") or []
    return {
        str(f.get("check")) for f in fired if isinstance(f, dict) and f.get("action") == "retrain"
    }


def cbpe_errors(events: list[Any]) -> tuple[float, ...]:
    """Per labeled week: how far CBPE's estimate (made when the week was scored, by the model
    that scored it) was from the AUC its labels showed."""
    estimates = {}
    for event in events:
        cbpe = event.evidence.get("cbpe") if event.kind == "monitored" else None
        if isinstance(cbpe, dict) and isinstance(cbpe.get("roc_auc"), float):
            estimates[(event.week, event.model_version)] = float(cbpe["roc_auc"])
    found = []
    for event in events:
        quality = event.evidence.get("quality") if event.kind == "labels_arrived" else None
        metrics = quality.get("metrics") if isinstance(quality, dict) else None
        realized = metrics.get("roc_auc") if isinstance(metrics, dict) else None
        key = (event.evidence.get("event_week"), event.model_version)
        if isinstance(realized, float) and key in estimates:
            found.append(abs(estimates[key] - realized))
    return tuple(found)


def run_one(task: tuple[str, int, str, dict[str, Any], bool]) -> RunFigures:
    """Run one scenario seed under one policy in a fresh state dir; read its figures back."""
    from phase1_foundations.settings import Settings, load_settings
    from phase5_capstone.params import load_capstone_params
    from phase5_capstone.runner import build_context, run
    from phase5_capstone.scenario import load_scenario
    from phase5_capstone.summary import judge_events

    name, seed, policy, overrides, control = task
    scenario = load_scenario(name).model_copy(update={"seed": seed})
    with tempfile.TemporaryDirectory(prefix="bench-policy-") as tmp:
        folder = Path(tmp)
        params_file = policy_params(overrides, folder)
        ctx = build_context(
            scenario,
            f"{name}-{seed}-{policy}",
            base=load_settings(Settings, state_dir=folder / "state"),
            # Evidently's HTML is for people; the decisions never read it.
            params=load_capstone_params(params_file).model_copy(
                update={"evidently_on_alert": False}
            ),
            params_file=params_file,
        )
        started = time.perf_counter()
        result = run(ctx, fresh=True, progress=False)
        seconds = time.perf_counter() - started
        events = list(result.events)
    judged = judge_events(events, scenario.make_world())
    decisions = [
        e for e in events if e.kind == "decision" and e.evidence.get("action") == "retrain"
    ]
    scheduled = sum(_retrain_rules(e.evidence) == {"schedule"} for e in decisions)
    kinds = [e.kind for e in events]
    quarantined = sum(
        int(e.evidence.get("quarantined_rows", e.evidence.get("rows", 0)) or 0)
        for e in events
        if e.kind == "quarantined"
    )
    scored = sum(int(e.evidence.get("rows", 0) or 0) for e in events if e.kind == "scored")
    return RunFigures(
        scenario=name,
        seed=seed,
        policy=policy,
        control=control,
        seconds=seconds,
        weeks=scenario.weeks,
        oracle_usd=judged.oracle_usd,
        earned_usd=judged.earned_usd,
        always_usd=judged.always_usd,
        degraded_weeks=judged.degraded_weeks,
        judged_weeks=judged.judged_weeks,
        recoveries=tuple(e.weeks_to_recover for e in judged.episodes),
        retrains_scheduled=scheduled,
        retrains_other=len(decisions) - scheduled,
        candidates=kinds.count("candidate_rejected") + kinds.count("challenger_staged"),
        promotions=kinds.count("promoted"),
        rollbacks=kinds.count("rolled_back") + kinds.count("guardrail_rollback"),
        escalations=kinds.count("escalated"),
        quarantined_rows=quarantined,
        scored_rows=scored,
        cbpe_errors=cbpe_errors(events),
    )


def rate_interval(events: int, exposure: float, scale: float) -> tuple[float, float, float]:
    """A Poisson rate per ``scale`` units of ``exposure``, with its exact (Garwood) interval."""
    alpha = 1 - CONFIDENCE
    low = stats.chi2.ppf(alpha / 2, 2 * events) / 2 if events else 0.0
    high = stats.chi2.ppf(1 - alpha / 2, 2 * events + 2) / 2
    factor = scale / exposure
    return events * factor, float(low) * factor, float(high) * factor


@dataclass
class PolicyTotals:
    runs: list[RunFigures] = field(default_factory=list)

    def total(self, attribute: str) -> float:
        return float(sum(getattr(r, attribute) for r in self.runs))


def _money(value: float) -> str:
    return f"${value:,.0f}"


def _recovery(runs: list[RunFigures]) -> str:
    found = [w for r in runs for w in r.recoveries]
    if not found:
        return "no degraded stretch"
    done = [w for w in found if w is not None]
    never = len(found) - len(done)
    text = f"median {statistics.median(done):g}, max {max(done)}" if done else "never"
    return text + (f"; {never} of {len(found)} never" if never and done else "")


def _cbpe(runs: list[RunFigures]) -> str:
    errors = [e for r in runs for e in r.cbpe_errors]
    if not errors:
        return "-"
    return f"{statistics.mean(errors):.3f} mean, {max(errors):.3f} max"


def scenario_table(name: str, runs: list[RunFigures], policies: list[str]) -> list[str]:
    seeds = sorted({r.seed for r in runs})
    lines = [
        f"**{name}** ({len(seeds)} seeds, {runs[0].weeks} weeks, 2,000 customers a week)",
        "",
        "| policy | regret | share of oracle | weeks degraded | time to recover (weeks)"
        " | retrains (other + scheduled) | promotions | rollbacks | rows quarantined"
        " | rows scored | CBPE error |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for policy in policies:
        mine = [r for r in runs if r.policy == policy]
        if not mine:
            continue
        oracle = sum(r.oracle_usd for r in mine)
        regret = sum(r.regret_usd for r in mine)
        lines.append(
            f"| {policy} | {_money(regret / len(mine))} a run | {regret / oracle:.1%}"
            f" | {sum(r.degraded_weeks for r in mine)} of {sum(r.judged_weeks for r in mine)}"
            f" | {_recovery(mine)}"
            f" | {sum(r.retrains_other for r in mine)} + {sum(r.retrains_scheduled for r in mine)}"
            f" | {sum(r.promotions for r in mine)} | {sum(r.rollbacks for r in mine)}"
            f" | {sum(r.quarantined_rows for r in mine):,} | {sum(r.scored_rows for r in mine):,}"
            f" | {_cbpe(mine)} |"
        )
    return lines


def totals_table(runs: list[RunFigures], policies: list[str]) -> list[str]:
    lines = [
        "| policy | regret, whole suite | share of oracle | vs first policy | never act"
        " | always act | weeks degraded |",
        "|---|---|---|---|---|---|---|",
    ]
    first = None
    for policy in policies:
        mine = [r for r in runs if r.policy == policy]
        regret = sum(r.regret_usd for r in mine)
        oracle = sum(r.oracle_usd for r in mine)
        always = sum(r.oracle_usd - r.always_usd for r in mine)
        first = regret if first is None else first
        change = "" if regret == first else f"{(regret - first) / first:+.0%}"
        lines.append(
            f"| {policy} | {_money(regret)} | {regret / oracle:.1%} | {change}"
            f" | {_money(oracle)} | {_money(always)}"
            f" | {sum(r.degraded_weeks for r in mine)} of {sum(r.judged_weeks for r in mine)} |"
        )
    return lines


def controls_table(runs: list[RunFigures], policies: list[str]) -> list[str]:
    lines = [
        "| policy | control weeks | retrains not on schedule (per 52 weeks) | promotions per"
        " scheduled retrain | rollbacks (per 52 weeks) |",
        "|---|---|---|---|---|",
    ]
    for policy in policies:
        mine = [r for r in runs if r.policy == policy and r.control]
        if not mine:
            continue
        weeks = sum(r.weeks for r in mine)
        retrains = rate_interval(sum(r.retrains_other for r in mine), weeks, WEEKS_PER_YEAR)
        rollbacks = rate_interval(sum(r.rollbacks for r in mine), weeks, WEEKS_PER_YEAR)
        scheduled = sum(r.retrains_scheduled for r in mine)
        promotions = sum(r.promotions for r in mine)
        low, high = wilson_interval(promotions, scheduled, 1 - CONFIDENCE) if scheduled else (0, 1)
        share = promotions / scheduled if scheduled else 0.0
        lines.append(
            f"| {policy} | {weeks}"
            f" | {sum(r.retrains_other for r in mine)}: {retrains[0]:.2f} [{retrains[1]:.2f},"
            f" {retrains[2]:.2f}]"
            f" | {promotions} of {scheduled}: {share:.0%} [{low:.0%}, {high:.0%}]"
            f" | {sum(r.rollbacks for r in mine)}: {rollbacks[0]:.2f} [{rollbacks[1]:.2f},"
            f" {rollbacks[2]:.2f}] |"
        )
    return lines


def render(runs: list[RunFigures], policies: list[str]) -> str:
    lines = ["### The suite's totals", "", *totals_table(runs, policies), ""]
    lines += ["### Healthy controls: false alarms, with 95% intervals", ""]
    lines += [*controls_table(runs, policies), ""]
    lines += ["### Scenario by scenario", ""]
    for name in dict.fromkeys(r.scenario for r in runs):
        lines += [*scenario_table(name, [r for r in runs if r.scenario == name], policies), ""]
    seconds = sorted(r.seconds for r in runs)
    p99 = seconds[min(len(seconds) - 1, math.ceil(0.99 * len(seconds)) - 1)]
    lines.append(
        f"{len(runs)} runs; seconds per run: median {statistics.median(seconds):.1f}, p99 {p99:.1f}"
    )
    return "\n".join(lines)


def write_lesson(text: str, lesson: Path = LESSON) -> None:
    """Put ``text`` between the lesson's bench-policy markers."""
    old = lesson.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(old):
        raise SystemExit(f"{lesson}: no {BEGIN} ... {END} markers to write between")
    lesson.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", old))


def tasks(suite: dict[str, Any], seeds: int | None, only: Iterable[str] | None) -> list[Any]:
    wanted = set(only or [])
    found = []
    for entry in suite["scenarios"]:
        if wanted and entry["name"] not in wanted:
            continue
        for seed in entry["seeds"][:seeds]:
            for policy, overrides in suite["policies"].items():
                found.append(
                    (entry["name"], seed, policy, overrides or {}, bool(entry.get("control")))
                )
    return found


def quiet() -> None:
    """Library log lines (MLflow's) go to ``<state>/logs/bench-policy.log`` in every worker (the
    runs happen there): the terminal shows a line per run and the tables."""
    from phase1_foundations.logs import configure_logging

    configure_logging("bench-policy")


@refuse_bad_config
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", type=Path, default=SUITE_FILE)
    parser.add_argument("--seeds", type=int, default=None, help="the first N seeds of each")
    parser.add_argument("--scenario", action="append", help="only these scenarios")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--write-lesson", action="store_true")
    parser.add_argument("--lesson", type=Path, default=LESSON, help="the lesson to write into")
    args = parser.parse_args(argv)
    get_settings()  # a bad setting is refused here, in one line, not in each worker
    suite = yaml.safe_load(args.suite.read_text())
    work = tasks(suite, args.seeds, args.scenario)
    policies = list(suite["policies"])
    print(
        f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores);"
        f" {len(work)} runs on {args.workers} workers"
    )
    started = time.perf_counter()
    with ProcessPoolExecutor(
        args.workers, mp_context=get_context("spawn"), initializer=quiet
    ) as pool:
        futures = [pool.submit(run_one, task) for task in work]
        for done, future in enumerate(as_completed(futures), start=1):
            run = future.result()
            print(
                f"{done}/{len(work)}: {run.scenario} seed {run.seed} {run.policy}: regret"
                f" ${run.regret_usd:,.0f} ({run.seconds:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        runs = [future.result() for future in futures]
    text = render(runs, policies)
    print(text)
    print(
        f"total {time.perf_counter() - started:.0f} s; load average after: {os.getloadavg()[0]:.2f}"
    )
    if args.write_lesson:
        write_lesson(text, args.lesson)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
