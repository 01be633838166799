"""A setting the program cannot use gets one line naming its variable, never a traceback.

Every command line of the project (each ``__main__`` module and each benchmark, found on disk:
a new one must be added to ``COMMANDS``) is run with ``MLOPS_SEED`` set to a word, and must
answer with ``error: invalid settings: MLOPS_SEED: ...`` on stderr and exit code 2 (phase 1's
``refuse_bad_config``). The commands are their ``main`` in this process, the cached settings
cleared first: what is checked is the command's own code, not the interpreter's start-up
(``test_params_errors.py`` runs commands in processes of their own, on a broken params.yaml).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from phase1_foundations.settings import EXIT_BAD_CONFIG, PROJECT_ROOT, get_settings
from phase3_serving.config import get_serving_settings
from testing.cli import run_in_process

PACKAGES = ("phase1_foundations", "phase2_pipelines", "phase3_serving", "phase4_monitoring")
PACKAGES += ("phase5_capstone", "simulator", "docs")
CSV = PROJECT_ROOT / "data" / "raw" / "telco" / "test.csv"
# Each command line, and arguments that make it read the settings before any other work.
COMMANDS: dict[str, tuple[str, ...]] = {
    "phase1_foundations": ("fetch",),
    "phase1_foundations.lesson": ("selfcheck",),
    "phase2_pipelines": ("experiments",),
    "phase2_pipelines.lesson": ("selfcheck",),
    "phase3_serving": ("admin", "status"),
    "phase3_serving.lesson": ("selfcheck",),
    "phase4_monitoring": ("check", str(CSV)),
    "phase4_monitoring.lesson": ("selfcheck",),
    "phase5_capstone": ("summary",),
    "phase5_capstone.lesson": ("selfcheck",),
    "simulator": ("play", "bad_model", "--actions", "{tmp}/actions.yml"),
    "simulator.lesson": ("selfcheck",),
    "docs": ("render", "--out", "{tmp}"),
}
BENCHMARKS = ("batch", "capstone", "drills", "gate", "monitoring", "policy", "serving", "world")
COMMANDS |= {f"bench.bench_{name}": () for name in BENCHMARKS}  # `make bench-*`, default args
# Command lines that read no settings at all (the machine benchmark times two fixed loops).
NO_SETTINGS = ("bench.bench_machine",)


def command_lines() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).glob("**/__main__.py")):
            if "tests" not in path.parts:
                found.append(".".join(path.parent.relative_to(PROJECT_ROOT).parts))
    found += [f"bench.{path.stem}" for path in (PROJECT_ROOT / "bench").glob("bench_*.py")]
    return found


def test_every_command_line_is_checked() -> None:
    assert sorted(command_lines()) == sorted([*COMMANDS, *NO_SETTINGS])


@pytest.mark.parametrize("module", NO_SETTINGS)
def test_a_command_that_reads_no_settings_runs_despite_a_bad_one(
    module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_SEED", "forty-two")
    get_settings.cache_clear()
    try:
        done = run_in_process(importlib.import_module(module).main, "--reps", "1")
    finally:
        get_settings.cache_clear()
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_a_bad_setting_is_named_in_one_line(
    module: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name = module if module.startswith("bench.") else f"{module}.__main__"
    main = importlib.import_module(name).main
    (tmp_path / "actions.yml").write_text("[]\n")  # what `simulator play` is given
    monkeypatch.setenv("MLOPS_SEED", "forty-two")
    monkeypatch.setenv("MLOPS_STATE_DIR", str(tmp_path / "state"))
    for cached in (get_settings, get_serving_settings):
        cached.cache_clear()
    try:
        done = run_in_process(main, *(a.format(tmp=tmp_path) for a in COMMANDS[module]))
    finally:
        get_settings.cache_clear()
        get_serving_settings.cache_clear()
    assert done.returncode == EXIT_BAD_CONFIG, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        "error: invalid settings: MLOPS_SEED: Input should be a valid integer, unable to parse"
        " string as an integer"
    ]
