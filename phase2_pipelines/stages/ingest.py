"""Stage ``ingest``: the labeled training window and the later holdout, written as parquet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml

from phase1_foundations.repro import dataset_fingerprint
from phase1_foundations.settings import Settings, get_settings
from phase1_foundations.telco import load_telco
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.workdir import WEIGHT_COLUMN, WEIGHTS_FILE, WorkDir, write_json


def dvc_data_version(settings: Settings) -> str | None:
    """The md5 DVC recorded for the raw Telco data (``data/raw/telco.dvc``)."""
    pointer = settings.raw_data_dir / "telco.dvc"
    if not pointer.is_file():
        return None
    outs = yaml.safe_load(pointer.read_text()).get("outs", [{}])
    return str(outs[0].get("md5")) if outs else None


def load_window(params: PipelineParams, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The labeled training window and the later holdout, from the configured source."""
    if params.data.source == "telco":
        splits = load_telco(settings)
        return splits.train, splits.test
    from phase2_pipelines.world_source import load_world_window

    return load_world_window(params.data.world)


def ingest(
    params: PipelineParams,
    work: WorkDir,
    settings: Settings | None = None,
    window: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    weights: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, object]:
    """Write the training window and holdout as parquet, with their fingerprints; and the rows'
    weights when a caller weighs them (the capstone weighs recent weeks more)."""
    settings = settings or get_settings()
    train, holdout = window or load_window(params, settings)
    work.ingest.mkdir(parents=True, exist_ok=True)
    train.to_parquet(work.ingest / "train.parquet", index=False)
    holdout.to_parquet(work.ingest / "holdout.parquet", index=False)
    (work.ingest / WEIGHTS_FILE).unlink(missing_ok=True)
    if weights is not None:
        pd.DataFrame({WEIGHT_COLUMN: np.concatenate(weights)}).to_parquet(
            work.ingest / WEIGHTS_FILE, index=False
        )
    summary: dict[str, object] = {
        "source": params.data.source,
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "train_fingerprint": dataset_fingerprint(train),
        "holdout_fingerprint": dataset_fingerprint(holdout),
        "dvc_data_version": dvc_data_version(settings) if params.data.source == "telco" else None,
    }
    if weights is not None:
        summary["weights"] = {
            "train_total": round(float(np.sum(weights[0])), 6),
            "holdout_total": round(float(np.sum(weights[1])), 6),
        }
    write_json(work.ingest / "ingest.json", summary)
    return summary


def main(params: PipelineParams, work: WorkDir) -> str:
    summary = ingest(params, work)
    return (
        f"ingested {summary['train_rows']} training and {summary['holdout_rows']}"
        f" holdout rows from {summary['source']}"
    )
