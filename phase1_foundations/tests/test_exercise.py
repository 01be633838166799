"""`make check-phase1`: the phase's promises, checked on your machine. It checks; it never repairs.

The exercise in phase1_foundations/README.md asks you to break each promise on purpose (unpin a
dependency, change a byte of raw data, install another version into the environment, train an
unseeded model) and watch the matching check fail. Each failure says what to run to fix it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from phase1_foundations.repro import check_reproducibility
from phase1_foundations.settings import PROJECT_ROOT, Settings
from phase1_foundations.telco import CSV_SHA256, TelcoDataError, load_telco, raw_dir, sha256_file

RESTORE_DATA = "dvc checkout --force data/raw/telco"
ENVIRONMENT = Path(sys.prefix)  # the environment this check runs in is the one it checks
PIN_CHANGE = re.compile(r"^\s*([-+]) (\S+)", re.MULTILINE)
PROJECT_NAME = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["name"]


def _uv() -> str:
    """The environment's locked uv, else one on PATH, else the copy `make setup` bootstraps."""
    for candidate in (
        ENVIRONMENT / "bin" / "uv",
        shutil.which("uv"),
        PROJECT_ROOT / ".tools/bin/uv",
    ):
        if candidate and Path(candidate).exists():
            return str(candidate)
    pytest.fail("uv is not installed: run `make setup` first", pytrace=False)


def _run(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_lockfile_matches_pyproject() -> None:
    done = _run(_uv(), "lock", "--check", "--offline")
    if done.returncode != 0:
        pytest.fail(
            "uv.lock no longer matches pyproject.toml: a dependency changed without re-locking.\n"
            "  Undo the edit (`git checkout pyproject.toml`), or, if you meant it, run `uv lock`\n"
            "  and commit pyproject.toml and uv.lock together.\n"
            f"  uv said: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else '?'}",
            pytrace=False,
        )


def test_installed_environment_matches_the_lock() -> None:
    done = _run(
        _uv(),
        "sync",
        "--frozen",
        "--all-extras",
        "--check",
        UV_PROJECT_ENVIRONMENT=str(ENVIRONMENT),
    )
    changes = [
        (sign, pin)
        for sign, pin in PIN_CHANGE.findall(done.stdout + done.stderr)
        if not pin.startswith(PROJECT_NAME)
    ]  # the project's own editable install is rebuilt whenever pyproject.toml is touched
    if done.returncode != 0 and (changes or PROJECT_NAME not in done.stdout + done.stderr):
        installed = [pin for sign, pin in changes if sign == "-"]
        locked = [pin for sign, pin in changes if sign == "+"]
        pytest.fail(
            f"The environment in {ENVIRONMENT} differs from uv.lock.\n"
            f"  installed: {', '.join(installed) or '-'}\n"
            f"  locked:    {', '.join(locked) or '-'}\n"
            "  Run `make setup` to put the locked versions back.",
            pytrace=False,
        )


def test_raw_data_matches_its_pinned_digests() -> None:
    changed = []
    for name, digest in CSV_SHA256.items():
        found = sha256_file(raw_dir() / name)
        if found != digest:
            changed.append(f"  {name}: sha256 {found}, pinned {digest}")
    if changed:
        pytest.fail(
            "The raw Telco data differs from its pinned sha256:\n" + "\n".join(changed) + "\n"
            f"  Restore it from DVC's cache: `{RESTORE_DATA}`.",
            pytrace=False,
        )


def test_raw_data_matches_its_dvc_version() -> None:
    done = _run(sys.executable, "-m", "dvc", "status", "--json", "data/raw/telco.dvc")
    if done.returncode != 0:
        pytest.fail(f"`dvc status` failed:\n{done.stderr.strip()}", pytrace=False)
    status = json.loads(done.stdout or "{}")
    if status:
        pytest.fail(
            "data/raw/telco differs from the version data/raw/telco.dvc records:\n"
            f"  {json.dumps(status)}\n"
            f"  Restore it: `{RESTORE_DATA}`.",
            pytrace=False,
        )


@pytest.mark.parametrize("seed", [42, 7])
def test_training_is_deterministic(seed: int) -> None:
    try:  # the data on disk as it is: load_telco() would re-fetch it over your changes
        splits = load_telco(directory=raw_dir())
    except (TelcoDataError, ValueError, OSError) as error:
        pytest.fail(
            f"The raw data does not load ({error}).\n  Restore it first: `{RESTORE_DATA}`.",
            pytrace=False,
        )
    result = check_reproducibility(Settings(seed=seed), splits)
    if not result.identical:
        pytest.fail(
            f"Two trainings in one process (seed {seed}) predicted differently:\n"
            f"  run 1 sha256 {result.hashes[0]}\n  run 2 sha256 {result.hashes[1]}\n"
            "  Something random in repro.build_baseline takes no seed: pass random_state=seed\n"
            "  to every estimator that has one.",
            pytrace=False,
        )
