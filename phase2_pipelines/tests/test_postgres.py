"""The registry's promote and rollback flow on an MLflow store in a real PostgreSQL server.

The sqlite store is what the lessons use; this proves nothing in the flow depends on it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from conftest import postgres_bin_dir
from phase1_foundations.settings import Settings
from phase2_pipelines.registry import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS_CHAMPION,
    Registry,
    RegistryError,
)
from phase2_pipelines.tests.pg_server import PostgresServer, running_postgres
from phase2_pipelines.tracking import configure_mlflow
from testing.store import isolated_mlflow

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(180)]

MODEL_NAME = "churn-model-pg"
FEATURES = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
# Each version learns a different rule, so predictions tell the versions apart.
LABELS = {
    "1": np.array([0, 0, 0, 1, 1, 1]),
    "2": np.array([1, 1, 1, 0, 0, 0]),
    "3": np.array([0, 0, 0, 0, 1, 1]),
}


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None  # the postgres marker skipped (or failed, in CI) without it
    with running_postgres(bin_dir) as server:
        yield server


@pytest.fixture
def mlflow_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """MLflow's process state restored afterwards, and an empty working directory to run in."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    with isolated_mlflow(monkeypatch, tmp_path / "state"):
        yield workdir


def log_and_register(version: str) -> None:
    model = LogisticRegression().fit(FEATURES, LABELS[version])
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
    registered = mlflow.register_model(info.model_uri, MODEL_NAME)
    assert str(registered.version) == version  # versions are numbered in registration order


def rows(server: PostgresServer, query: str) -> list[tuple[object, ...]]:
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(query, (MODEL_NAME,))
        found: list[tuple[object, ...]] = cursor.fetchall()
    connection.close()
    return found


def test_promote_and_rollback_on_postgres(
    postgres: PostgresServer, mlflow_state: Path, tmp_path: Path
) -> None:
    settings = Settings(state_dir=tmp_path / "state", mlflow_tracking_uri=postgres.uri)
    configure_mlflow(settings)
    assert mlflow.get_tracking_uri() == postgres.uri  # runs go to PostgreSQL, not sqlite
    assert mlflow.get_registry_uri() == postgres.uri  # and so does the registry
    for version in LABELS:
        log_and_register(version)
    registry = Registry(MODEL_NAME)

    registry.promote("1", reason="first model")
    assert registry.version_for(CHAMPION) == "1"
    assert registry.version_for(PREVIOUS_CHAMPION) is None

    registry.promote("2", reason="better AUC")
    assert registry.version_for(CHAMPION) == "2"
    assert registry.version_for(PREVIOUS_CHAMPION) == "1"

    registry.rollback(reason="v2 broke on live traffic")
    assert registry.version_for(CHAMPION) == "1"
    assert registry.version_for(PREVIOUS_CHAMPION) is None  # a rollback is used up
    assert registry.version_for(CHALLENGER) is None

    events_before = registry.history()
    with pytest.raises(RegistryError, match="no version 99"):
        registry.promote("99", reason="does not exist")
    assert registry.version_for(CHAMPION) == "1"  # a failed promotion moves nothing
    assert registry.history() == events_before  # and records nothing

    moves = [(e.action, e.alias, e.version, e.replaced, e.reason) for e in registry.history()]
    assert moves == [
        ("promote", CHAMPION, "1", None, "first model"),
        ("demote", PREVIOUS_CHAMPION, "1", None, "better AUC"),
        ("promote", CHAMPION, "2", "1", "better AUC"),
        ("rolled_back", CHAMPION, "2", None, "v2 broke on live traffic"),
        ("rollback", CHAMPION, "1", "2", "v2 broke on live traffic"),
    ]

    champion = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}@champion")
    np.testing.assert_array_equal(champion.predict(FEATURES), LABELS["1"])  # serves v1 again

    # The rows are in PostgreSQL itself, not in some fallback store.
    assert rows(postgres, "SELECT name FROM registered_models WHERE name = %s") == [(MODEL_NAME,)]
    versions = rows(postgres, "SELECT version FROM model_versions WHERE name = %s ORDER BY 1")
    assert versions == [(1,), (2,), (3,)]
    aliases = rows(postgres, "SELECT alias, version FROM registered_model_aliases WHERE name = %s")
    assert aliases == [(CHAMPION, 1)]

    assert list(mlflow_state.iterdir()) == []  # nothing (./mlruns, mlflow.db) in the cwd
    assert (tmp_path / "state" / "mlartifacts").is_dir()  # artifacts went under the state dir


def test_server_is_stopped_and_removed() -> None:
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None
    with running_postgres(bin_dir) as server:
        connection = server.connect()
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database(), inet_server_addr()::text")
            assert cursor.fetchone() == ("mlflow", "127.0.0.1/32")  # listens on loopback only
        connection.close()
        assert server.data_dir.is_dir()
    assert not server.base_dir.exists()  # data, log and socket are gone
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0  # nothing listens any more
