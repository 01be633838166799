"""Stage ``validate``: both frames against the data contract; a bad batch is quarantined."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from phase1_foundations.contract import validate_frame
from phase1_foundations.repro import dataset_fingerprint
from phase1_foundations.settings import Settings, get_settings
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.workdir import StageError, WorkDir, write_json


class DataRejected(StageError):  # noqa: N818 - the batch is rejected, by design
    """The batch failed the contract; it was quarantined and nothing was trained on it."""


def quarantine(
    frame: pd.DataFrame, name: str, report: dict[str, object], settings: Settings
) -> Path:
    """Keep a rejected batch and its reason where someone can inspect and replay it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder = settings.quarantine_dir / f"{stamp}-{name}-{dataset_fingerprint(frame)[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "batch.parquet", index=False)
    write_json(folder / "report.json", report)
    return folder


def validate(work: WorkDir, settings: Settings | None = None) -> dict[str, object]:
    """Check both frames against the contract; quarantine and stop on any violation."""
    settings = settings or get_settings()
    reports: dict[str, object] = {}
    failures: list[str] = []
    for name in ("train", "holdout"):
        frame = pd.read_parquet(work.ingest / f"{name}.parquet")
        report = validate_frame(frame, require_label=True)
        reports[name] = report.to_dict()
        if not report.ok:
            folder = quarantine(frame, name, report.to_dict(), settings)
            failures.append(f"{name} batch rejected, quarantined in {folder}:\n{report.summary()}")
    write_json(work.validate / "report.json", reports)
    if failures:
        raise DataRejected("\n".join(failures))
    return reports


def main(params: PipelineParams, work: WorkDir) -> str:
    validate(work)
    return "both batches pass the data contract"
