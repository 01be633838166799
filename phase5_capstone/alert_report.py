"""Evidently's HTML and JSON report for a week, written when an alert begins, not every week.

The fast checks run every week; Evidently takes seconds per report, so the capstone writes one
when the monitor's verdict turns to an alert (or a failure) after a week without one: the week
someone will open it. The reference is the serving version's own holdout, the rows its gate
judged it on, kept in the pipeline folder of the week it was trained.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from phase1_foundations.contract import FEATURE_NAMES, LABEL_COLUMN, to_model_frame
from phase4_monitoring.dataquality import validate_window
from phase5_capstone.context import Context

REPORT_DIR = "evidently"


def training_folder(ctx: Context, version: str) -> Path | None:
    """The pipeline folder that registered ``version`` (bootstrap, a retrain, a hand release)."""
    for path in sorted(ctx.paths.root.glob("weeks/*/*/register/registered.json")):
        if str(json.loads(path.read_text()).get("version")) == version:
            return path.parents[1]
    return None


def write_alert_report(
    ctx: Context, week: int, version: str, frame: pd.DataFrame, scores: np.ndarray | None
) -> Path | None:
    """The week against ``version``'s holdout; None if that holdout is not on disk."""
    from phase4_monitoring.evidently_reports import build_report, evidently_frame, write_report

    folder = training_folder(ctx, version)
    if folder is None:
        return None
    holdout = pd.read_parquet(folder / "ingest" / "holdout.parquet")
    champion = ctx.champion(version)
    reference = evidently_frame(
        holdout,
        champion.score(to_model_frame(holdout[list(FEATURE_NAMES)])),
        holdout[LABEL_COLUMN].to_numpy(),
    )
    validation = validate_window(frame)
    if scores is not None and validation.schema_ok and not validation.bad_rows.any():
        current = evidently_frame(frame, scores)
    else:  # a broken week: summarised and compared column by column, unscored
        current = evidently_frame(frame)
    files = write_report(
        build_report(reference, current, ctx.monitoring), ctx.paths.week(week) / REPORT_DIR
    )
    return files.html
