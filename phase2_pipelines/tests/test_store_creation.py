"""The default sqlite store is created whole or not at all (``tracking.ensure_store``).

The oracle for "half-created" is MLflow itself: a store MLflow refuses to open before the fix
opens after it, with no run lost; a store that holds a run is never thrown away.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from phase1_foundations.settings import Settings
from phase2_pipelines.tracking import StoreBroken, ensure_store

CREATE = "from phase2_pipelines.tracking import ensure_store as e; from phase1_foundations.settings"
CREATE += " import Settings as S; import sys; e(S(state_dir=sys.argv[1]))"


def _settings(state: Path) -> Settings:
    return Settings(state_dir=state, mlflow_tracking_uri=None)


def _unstamp(db: Path) -> None:
    """What a kill among MLflow's migrations leaves: tables, but no finished schema stamp."""
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM alembic_version")


def _client(settings: Settings) -> MlflowClient:
    return MlflowClient(tracking_uri=settings.tracking_uri)


def test_a_fresh_store_is_complete_and_opens(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ensure_store(settings)
    assert (tmp_path / "mlflow.db").exists()
    assert [p.name for p in tmp_path.iterdir() if "creating" in p.name] == []  # no leftovers
    assert [e.name for e in _client(settings).search_experiments()] == ["Default"]


def test_a_half_created_empty_store_is_rebuilt(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ensure_store(settings)
    _unstamp(tmp_path / "mlflow.db")
    with pytest.raises((MlflowException, sqlite3.OperationalError, Exception)):
        _client(settings).search_experiments()  # MLflow alone cannot open it (the bug)
    ensure_store(settings)
    experiment = _client(settings).create_experiment("after-rebuild")
    assert _client(settings).get_experiment(experiment).name == "after-rebuild"


def test_a_half_created_store_with_a_run_is_refused_not_thrown_away(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ensure_store(settings)
    client = _client(settings)
    run = client.create_run(client.create_experiment("kept"))
    _unstamp(tmp_path / "mlflow.db")
    before = (tmp_path / "mlflow.db").read_bytes()
    with pytest.raises(StoreBroken, match="holds runs or models"):
        ensure_store(settings)
    assert (tmp_path / "mlflow.db").read_bytes() == before  # untouched
    with sqlite3.connect(tmp_path / "mlflow.db") as connection:
        ids = [row[0] for row in connection.execute("SELECT run_uuid FROM runs")]
    assert ids == [run.info.run_id]


@pytest.mark.slow
def test_a_creation_killed_at_any_moment_leaves_a_store_that_opens(tmp_path: Path) -> None:
    """SIGKILL at random moments of the creation (seeded), then create again: it opens."""
    rng = np.random.default_rng(18)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", CREATE, str(tmp_path / "timing")], check=True)
    length = time.perf_counter() - started  # a whole creation, interpreter start included
    for index, delay in enumerate(rng.uniform(0.0, length, 6)):
        state = tmp_path / f"kill{index}"
        process = subprocess.Popen([sys.executable, "-c", CREATE, str(state)])
        time.sleep(float(delay))
        process.send_signal(signal.SIGKILL)
        process.wait()
        settings = _settings(state)
        ensure_store(settings)
        assert [e.name for e in _client(settings).search_experiments()] == ["Default"], delay
