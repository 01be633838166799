"""MLflow wiring: where runs and artifacts go, and which requirements a logged model pins.

The default store is a sqlite file that MLflow creates on first use, in some forty migrations.
A process killed among them leaves a half-created store that every later start refuses (``table
... already exists``). So the store is created and migrated in a temporary file and linked into
place only when complete (``ensure_store``); a half-created store found in place (left by an
older version, or by a tool that created it directly) is rebuilt while it holds no run and no
model, and refused with a clear message otherwise.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from phase1_foundations.settings import Settings, get_settings

TRAINING_EXPERIMENT = "churn-training"
EXPERIMENTS_EXPERIMENT = "churn-experiments"
# What the fitted pipeline needs to unpickle and predict; pinned to this environment's versions.
MODEL_REQUIREMENTS = ("scikit-learn", "numpy", "pandas", "scipy", "skops")


def model_pip_requirements() -> list[str]:
    """Explicit pins, so MLflow does not spend seconds inferring them."""
    return [f"{name}=={metadata.version(name)}" for name in MODEL_REQUIREMENTS]


SQLITE_PREFIX = "sqlite:///"
CREATING_SUFFIX = ".creating"
TEMPLATE_DIR = "mlops-path-mlflow"  # under the temporary directory: the migrated empty store
# Tables that hold something of value: a store with a row in any of them is never rebuilt.
CONTENT_TABLES = ("runs", "registered_models", "model_versions", "logged_models")


class StoreBroken(RuntimeError):  # noqa: N818 - the state of the store, said in one line
    """A sqlite store that is not fully created yet holds runs or models: not rebuilt."""


@functools.cache
def _head_revision() -> str:
    """The schema revision this MLflow creates (its migrations' single head; read once per
    process: alembic parses every migration script to find it)."""
    from mlflow.store.db.utils import _get_latest_schema_revision

    return str(_get_latest_schema_revision())  # type: ignore[no-untyped-call]


def store_revision(path: Path) -> str | None:
    """The schema revision a sqlite store is stamped with; None if it has none (or no table)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        try:
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            return None
    return None if row is None else str(row[0])


def store_content(path: Path) -> int:
    """Rows in the tables that hold runs and models (0 for a store that holds nothing yet)."""
    found = 0
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        for table in CONTENT_TABLES:
            with contextlib.suppress(sqlite3.DatabaseError):
                found += int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    return found


def _migrated(path: Path, artifact_root: str) -> None:
    """A new, empty store at ``path``, migrated to MLflow's head revision."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    SqlAlchemyStore(f"{SQLITE_PREFIX}{path}", artifact_root)  # type: ignore[no-untyped-call]
    _forget_engines(f"{SQLITE_PREFIX}{path}")


def empty_store_template() -> Path:
    """A migrated, empty store for this MLflow's schema, made once per machine in the temporary
    directory and copied for every new store: migrating one from nothing costs seconds (every
    test, benchmark run and capstone run makes its own store). Made in a temporary file and
    renamed into place, so a reader sees a whole template or none; checked before every use."""
    head = _head_revision()
    folder = Path(tempfile.gettempdir()) / TEMPLATE_DIR
    template = folder / f"empty-{head}.db"
    if template.exists() and store_revision(template) == head and not store_content(template):
        return template
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{template.name}.{uuid.uuid4().hex}{CREATING_SUFFIX}"
    try:
        _migrated(partial, folder.as_uri())
        partial.replace(template)
    finally:
        for leftover in folder.glob(f"{partial.name}*"):
            leftover.unlink(missing_ok=True)
    return template


def _copy_template(partial: Path, artifact_root: str) -> None:
    """``partial`` becomes a copy of the template, its default experiment pointed at
    ``artifact_root`` (what creating the store there would have recorded)."""
    shutil.copyfile(empty_store_template(), partial)
    with contextlib.closing(sqlite3.connect(partial)) as db:
        db.execute(
            "UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
            (artifact_root,),
        )
        db.commit()


def _create_store(path: Path) -> None:
    """Create and migrate a store in a temporary file (a copy of the migrated template), then
    link it into place (never over a store that another process put there first)."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}{CREATING_SUFFIX}")
    try:
        try:
            _copy_template(partial, path.parent.as_uri())
        except (OSError, sqlite3.DatabaseError):  # no usable template: migrate from nothing
            partial.unlink(missing_ok=True)
            _migrated(partial, path.parent.as_uri())
        try:
            os.link(partial, path)
        except FileExistsError:
            pass  # another process created it meanwhile: use theirs
        except OSError:  # a file system without hard links; the lock keeps our processes out
            if not path.exists():
                partial.replace(path)
    finally:
        for leftover in path.parent.glob(f"{partial.name}*"):
            leftover.unlink(missing_ok=True)


def _forget_engines(uri: str) -> None:
    """Close the connections MLflow's stores keep per URI (they cache one engine each): after
    a rebuild they would still point at the file that was replaced."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

    for store in (TrackingStore, RegistryStore):
        engine = store._engine_map.pop(uri, None)
        if engine is not None:
            engine.dispose()


def ensure_store(settings: Settings) -> None:
    """Make sure the default sqlite store is complete before MLflow opens it (see the module
    doc); any other tracking URI is left to MLflow."""
    uri = settings.tracking_uri
    if not uri.startswith(SQLITE_PREFIX):
        return
    path = Path(uri.removeprefix(SQLITE_PREFIX))
    if path.exists() and store_revision(path) == _head_revision():
        return  # the common case: one stat and one query
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked_file(path.with_name(f".{path.name}.lock")):
        for stale in path.parent.glob(f".{path.name}.*{CREATING_SUFFIX}*"):
            stale.unlink(missing_ok=True)  # a creation a kill cut short (we hold the lock)
        if path.exists():
            revision = store_revision(path)
            if revision == _head_revision():
                return
            if revision is not None and store_content(path):
                return  # an older store with runs: MLflow says how to upgrade it
            if store_content(path):
                raise StoreBroken(
                    f"the MLflow store {path} was never fully created but holds runs or models;"
                    " move it aside (or remove it) and run again"
                )
            path.unlink()
            _forget_engines(uri)
        _create_store(path)


@contextlib.contextmanager
def locked_file(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``lock`` (created if missing), across processes."""
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def project_client(settings: Settings | None = None) -> MlflowClient:
    """A client of the project's store: MLflow's configured tracking URI, else the settings'.

    A plain ``MlflowClient()`` in a process that configured nothing uses ``./mlflow.db`` in the
    current directory: a different, empty store.
    """
    from mlflow.tracking._tracking_service.utils import is_tracking_uri_set

    # Set by configure_mlflow in this process, or exported as MLFLOW_TRACKING_URI.
    if is_tracking_uri_set():  # type: ignore[no-untyped-call]
        return MlflowClient()
    settings = settings or get_settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    ensure_store(settings)
    return MlflowClient(tracking_uri=settings.tracking_uri)


def configure_mlflow(
    settings: Settings | None = None, experiment: str = TRAINING_EXPERIMENT
) -> str:
    """Point MLflow at the configured store, make ``experiment`` active, and return its id.

    With the default sqlite store, artifacts go under ``<state>/mlartifacts`` rather than MLflow's
    default of ``./mlruns`` relative to whatever directory the process started in.
    """
    settings = settings or get_settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    ensure_store(settings)
    mlflow.set_tracking_uri(settings.tracking_uri)
    client = MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        location = (settings.state_dir / "mlartifacts" / experiment).resolve().as_uri()
        experiment_id = str(client.create_experiment(experiment, artifact_location=location))
    else:
        experiment_id = str(found.experiment_id)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id
