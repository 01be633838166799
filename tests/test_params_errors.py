"""A bad params.yaml gets one line naming the file, the field and the problem, never a traceback.

Learners edit params.yaml (the lessons invite tuning its thresholds). Every command line that
reads it answers a file it cannot use with ``error: ...`` on stderr and exit code 2, before any
heavy work. Each case breaks one value of a copy of the file. A command that takes ``--params``,
or reads the file ``MLOPS_SERVING_PARAMS_FILE`` names, is given the copy, and its ``main`` runs
in this process (as ``test_settings_errors.py`` runs every command line's); the others read only
the project's own params.yaml, so they run as a learner would, in a process of their own in a
clone of the project whose params.yaml is the broken copy.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN
from phase1_foundations.settings import EXIT_BAD_CONFIG, PROJECT_ROOT, get_settings
from phase2_pipelines.params import PARAMS_FILE
from phase3_serving.config import get_serving_settings
from testing.cli import run_in_process
from testing.clone import Clone, clean_env, link_bytecode, make_clone

pytestmark = pytest.mark.slow  # a clone, and processes for the commands that read only its params
TIMEOUT_S = 120  # a command that trains before it reads its params fails here, not by hanging
MISSING = object()  # the key is left out
SERVING_PARAMS = "MLOPS_SERVING_PARAMS_FILE"


@dataclass(frozen=True)
class Broken:
    """A command (``python -m`` arguments) and the one value of params.yaml broken for it.

    ``{params}`` in the command is the broken file; ``env`` names the variable that points the
    command at it; with neither, the command runs in the clone, whose params.yaml it is.
    """

    command: str
    key: str
    value: object
    problem: str
    env: str = ""


CASES = [
    Broken("phase2_pipelines --params {params} experiments", "gate.confidence", 2, "less than 1"),
    Broken(
        "phase2_pipelines.lesson --params {params} selfcheck",
        "evaluate.threshold",
        "high",
        "Input should be a valid number",
    ),
    Broken(
        "phase3_serving score {csv} {out}.csv",
        "registry.model_name",
        MISSING,
        "Field required",
        env=SERVING_PARAMS,
    ),
    Broken(
        "phase3_serving.lesson selfcheck",
        "serving.guardrails.alpha",
        2,
        "less than 1",
        env=SERVING_PARAMS,
    ),
    Broken("phase4_monitoring check {csv}", "monitoring.drift.psi", "high", "valid number"),
    Broken(
        "phase4_monitoring.lesson selfcheck --params {params}",
        "monitoring.quality.auc_drop",
        MISSING,
        "Field required",
    ),
    Broken("phase5_capstone summary", "capstone.yardstick.degraded_confidence", 2, "less than 1"),
    # The service reads its section only when it starts, after the run has trained a champion.
    Broken("phase5_capstone run", "serving.guardrails.looks", [500, 200], "increasing order"),
    Broken(
        "phase5_capstone.lesson selfcheck",
        "capstone.yardstick.degraded_confidence",
        MISSING,
        "Field required",
    ),
    Broken(
        "simulator play bad_model --actions {actions}",
        "monitoring.drift.psi",
        -1,
        "greater than 0",
    ),
    Broken("docs render --params {params} --out {out}", "monitoring.drift.psi", "x", "number"),
    Broken(
        "docs render --params {params} --out {out}",
        "train.family",
        "xgboost",
        "'logreg' or 'hgb'",
    ),
]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Clone:
    """A learner's copy of the project, for the commands that read its own params.yaml only."""
    made = make_clone(tmp_path_factory.mktemp("clone"), bootstrap=False)
    link_bytecode(PROJECT_ROOT, made.root, skip=(".venv",))
    return made


def broken_params(key: str, value: object) -> str:
    """The project's params.yaml with one value changed (or left out)."""
    raw = yaml.safe_load(PARAMS_FILE.read_text())
    *parents, leaf = key.split(".")
    node = raw
    for name in parents:
        node = node[name]
    if value is MISSING:
        del node[leaf]
    else:
        node[leaf] = value
    return yaml.safe_dump(raw, sort_keys=False)


def arguments(command: str, tmp_path: Path, params: Path) -> list[str]:
    """``command``'s words, its placeholders filled (the files it reads made)."""
    csv = tmp_path / "customers.csv"
    csv.write_text(",".join([ID_COLUMN, *FEATURE_NAMES]) + "\n")
    actions = tmp_path / "actions.yml"
    actions.write_text("[]\n")
    return command.format(params=params, csv=csv, out=tmp_path / "out", actions=actions).split()


def run(command: str, cwd: Path, tmp_path: Path, params: Path) -> list[str]:
    """The command's stderr lines, run in a process of its own in ``cwd``, after asserting it
    exited 2 without a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", *arguments(command, tmp_path, params)],
        cwd=cwd,
        env={**clean_env(), "MLOPS_STATE_DIR": str(tmp_path / "state")},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == EXIT_BAD_CONFIG, done.stdout + done.stderr
    return done.stderr.strip().splitlines()


def run_here(
    command: str, tmp_path: Path, params: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> list[str]:
    """The command's ``main`` in this process, with ``env`` set and the cached settings
    cleared: its stderr lines, after asserting it returned 2 (an exception fails the test)."""
    module, *args = arguments(command, tmp_path, params)
    main = importlib.import_module(f"{module}.__main__").main
    monkeypatch.setenv("MLOPS_STATE_DIR", str(tmp_path / "state"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    get_serving_settings.cache_clear()
    try:
        done = run_in_process(main, *args)
    finally:
        get_settings.cache_clear()
        get_serving_settings.cache_clear()
    assert done.returncode == EXIT_BAD_CONFIG, done.stdout + done.stderr
    return done.stderr.strip().splitlines()


def command_id(case: Broken) -> str:
    """The program and its subcommand: ``phase2_pipelines.lesson selfcheck``."""
    return " ".join(word for word in case.command.split() if not word.startswith(("-", "{")))


@pytest.mark.parametrize("case", CASES, ids=command_id)
def test_a_bad_value_is_named_in_one_line(
    case: Broken, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = broken_params(case.key, case.value)
    if "{params}" in case.command or case.env:
        params = tmp_path / "params.yaml"
        params.write_text(text)
        env = {case.env: str(params)} if case.env else {}
        lines = run_here(case.command, tmp_path, params, monkeypatch, **env)
    else:
        clone: Clone = request.getfixturevalue("clone")
        params = clone.root / "params.yaml"
        params.write_text(text)
        lines = run(case.command, clone.root, tmp_path, params)
    assert len(lines) == 1, lines  # one line, on stderr
    assert lines[0].startswith(f"error: invalid params in {params}: {case.key}: "), lines[0]
    assert case.problem in lines[0]


def test_a_missing_file_is_named_in_one_line(tmp_path: Path) -> None:
    """``make docs`` reads the file's text as well as its params, and names a missing file as
    the loader does (which refuses unparsable ones too: phase 2's test_params). In a process of
    its own: the one case of a command given its file that is run as a learner runs it."""
    params = tmp_path / "params.yaml"  # never written
    lines = run("docs render --params {params} --out {out}", PROJECT_ROOT, tmp_path, params)
    assert lines == [f"error: cannot read params {params}: No such file or directory"]
