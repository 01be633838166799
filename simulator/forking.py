"""Copy a capstone run to another folder and make the copy its own.

MLflow's sqlite store holds absolute paths to the run's artifacts, so a plain copy would still
read (and write) the original's. ``copy_run`` copies the folder, then rewrites the old folder's
path to the new one in every text column of the store and in the run's own text files. The
artifacts are left byte for byte as they were: the service verifies each model's checksum
before serving it (an ``MLmodel`` file names its first location, which is only a record).

Two uses: every drill of one seed starts from the same bootstrapped champion (phase 2's
training, the costliest step of a drill, runs once per seed), and a drill played to week N can
be forked to try another response from there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import uuid
from pathlib import Path

STORE_FILE = "mlflow.db"
BINARY_SUFFIXES = {".parquet", ".joblib", ".pkl", ".db", ".npy"}
ARTIFACTS_DIR = "mlartifacts"  # checksummed by the registry: never rewritten


def _relocate_store(store: Path, old: str, new: str) -> None:
    connection = sqlite3.connect(store)
    try:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            columns = connection.execute(f'PRAGMA table_info("{table}")').fetchall()
            for column in columns:
                name, kind = column[1], str(column[2]).upper()
                if "CHAR" in kind or "TEXT" in kind or "CLOB" in kind:
                    connection.execute(
                        f'UPDATE "{table}" SET "{name}" = replace("{name}", ?, ?)'
                        f' WHERE instr("{name}", ?) > 0',
                        (old, new, old),
                    )
        connection.commit()
    finally:
        connection.close()


def _relocate_files(root: Path, old: str, new: str) -> None:
    before, after = old.encode(), new.encode()
    for path in root.rglob("*"):
        if not path.is_file() or path.suffix in BINARY_SUFFIXES:
            continue
        if ARTIFACTS_DIR in path.relative_to(root).parts:
            continue
        data = path.read_bytes()
        if before in data:
            path.write_bytes(data.replace(before, after))


def copy_run(source: Path, target: Path) -> Path:
    """Copy the run at ``source`` to ``target`` (which must not exist) as a run of its own.

    The copy is built next to ``target`` and renamed into place, so a reader never sees half of
    it, and two processes racing to build the same target leave one whole copy.
    """
    source, target = source.resolve(), target.resolve()
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    shutil.copytree(source, partial)
    for old in (str(source),):
        _relocate_store(partial / STORE_FILE, old, str(target))
        _relocate_files(partial, old, str(target))
    # The partial folder's own name appears nowhere: relocation wrote the final path.
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(partial, target)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        if not target.exists():
            raise
    return target


def template_key(*parts: str) -> str:
    """A short stable name for a template built from these parts."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
