"""copy_run on a hand-made run: paths in the store and the run's files move, artifacts do not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from simulator.forking import copy_run


def make_run(root: Path) -> None:
    (root / "mlartifacts" / "model").mkdir(parents=True)
    (root / "mlartifacts" / "model" / "MLmodel").write_text(f"artifact_path: file://{root}/x\n")
    (root / "weeks").mkdir()
    (root / "weeks" / "note.json").write_text(f'{{"where": "{root}/weeks"}}')
    store = sqlite3.connect(root / "mlflow.db")
    store.execute("CREATE TABLE model_versions (version INTEGER, storage_location VARCHAR(500))")
    store.execute("INSERT INTO model_versions VALUES (1, ?)", (f"file://{root}/mlartifacts/m",))
    store.commit()
    store.close()


def test_a_copied_run_points_at_itself_and_keeps_its_artifacts_byte_for_byte(
    tmp_path: Path,
) -> None:
    source, target = tmp_path / "a" / "run", tmp_path / "b" / "run"
    make_run(source)
    artifact = (source / "mlartifacts" / "model" / "MLmodel").read_bytes()
    copy_run(source, target)
    store = sqlite3.connect(target / "mlflow.db")
    (location,) = store.execute("SELECT storage_location FROM model_versions").fetchone()
    store.close()
    assert location == f"file://{target.resolve()}/mlartifacts/m"
    assert str(source) not in (target / "weeks" / "note.json").read_text()
    assert (target / "mlartifacts" / "model" / "MLmodel").read_bytes() == artifact  # checksummed
    original = sqlite3.connect(source / "mlflow.db")
    (kept,) = original.execute("SELECT storage_location FROM model_versions").fetchone()
    original.close()
    assert kept == f"file://{source}/mlartifacts/m"  # the source is untouched
    assert not list(tmp_path.glob("b/.*partial"))  # no half copy left behind
