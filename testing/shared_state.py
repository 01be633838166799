"""A state directory built once per test run, and a copy of it for each module that needs one.

Training a champion costs seconds of CPU, and under pytest-xdist a session fixture is built once
per worker. So the first process to ask builds the template, under a lock, in the folder of the
run that every worker shares; the others wait, then copy it. Each copy is a state directory of its
own: the sqlite MLflow store records absolute paths (each experiment's artifact location, each
run's artifact URI, each model version's source), and the copy's are rewritten to name the copy,
so the runs and versions a module adds land in its own folders, and every path the service or a
test reads is the copy's, never the template's or another module's.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from phase2_pipelines.params import PipelineParams
from phase2_pipelines.pipeline import run_pipeline
from phase2_pipelines.tracking import locked_file
from testing.store import isolated_mlflow, workdir

COMPLETE = ".complete"  # written last: a template without it is a build cut short


def run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of this run that every xdist worker shares: the base folder's parent
    under xdist (pytest makes it afresh for each run), the base folder itself without workers (its
    parent is shared with other runs, which must never find this run's templates)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(root: Path, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``root/name``, filled by ``build`` in the first process that asks; the others
    wait for it. Never written again once complete: modules use copies (``copy_state``)."""
    template = root / name
    with locked_file(root / f".{name}.lock"):
        if not (template / COMPLETE).exists():
            shutil.rmtree(template, ignore_errors=True)
            template.mkdir(parents=True)
            build(template)
            (template / COMPLETE).touch()
    return template


def copy_state(template: Path, target: Path) -> None:
    """Copy a template into ``target``, every sqlite store in it repointed at the copy.

    Artifacts are copied byte for byte: a model's files are checksummed in the registry. (Its
    MLmodel file still names the template's folder as its ``artifact_path``, which MLflow only
    reports: models load from the version's source, which the store now gives as the copy's.)"""
    shutil.copytree(template, target, ignore=shutil.ignore_patterns(COMPLETE), dirs_exist_ok=True)
    replacements = _replacements(template, target)
    for store in target.rglob("*.db"):
        repoint_store(store, replacements)


def _replacements(old: Path, new: Path) -> dict[str, str]:
    """The folder ``old`` by ``new``, as written and resolved, as paths and as file URIs."""
    return {
        str(old): str(new),
        str(old.resolve()): str(new.resolve()),
        old.resolve().as_uri(): new.resolve().as_uri(),
    }


def repoint_store(store: Path, replacements: dict[str, str]) -> int:
    """Apply ``replacements`` to every text value of a sqlite store; how many values changed."""
    changed = 0
    with contextlib.closing(sqlite3.connect(store)) as db:
        tables = [
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            columns = [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                for before, after in replacements.items():
                    cursor = db.execute(
                        f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?)'
                        f' WHERE typeof("{column}") = \'text\' AND instr("{column}", ?) > 0',
                        (before, after, before),
                    )
                    changed += cursor.rowcount
        db.commit()
    return changed


def train_into(folder: Path, params: PipelineParams, name: str, saved_as: str) -> None:
    """Run phase 2's pipeline with ``params`` in the state directory ``folder/var`` (its own
    MLflow store), and keep what it registered in ``folder/saved_as`` for the template's users."""
    with (
        pytest.MonkeyPatch.context() as patch,
        isolated_mlflow(patch, folder / "var") as settings,
    ):
        registration = run_pipeline(params, workdir(settings, name), settings)
    (folder / saved_as).write_bytes(pickle.dumps(registration))
