"""The ``check`` command's wiring: read the window, fetch the champion, run the checks, print.

Pure logic lives in ``monitor`` and the check modules; this module only moves data between
files, the registry and the terminal, and turns every expected failure into one line on stderr.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from phase1_foundations.contract import FEATURE_NAMES, LABEL_COLUMN, to_model_frame
from phase1_foundations.settings import Settings, get_settings
from phase2_pipelines.params import PipelineParams, load_params
from phase4_monitoring.dataquality import validate_window
from phase4_monitoring.estimate import Calibrator, check_calibration
from phase4_monitoring.monitor import (
    EXIT_CANNOT_CHECK,
    MonitorReference,
    WindowReport,
    monitor_window,
)
from phase4_monitoring.params import MonitoringParams, load_monitoring_params
from phase4_monitoring.reference import Champion, ReferenceUnavailable, holdout_rows, load_champion
from phase4_monitoring.render import render_report
from phase4_monitoring.windows import (
    LOG_SCORE_COLUMN,
    LOG_VERSION_COLUMN,
    WeekRange,
    WindowError,
    attach_labels,
    read_log_window,
    read_window,
)

CHECKS_FILE = "checks.json"


@dataclass(frozen=True)
class CheckRequest:
    path: Path | None = None
    log: Path | None = None
    since: datetime | None = None
    until: datetime | None = None
    weeks: WeekRange | None = None
    labels: Path | None = None
    model_version: str | None = None
    report_dir: Path | None = None
    metrics: Path | None = None  # write the window's Prometheus gauges here


def load_request_window(request: CheckRequest) -> tuple[pd.DataFrame, str]:
    if request.log is not None:
        frame = read_log_window(request.log, request.since, request.until, request.weeks)
        source = f"log {request.log}"
    elif request.path is not None:
        frame, source = read_window(request.path), str(request.path)
    else:
        raise WindowError("give either PATH or --log DIR")
    if request.labels is not None:
        frame = attach_labels(frame, request.labels)
    return frame, source


def logged_scores(frame: pd.DataFrame, version: str) -> np.ndarray | None:
    """The log's own scores, when every row was served by the version being checked."""
    if LOG_SCORE_COLUMN not in frame.columns or LOG_VERSION_COLUMN not in frame.columns:
        return None
    if not (frame[LOG_VERSION_COLUMN].astype(str) == version).all():
        return None
    return np.asarray(pd.to_numeric(frame[LOG_SCORE_COLUMN], errors="coerce"), dtype=np.float64)


def holdout_calibration(
    champion: Champion, settings: Settings, pipeline: PipelineParams, params: MonitoringParams
) -> tuple[Calibrator | None, str]:
    """CBPE needs calibrated scores: check the champion on its holdout, recalibrate if not."""
    try:
        holdout = holdout_rows(champion, settings)
    except (ReferenceUnavailable, OSError, ValueError, RuntimeError) as error:
        return None, f"holdout unavailable ({error}); CBPE uses the scores as they are"
    scores = champion.score(to_model_frame(holdout[list(FEATURE_NAMES)]))
    check = check_calibration(
        holdout[LABEL_COLUMN].to_numpy(),
        scores,
        pipeline.evaluate.calibration_bins,
        params.cbpe.max_ece,
    )
    return check.calibrator, check.describe()


def champion_reference(
    champion: Champion, settings: Settings, pipeline: PipelineParams, params: MonitoringParams
) -> tuple[MonitorReference, str]:
    """What a window is compared with: the champion's profile, baseline and operating point,
    and the calibrator CBPE needs (with a line saying how its calibration was checked)."""
    calibrator, note = holdout_calibration(champion, settings, pipeline, params)
    reference = MonitorReference(
        profile=champion.profile,
        baseline=champion.baseline,
        threshold=champion.threshold,
        business=pipeline.evaluate.business,
        calibration_bins=pipeline.evaluate.calibration_bins,
        calibrator=calibrator,
    )
    return reference, note


def write_evidently(
    report_dir: Path,
    champion: Champion,
    settings: Settings,
    frame: pd.DataFrame,
    params: MonitoringParams,
) -> list[Path]:
    """The Evidently report of this window against the champion's holdout."""
    from phase4_monitoring.evidently_reports import build_report, evidently_frame, write_report

    holdout = holdout_rows(champion, settings)
    reference = evidently_frame(
        holdout,
        champion.score(to_model_frame(holdout[list(FEATURE_NAMES)])),
        holdout[LABEL_COLUMN].to_numpy(),
    )
    validation = validate_window(frame)
    if not validation.schema_ok:  # still summarised and compared, column by column, unscored
        current = evidently_frame(frame)
    else:
        rows = frame[~validation.bad_rows]
        labels = None
        if LABEL_COLUMN in rows.columns:
            known = pd.to_numeric(rows[LABEL_COLUMN], errors="coerce")
            labels = known.to_numpy(dtype=np.int64) if known.notna().all() else None
        scores = champion.score(to_model_frame(rows[list(FEATURE_NAMES)]))
        current = evidently_frame(rows, scores, labels)
    files = write_report(build_report(reference, current, params), report_dir)
    return [files.html, files.json]


def run_check(request: CheckRequest, settings: Settings | None = None) -> int:
    """Print the window's checks and return the exit code (2 when it cannot be checked)."""
    settings = settings or get_settings()
    try:
        pipeline = load_params()
        params = load_monitoring_params()
        frame, source = load_request_window(request)
        champion = load_champion(settings, pipeline.registry.model_name, request.model_version)
    except (WindowError, ReferenceUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    reference, calibration_note = champion_reference(champion, settings, pipeline, params)
    scores = logged_scores(frame, champion.version)
    report = monitor_window(
        frame,
        reference,
        params,
        scorer=None if scores is not None else champion.score,
        scores=scores,
        source=source,
        model=champion.label,
    )
    print(render_report(report))
    print(f"calibration: {calibration_note}")
    if request.report_dir is not None:
        _write_outputs(request.report_dir, report, champion, settings, frame, params)
    if request.metrics is not None:
        from phase4_monitoring.monitor_metrics import window_metrics

        written = window_metrics(report, champion.version).write(request.metrics)
        print(f"wrote Prometheus metrics to {written}")
    return report.exit_code


def _write_outputs(
    directory: Path,
    report: WindowReport,
    champion: Champion,
    settings: Settings,
    frame: pd.DataFrame,
    params: MonitoringParams,
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    checks = directory / CHECKS_FILE
    checks.write_text(report.model_dump_json(indent=2))
    written = [checks]
    try:
        written += write_evidently(directory, champion, settings, frame, params)
    except (ReferenceUnavailable, OSError, ValueError, KeyError) as error:
        print(f"evidently report not written: {error}", file=sys.stderr)
    print("wrote " + ", ".join(str(path) for path in written))
