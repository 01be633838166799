"""The default sqlite store is created whole or not at all (``tracking.ensure_store``).

The oracle for "half-created" is MLflow itself: a store MLflow refuses to open before the fix
opens after it, with no run lost; a store that holds a run is never thrown away.
"""

from __future__ import annotations

import os
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
from phase2_pipelines.tracking import TEMPLATE_DIR, StoreBroken, ensure_store, store_content

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
    lengths = []
    for template in (None, tmp_path / "timing-tmp"):  # a creation from the template, and without
        env = dict(os.environ)
        if template is not None:
            template.mkdir()
            env["TMPDIR"] = str(template)
        started = time.perf_counter()
        where = str(tmp_path / f"timing{len(lengths)}")
        subprocess.run([sys.executable, "-c", CREATE, where], env=env, check=True)
        lengths.append(time.perf_counter() - started)  # interpreter start included
    for index, draw in enumerate(rng.uniform(0.0, 1.0, 6)):
        delay = draw * lengths[index % 2]
        state = tmp_path / f"kill{index}"
        # Half the kills land with no migrated template yet (a temporary directory of their
        # own): the kill then cuts the template's migration, not the copy of it.
        fresh = tmp_path / f"tmp{index}"
        fresh.mkdir()
        env = {**os.environ, "TMPDIR": str(fresh)} if index % 2 else dict(os.environ)
        process = subprocess.Popen([sys.executable, "-c", CREATE, str(state)], env=env)
        time.sleep(float(delay))
        process.send_signal(signal.SIGKILL)
        process.wait()
        settings = _settings(state)
        ensure_store(settings)
        assert [e.name for e in _client(settings).search_experiments()] == ["Default"], delay
        if index % 2:  # and the template the kill cut short is made whole by the next creation
            again = subprocess.run(
                [sys.executable, "-c", CREATE, str(tmp_path / f"again{index}")], env=env, check=True
            )
            assert again.returncode == 0
            templates = list((fresh / TEMPLATE_DIR).glob("empty-*.db"))
            assert len(templates) == 1
            assert store_content(templates[0]) == 0
