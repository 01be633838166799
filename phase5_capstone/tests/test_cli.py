"""The capstone's command line: a run it must refuse is one line on stderr and exit code 2, never
a traceback; and the commands that only read a run start without the run's machinery."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from phase5_capstone.state import Manifest, RunPaths

# What `explain`, `summary` and `timeline` need not import: MLflow, the runner and the service.
MACHINERY = ("mlflow", "phase5_capstone.runner", "phase5_capstone.serving")


def test_a_run_of_another_version_of_its_scenario_is_refused_in_one_line(tmp_path: Path) -> None:
    paths = RunPaths.of(tmp_path, "smoke")
    other = Manifest(run="smoke", scenario="smoke", scenario_fingerprint="edited", weeks=12)
    paths.write_manifest(other)
    done = subprocess.run(
        [sys.executable, "-m", "phase5_capstone", "run", "--scenario", "smoke", "--no-progress"],
        env={**os.environ, "MLOPS_STATE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: "), done.stderr
    assert "another version of scenario 'smoke'" in done.stderr
    assert "--fresh" in done.stderr  # what to do about it
    assert len(done.stderr.strip().splitlines()) == 1  # no traceback
    assert paths.read_manifest() == other  # refused: nothing of the old run was touched


def test_the_commands_that_read_a_run_start_without_its_machinery() -> None:
    """`run` imports MLflow and the service when it starts; the CLI module itself does not."""
    probe = (
        "import sys; import phase5_capstone.__main__;"
        f" print(sorted(m for m in {MACHINERY!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert loaded.stdout.strip() == "[]"
    # the check can fail: importing the runner loads every part of the machinery
    probe = probe.replace("phase5_capstone.__main__", "phase5_capstone.runner")
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert loaded.stdout.strip() == str(sorted(MACHINERY))
