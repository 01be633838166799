"""What the app's tests share: one bootstrapped champion, built once, copied into each state dir.

A drill's start trains its first champion (phase 2's pipeline), the costliest step of a drill;
the engine keeps it as a template per seed under ``<state>/simulator/bootstraps`` and copies it
for every later drill of that seed. The app's tests build that template once (with the engine,
in a state dir of their own) and copy it, with the engine's own ``copy_run``, into the state
dir of each app they start: the drill the test starts through the page then begins where any
user's second drill of that seed would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from phase1_foundations.settings import Settings, get_settings
from simulator import engine
from simulator.forking import copy_run
from simulator.records import SimulatorPaths

SEED = 3
TEMPLATE_SCENARIO = "healthy"  # the bootstrap is the same for every scenario of a seed
BOOTSTRAPS = "bootstraps"


def _templates(state: Path) -> list[Path]:
    folder = SimulatorPaths.of(state).root / BOOTSTRAPS
    return sorted(path for path in folder.glob("*") if (path / "weeks").is_dir())


def bootstrapped_state(base: Path) -> Path:
    """A state dir holding the bootstrapped run of ``SEED`` (built on the first call)."""
    state = base / "bootstrap-template"
    if not _templates(state):
        with pytest.MonkeyPatch.context() as monkeypatch:
            monkeypatch.setenv("MLOPS_STATE_DIR", str(state))
            get_settings.cache_clear()
            try:
                engine.start_drill(TEMPLATE_SCENARIO, seed=SEED, settings=Settings(state_dir=state))
            finally:
                get_settings.cache_clear()
    assert _templates(state), f"the engine left no bootstrapped run under {state}"
    return state


def seed_state(template_state: Path, state: Path) -> None:
    """Copy the bootstrapped runs of ``template_state`` into ``state`` (each a run of its own)."""
    for template in _templates(template_state):
        copy_run(template, SimulatorPaths.of(state).root / BOOTSTRAPS / template.name)
