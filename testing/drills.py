"""Drill state directories that share one bootstrapped champion per seed across a test run.

A drill's start trains its first champion (phase 2's pipeline), the costliest step of a drill;
the engine keeps it as a template per seed under ``<state>/simulator/bootstraps`` and copies it
into every later drill of that seed (``simulator.system.bootstrapped``). Each state directory
made here links that folder to one shared by every module of the run, on every xdist worker,
so a seed's champion is trained once per run, not once per module. The first module to need a
seed builds it under a file lock while the others wait for it.
"""

from __future__ import annotations

import shutil

import pytest

from phase1_foundations.settings import Settings
from phase2_pipelines.tracking import locked_file
from simulator.engine import start_drill
from simulator.records import SimulatorPaths
from testing.shared_state import run_root

BOOTSTRAPS = "bootstraps"
PROBE = "bootstrap-probe"  # the throwaway drill whose start builds a seed's template
PROBE_SCENARIO = "healthy"  # any scenario: the template depends on the seed and the params


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
