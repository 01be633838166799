"""Drill state directories that share one bootstrapped champion per seed across a test run, and
the branches every scenario's drill test plays.

A drill's start trains its first champion (phase 2's pipeline), the costliest step of a drill;
the engine keeps it as a template per seed under ``<state>/simulator/bootstraps`` and copies it
into every later drill of that seed (``simulator.system.bootstrapped``). Each state directory
made here links that folder to one shared by every module of the run, on every xdist worker,
so a seed's champion is trained once per run, not once per module. The first module to need a
seed builds it under a file lock while the others wait for it.

A scenario's branches (``play_branches``): the drill is played week by week, as a user would,
until a signal of its cause has fired (the controls: two weeks past the hidden injection week);
there it is forked, and each fork declares the right diagnosis with another response and plays
to the end. The forks differ only in the response, so the best one must score highest, and the
debrief must name the signal that pointed at the cause, from the week it first fired
(``check_branches``). Run as ``python -m testing.drills SCENARIO STATE_DIR`` it plays one
scenario's branches in another process: a drill that mostly waits (the slow model's calls sleep)
plays there while its module's other drills use the CPU.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from phase1_foundations.settings import Settings
from phase2_pipelines.tracking import locked_file
from simulator.drills import load_catalogue
from simulator.engine import (
    advance,
    declare,
    finish,
    fork_drill,
    load_drill,
    start_drill,
    week_signals,
)
from simulator.records import DrillRecord, Response, SimulatorPaths
from testing.shared_state import run_root

BOOTSTRAPS = "bootstraps"
PROBE = "bootstrap-probe"  # the throwaway drill whose start builds a seed's template
PROBE_SCENARIO = "healthy"  # any scenario: the template depends on the seed and the params
SEED = 0  # the seed every scenario's branches are played on
TIMEOUT_S = 900
# The best response first, then the wrong ones a user is most likely to reach for.
BRANCHES: dict[str, tuple[Response, ...]] = {
    "harmless_shift": ("wait_and_watch", "retrain_recent"),
    "concept_drift": ("retrain_recent", "wait_and_watch"),
    "schema_break": ("quarantine_hotfix", "wait_and_watch"),
    "null_flood": ("page_upstream", "quarantine_hotfix"),
    "unit_change": ("quarantine_hotfix", "retrain_recent"),
    "swapped_columns": ("quarantine_hotfix", "wait_and_watch"),
    "new_category": ("quarantine_hotfix", "retrain_recent"),
    "label_delay": ("page_upstream", "wait_and_watch"),
    "heavy_model": ("roll_back", "scale"),
    "bad_model": ("roll_back", "retrain_recent"),
    "serving_skew": ("roll_back", "quarantine_hotfix"),
    "mixed_versions": ("scale", "roll_back"),
    "label_hiccup": ("wait_and_watch", "page_upstream"),
    "healthy": ("wait_and_watch", "retrain_recent"),
}
Branches = dict[Response, DrillRecord]  # response -> its fork, played to the end


def drill_state(tmp_path_factory: pytest.TempPathFactory, name: str, *seeds: int) -> Settings:
    """Settings with a fresh state directory whose bootstrapped runs (built first for ``seeds``)
    are the run's shared ones."""
    shared = run_root(tmp_path_factory) / "drill-bootstraps"
    shared.mkdir(exist_ok=True)
    settings = Settings(state_dir=tmp_path_factory.mktemp(name))
    folder = SimulatorPaths.of(settings.state_dir).root
    folder.mkdir(parents=True)
    (folder / BOOTSTRAPS).symlink_to(shared, target_is_directory=True)
    for seed in seeds:
        with locked_file(shared.parent / f"drill-bootstrap-{seed}.lock"):
            start_drill(PROBE_SCENARIO, seed=seed, settings=settings, drill_id=PROBE)
        shutil.rmtree(folder / "drills" / PROBE)
    return settings


def play_to_first_signal(name: str, settings: Settings) -> DrillRecord:
    """Week by week until a signal of the cause fired (a control: two weeks past injection)."""
    spec = load_catalogue().drill(name)
    record = start_drill(name, seed=SEED, settings=settings, drill_id=f"{name}-prefix")
    # Nothing of the cause can fire before the injection: play those weeks in one go.
    record = advance(record.drill_id, record.inject_week + 1, settings=settings)
    last = record.weeks - 2
    fired = week_signals(record, settings)
    while record.week < last and not (
        spec.incident and any(signal in fired[-1] for signal in spec.signals)
    ):
        if not spec.incident and record.week >= record.inject_week + 2:
            break
        record = advance(record.drill_id, settings=settings)
        fired = week_signals(record, settings)
    return record


def branch_id(name: str, response: Response) -> str:
    return f"{name}-{response}"


def play_branches(name: str, settings: Settings) -> Branches:
    """Each of the scenario's branches, forked at its first signal and played to the end."""
    spec = load_catalogue().drill(name)
    prefix = play_to_first_signal(name, settings)
    results: Branches = {}
    for response in BRANCHES[name]:
        fork = fork_drill(prefix.drill_id, branch_id(name, response), settings=settings)
        if spec.signals or response != "wait_and_watch":  # the healthy control: say nothing
            signal = spec.signals[0] if spec.signals else "feature_drift"
            declare(fork.drill_id, signal, spec.root_cause, response, settings=settings)
        results[response] = finish(fork.drill_id, settings=settings)
    return results


@contextlib.contextmanager
def branches_aside(name: str, settings: Settings) -> Iterator[Callable[[], Branches]]:
    """``play_branches`` in another process, started now; call what this yields to wait for
    its records (the process is stopped on exit if nobody waited for it)."""
    log = settings.state_dir / f"{name}-aside.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "testing.drills", name, str(settings.state_dir)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )

    def played() -> Branches:
        process.wait(timeout=TIMEOUT_S)
        assert process.returncode == 0, log.read_text()[-2000:]
        return {r: load_drill(branch_id(name, r), settings) for r in BRANCHES[name]}

    try:
        yield played
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def summary(results: Branches) -> str:
    rows = []
    for response, record in results.items():
        assert record.score is not None
        parts = {p.name: p.points for p in record.score.parts}
        rows.append(f"{response}: {record.score.total:.1f} {parts}")
    return "; ".join(rows)


def check_branches(name: str, results: Branches) -> None:
    """Every branch played to the end, the best response scored highest, and the debrief named
    the signals of the cause from the week they first fired."""
    spec = load_catalogue().drill(name)
    print(f"\n{name} (inject week {next(iter(results.values())).inject_week}): {summary(results)}")
    for record in results.values():
        assert record.finished
        assert record.week == record.weeks  # played to the end
    best, *wrong = BRANCHES[name]
    best_score = results[best].score
    assert best_score is not None
    best_total = best_score.total
    for response in wrong:
        other = results[response].score
        assert other is not None
        assert best_total > other.total, f"{best} should beat {response}: {summary(results)}"
    sightings = {s.signal: s for s in results[best].debrief}
    if spec.incident:
        seen = [sightings[s] for s in spec.signals if sightings[s].first_week is not None]
        assert seen, f"no signal of the cause fired: {results[best].debrief}"
        assert all(
            s.first_week is not None and s.first_week >= results[best].inject_week for s in seen
        )
        assert all("points to the cause" in s.detail for s in seen)
    else:
        assert all(
            s.signal in spec.signals or s.signal == "feature_drift" for s in sightings.values()
        )


if __name__ == "__main__":
    play_branches(sys.argv[1], Settings(state_dir=sys.argv[2]))
