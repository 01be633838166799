"""An isolated state directory per test or module: its own MLflow store, and MLflow's process
state put back after, so no test reads another's runs or registry."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import mlflow
import mlflow.tracking._tracking_service.utils as mlflow_tracking_state
import mlflow.tracking.fluent as mlflow_fluent_state
import pytest

from phase1_foundations.settings import Settings, get_settings
from phase2_pipelines.tracking import SQLITE_PREFIX
from phase2_pipelines.workdir import WorkDir

# mlflow.set_tracking_uri / set_experiment also export these, which Settings and later tests
# would read; each isolated test puts them (and MLflow's module globals) back.
MLFLOW_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID")


@contextmanager
def isolated_mlflow(patch: pytest.MonkeyPatch, state_dir: Path) -> Iterator[Settings]:
    """Settings with their own state directory, and MLflow's process state restored after."""
    saved = {name: os.environ.pop(name, None) for name in MLFLOW_ENV}
    patch.setattr(mlflow_tracking_state, "_tracking_uri", None)
    patch.setattr(mlflow_fluent_state, "_active_experiment_id", None)
    patch.setenv("MLOPS_STATE_DIR", str(state_dir))
    get_settings.cache_clear()
    try:
        yield get_settings()
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # None unsets; the hint omits it
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def workdir(settings: Settings, name: str) -> WorkDir:
    """A pipeline work directory of its own under the settings' state directory."""
    return WorkDir(settings.state_dir / "pipeline" / name)


def copy_store(source: Path, target: Path) -> None:
    """Copy one sqlite MLflow store over another through sqlite's backup API: safe while MLflow
    holds connections to ``target`` (they read the copied rows next), where replacing the file
    would leave them on the old one."""
    with (
        closing(sqlite3.connect(source)) as origin,
        closing(sqlite3.connect(target)) as copy,
    ):
        origin.backup(copy)


def store_file(settings: Settings) -> Path:
    """The sqlite file of the settings' MLflow store (the default one: sqlite)."""
    assert settings.tracking_uri.startswith(SQLITE_PREFIX), settings.tracking_uri
    return Path(settings.tracking_uri.removeprefix(SQLITE_PREFIX))
