"""A drill killed mid-week, at random moments, then advanced again, plays exactly what an
uninterrupted drill plays: the drill's system is the capstone's (``system.py`` runs its steps
through ``runner.execute``), so each played step is read back, and the one a kill cut short runs
again from its start.

One drill is played to the week its user declares a retrain (so the rest holds a shadow and a
canary), then forked: the peer advances to the end in one go, the other is advanced by the same
command and killed with SIGKILL at moments a seeded generator draws over the peer's measured
wall time (sorted; each attempt lives the command's start-up time plus the gap to its moment),
then advanced to the end.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from phase1_foundations.settings import Settings
from phase5_capstone.events import read_events
from phase5_capstone.weekly import ROLLOUT_FILE
from simulator.engine import advance, declare, fork_drill, load_drill, start_drill
from testing.drills import drill_state

pytestmark = pytest.mark.slow
SCENARIO = "concept_drift"
SEED = 0
KILLS = 6
KILL_SEED = 19
TIMEOUT_S = 600
ADVANCE = (
    "import sys; from phase1_foundations.settings import Settings;"
    " from simulator.engine import advance, load_drill;"
    " s = Settings(state_dir=sys.argv[1]); r = load_drill(sys.argv[2], s);"
    " r.week < r.weeks and advance(r.drill_id, r.weeks - r.week, settings=s)"
)


def _command(settings: Settings, drill_id: str) -> list[str]:
    return [sys.executable, "-c", ADVANCE, str(settings.state_dir), drill_id]


def _rollout_counts(run_dir: Path) -> dict[str, dict[str, object]]:
    found = {}
    for path in sorted(run_dir.glob(f"weeks/*/{ROLLOUT_FILE}")):
        guardrails = json.loads(path.read_text())["guardrails"]
        found[path.parent.name] = {k: guardrails[k] for k in ("requests", "calls", "errors")}
    return found


def test_a_drill_killed_mid_week_resumes_to_the_same_weeks(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = drill_state(tmp_path_factory, "resume", SEED)  # the run's seed-0 champion
    record = start_drill(SCENARIO, seed=SEED, settings=settings, drill_id="prefix")
    record = advance(record.drill_id, record.inject_week + 2, settings=settings)
    declare(
        record.drill_id,
        "realized_quality",
        "concept_drift",
        "retrain_recent",
        "",
        settings=settings,
    )
    peer = fork_drill("prefix", "peer", settings=settings)
    killed = fork_drill("prefix", "killed", settings=settings)

    started = time.perf_counter()
    subprocess.run(_command(settings, peer.drill_id), check=True, timeout=TIMEOUT_S)
    length = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(_command(settings, peer.drill_id), check=True, timeout=TIMEOUT_S)  # no-op
    restart = time.perf_counter() - started
    rng = np.random.default_rng(KILL_SEED)
    kills, reached = [], 0.0
    for moment in np.sort(rng.uniform(0.0, length, KILLS)).tolist():
        delay, reached = restart + moment - reached, moment
        process = subprocess.Popen(_command(settings, killed.drill_id))
        try:
            process.wait(timeout=delay)
            assert process.returncode == 0
            break  # it finished before this moment
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills.append(moment)
    subprocess.run(_command(settings, killed.drill_id), check=True, timeout=TIMEOUT_S)

    finished = [load_drill(d, settings) for d in ("peer", "killed")]
    assert [r.week for r in finished] == [r.weeks for r in finished]
    runs = [Path(r.run_dir) for r in finished]
    expected, resumed = (read_events(run / "events.jsonl") for run in runs)
    assert [e.seq for e in resumed] == list(range(len(resumed)))  # none lost, none twice
    assert [e.comparable() for e in resumed] == [e.comparable() for e in expected]
    assert {"challenger_staged", "canary_started"} <= {e.kind for e in expected}
    counts = _rollout_counts(runs[0])
    assert counts  # the declared retrain shadowed, then canaried
    assert _rollout_counts(runs[1]) == counts  # the guardrails counted the same calls
    print(
        f"\n{len(kills)} kills at {', '.join(f'{k:.1f}' for k in kills)} s of a"
        f" {length:.1f} s advance (start-up {restart:.1f} s); the drill resumed to the peer's"
        " weeks"
    )
    assert len(kills) >= 3
