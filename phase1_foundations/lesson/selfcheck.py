"""`make check-phase1`: the phase's promises, checked on your machine. It checks; it never repairs.

The exercise in phase1_foundations/README.md asks you to break each promise on purpose (unpin a
dependency, change a byte of raw data, install another version into the environment, train an
unseeded model) and watch the matching requirement fail. Each failure says what to run to fix it.
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

from phase1_foundations.lesson.findings import Finding, report_findings
from phase1_foundations.repro import check_reproducibility
from phase1_foundations.settings import PROJECT_ROOT, Settings, load_settings
from phase1_foundations.telco import CSV_SHA256, TelcoDataError, load_telco, raw_dir, sha256_file

RESTORE_DATA = "dvc checkout --force data/raw/telco"
ENVIRONMENT = Path(sys.prefix)  # the environment this check runs in is the one it checks
PIN_CHANGE = re.compile(r"^\s*([-+]) (\S+)", re.MULTILINE)
PROJECT_NAME = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["name"]
SEEDS = (42, 7)
NO_UV = "uv is not installed: run `make setup` first"

LOCKFILE = "uv.lock matches pyproject.toml"
INSTALLED = "the environment matches uv.lock"
DIGESTS = "the raw data matches its pinned sha256"
DVC_VERSION = "the raw data matches its DVC version"


def deterministic(seed: int) -> str:
    return f"training is deterministic (seed {seed})"


def _uv() -> str | None:
    """The environment's locked uv, else one on PATH, else the copy `make setup` bootstraps."""
    for candidate in (
        ENVIRONMENT / "bin" / "uv",
        shutil.which("uv"),
        PROJECT_ROOT / ".tools/bin/uv",
    ):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


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


def lockfile_matches_pyproject() -> Finding:
    uv = _uv()
    if uv is None:
        return Finding(LOCKFILE, False, advice=NO_UV)
    done = _run(uv, "lock", "--check", "--offline")
    if done.returncode == 0:
        return Finding(LOCKFILE, True)
    said = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "?"
    return Finding(
        LOCKFILE,
        False,
        "uv.lock no longer matches pyproject.toml: a dependency changed without re-locking",
        "Undo the edit (`git checkout pyproject.toml`), or, if you meant it, run `uv lock`\n"
        "and commit pyproject.toml and uv.lock together.\n"
        f"uv said: {said}",
    )


def environment_matches_the_lock() -> Finding:
    uv = _uv()
    if uv is None:
        return Finding(INSTALLED, False, advice=NO_UV)
    done = _run(
        uv,
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
    if done.returncode == 0 or not (changes or PROJECT_NAME not in done.stdout + done.stderr):
        return Finding(INSTALLED, True)
    installed = [pin for sign, pin in changes if sign == "-"]
    locked = [pin for sign, pin in changes if sign == "+"]
    return Finding(
        INSTALLED,
        False,
        f"the environment in {ENVIRONMENT} differs from uv.lock",
        f"installed: {', '.join(installed) or '-'}\n"
        f"locked:    {', '.join(locked) or '-'}\n"
        "Run `make setup` to put the locked versions back.",
    )


def raw_data_matches_its_pinned_digests() -> Finding:
    changed = []
    for name, digest in CSV_SHA256.items():
        found = sha256_file(raw_dir() / name)
        if found != digest:
            changed.append(f"{name}: sha256 {found}, pinned {digest}")
    if not changed:
        return Finding(DIGESTS, True)
    return Finding(
        DIGESTS,
        False,
        "the raw Telco data differs from its pinned sha256",
        "\n".join(changed) + f"\nRestore it from DVC's cache: `{RESTORE_DATA}`.",
    )


def raw_data_matches_its_dvc_version() -> Finding:
    done = _run(sys.executable, "-m", "dvc", "status", "--json", "data/raw/telco.dvc")
    if done.returncode != 0:
        return Finding(DVC_VERSION, False, "`dvc status` failed", done.stderr.strip())
    status = json.loads(done.stdout or "{}")
    if not status:
        return Finding(DVC_VERSION, True)
    return Finding(
        DVC_VERSION,
        False,
        "data/raw/telco differs from the version data/raw/telco.dvc records",
        f"{json.dumps(status)}\nRestore it: `{RESTORE_DATA}`.",
    )


def training_is_deterministic(seed: int) -> Finding:
    name = deterministic(seed)
    try:  # the data on disk as it is: load_telco() would re-fetch it over your changes
        splits = load_telco(directory=raw_dir())
    except (TelcoDataError, ValueError, OSError) as error:
        return Finding(
            name, False, f"the raw data does not load ({error})", f"Restore it: `{RESTORE_DATA}`."
        )
    result = check_reproducibility(load_settings(Settings, seed=seed), splits)
    if result.identical:
        return Finding(name, True)
    return Finding(
        name,
        False,
        "two trainings in one process predicted differently",
        f"run 1 sha256 {result.hashes[0]}\nrun 2 sha256 {result.hashes[1]}\n"
        "Something random in repro.build_baseline takes no seed: pass random_state=seed\n"
        "to every estimator that has one.",
    )


def check_promises() -> list[Finding]:
    """Every promise of the phase, checked in the order the exercise breaks them."""
    return [
        lockfile_matches_pyproject(),
        environment_matches_the_lock(),
        raw_data_matches_its_pinned_digests(),
        raw_data_matches_its_dvc_version(),
        *(training_is_deterministic(seed) for seed in SEEDS),
    ]


def run_selfcheck() -> int:
    """Print each finding; 0 when every promise holds, 1 when one is broken."""
    print("checking the lock, the environment, the raw data and determinism in this checkout")
    return report_findings(
        "check-phase1",
        check_promises(),
        "fix each as advised above, then run `make check-phase1` again",
    )
