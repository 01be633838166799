"""`make check-phase1`: the phase's promises, checked on your machine.

The exercise in phase1_foundations/README.md asks you to break each promise on purpose (unpin a
dependency, edit a byte of raw data, drop a pin from the lock) and watch the matching check fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from phase1_foundations.repro import check_reproducibility
from phase1_foundations.settings import PROJECT_ROOT, Settings
from phase1_foundations.telco import CSV_SHA256, raw_dir, sha256_file


def _uv() -> str:
    found = shutil.which("uv") or str(PROJECT_ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        pytest.fail("uv is not installed: run `make setup`")
    return found


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)


def test_lockfile_matches_pyproject() -> None:
    done = _run(_uv(), "lock", "--check")
    assert done.returncode == 0, f"uv.lock is stale; run `uv lock`:\n{done.stderr}"


def test_installed_environment_matches_the_lock() -> None:
    done = _run(_uv(), "sync", "--frozen", "--all-extras", "--check")
    assert done.returncode == 0, f"the environment drifted from uv.lock:\n{done.stderr}"


def test_raw_data_matches_its_pinned_digests() -> None:
    for name, digest in CSV_SHA256.items():
        assert sha256_file(raw_dir() / name) == digest, f"{name} differs from the pinned sha256"


def test_raw_data_matches_its_dvc_version() -> None:
    done = _run(sys.executable, "-m", "dvc", "status", "--json", "data/raw/telco.dvc")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout or "{}") == {}, f"data/raw/telco changed: {done.stdout}"


@pytest.mark.parametrize("seed", [42, 7])
def test_training_is_deterministic(seed: int) -> None:
    result = check_reproducibility(Settings(seed=seed))
    assert result.identical, result.render()
