"""What the Drill page plots, week by week, from the drill's capstone run (no Streamlit here).

``dashboard`` reads only what the system wrote for the weeks played so far: scores, the monitor's
window records, the label events, the step outcomes. It never reads the hidden scenario: the
user sees what an on-call engineer would. ``write_evidently`` writes phase 4's Evidently report
for a played week on demand (the capstone's own report writer, against the serving champion's
holdout).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, JsonValue

from phase1_foundations.settings import Settings
from phase5_capstone.alert_report import REPORT_DIR, write_alert_report
from phase5_capstone.state import RunPaths
from phase5_capstone.weekly import SCORES_FILE, served_window
from simulator.debrief import week_signals
from simulator.records import DrillRecord
from simulator.signals import call_ms, read_window
from simulator.system import context_of

HISTOGRAM_BINS = 10  # equal-width bins of predicted churn probability, 0..1


class WeekPanel(BaseModel):
    """One played week, as the dashboard shows it."""

    model_config = ConfigDict(frozen=True)

    week: int
    champion: str | None
    served_by: dict[str, int]
    customers: int
    latency_ms_per_call: float | None
    error_rate: float | None  # share of the week's customers the system did not score
    mean_score: float | None
    score_histogram: tuple[float, ...]  # share of customers per bin, HISTOGRAM_BINS bins
    feature_psi: dict[str, float]
    drifted_features: tuple[str, ...]
    cbpe_auc: float | None
    cbpe_band: tuple[float, float] | None
    cbpe_refuted: str | None = None  # labels contradicted the serving model's estimate
    realized_auc: float | None  # of this week's customers, once their labels arrived
    value_usd: float | None  # the campaign's realized net value for this week's customers
    alerts: dict[str, str]  # signal -> detail, fired this week
    advice: str | None  # what the trigger policy would do (not done: the user is on call)
    events: tuple[str, ...]  # what the system did this week, in words
    evidently_html: str | None


class Dashboard(BaseModel):
    model_config = ConfigDict(frozen=True)

    drill_id: str
    weeks_played: int
    weeks: tuple[WeekPanel, ...]

    def series(self, name: str) -> list[JsonValue]:
        """One field of every week, in week order (for a chart)."""
        return [getattr(panel, name) for panel in self.weeks]


def _histogram(scores: np.ndarray) -> tuple[float, ...]:
    if len(scores) == 0:
        return ()
    counts, _ = np.histogram(scores, bins=HISTOGRAM_BINS, range=(0.0, 1.0))
    return tuple(round(float(c) / len(scores), 4) for c in counts)


def _labels(paths: RunPaths, weeks: int) -> dict[int, tuple[float | None, float | None]]:
    """Per event week: (realized AUC, served net value in USD), from the label events."""
    found: dict[int, tuple[float | None, float | None]] = {}
    for week in range(weeks):
        outcome = paths.read_outcome(week, "labels")
        for event in outcome.events if outcome else ():
            event_week = event.evidence.get("event_week")
            quality = event.evidence.get("quality")
            value = event.evidence.get("business_value")
            if not isinstance(event_week, int) or not isinstance(quality, dict):
                continue
            metrics = quality.get("metrics")
            auc = metrics.get("roc_auc") if isinstance(metrics, dict) else None
            usd = value.get("served_usd") if isinstance(value, dict) else None
            found[event_week] = (
                float(auc) if isinstance(auc, int | float) else None,
                float(usd) if isinstance(usd, int | float) else None,
            )
    return found


def _panel(
    paths: RunPaths,
    week: int,
    chunk_rows: int,
    alerts: dict[str, str],
    labels: dict[int, tuple[float | None, float | None]],
) -> WeekPanel:
    scores_path = paths.week(week) / SCORES_FILE
    scores = pd.read_parquet(scores_path) if scores_path.exists() else None
    ingest = paths.read_outcome(week, "ingest")
    rows = ingest.events[0].evidence.get("rows") if ingest and ingest.events else None
    customers = int(rows) if isinstance(rows, int) else 0
    window = read_window(paths, week)
    report = window.report if window else None
    psi = {}
    for feature in report.drift.features if report else ():
        for evidence in feature.evidence:
            if evidence.metric == "psi" and np.isfinite(evidence.value) and feature.column:
                psi[feature.column] = round(evidence.value, 4)
    estimate = report.estimate if report else None
    events: list[str] = []
    advice = None
    for step in ("drill_release", "drill_rollback", "ingest", "score", "rollout", "retrain"):
        outcome = paths.read_outcome(week, step)
        events.extend(e.summary for e in (outcome.events if outcome else ()))
    advised = paths.read_outcome(week, "advise")
    refuted = None
    if advised and advised.events:
        advice = advised.events[0].summary
        said = advised.events[0].evidence.get("cbpe_refuted")
        refuted = said if isinstance(said, str) else None
    html = paths.week(week) / REPORT_DIR / "evidently.html"
    score_values = scores["score"].to_numpy(dtype=np.float64) if scores is not None else np.zeros(0)
    served = scores["model_version"].value_counts() if scores is not None else pd.Series()
    auc, usd = labels.get(week, (None, None))
    return WeekPanel(
        week=week,
        champion=window.model_version if window else None,
        served_by={f"v{v}": int(n) for v, n in served.items()},
        customers=customers,
        latency_ms_per_call=call_ms(paths, week, chunk_rows),
        error_rate=None if not customers else round(1 - len(score_values) / customers, 4),
        mean_score=round(float(score_values.mean()), 4) if len(score_values) else None,
        score_histogram=_histogram(score_values),
        feature_psi=psi,
        drifted_features=tuple(report.drift.drifted) if report else (),
        cbpe_auc=round(estimate.roc_auc, 4) if estimate else None,
        cbpe_band=estimate.roc_auc_band if estimate else None,
        cbpe_refuted=refuted,
        realized_auc=auc,
        value_usd=usd,
        alerts=alerts,
        advice=advice,
        events=tuple(events),
        evidently_html=str(html) if html.exists() else None,
    )


def dashboard(record: DrillRecord, settings: Settings | None = None) -> Dashboard:
    """Every played week of the drill, as the dashboard shows it."""
    ctx = context_of(record, settings)
    fired = week_signals(record, settings)
    labels = _labels(ctx.paths, record.week)
    chunk = ctx.capstone.score_chunk_rows
    panels = tuple(
        _panel(ctx.paths, week, chunk, fired[week] if week < len(fired) else {}, labels)
        for week in range(record.week)
    )
    return Dashboard(drill_id=record.drill_id, weeks_played=record.week, weeks=panels)


def write_evidently(record: DrillRecord, week: int, settings: Settings | None = None) -> Path:
    """Evidently's HTML report of a played week against the serving champion's holdout."""
    if not 0 <= week < record.week:
        raise ValueError(f"week: {week} has not been played (weeks 0..{record.week - 1})")
    ctx = context_of(record, settings)
    try:
        window = read_window(ctx.paths, week)
        if window is None:
            raise ValueError(f"week: {week} has no monitor window")
        version = window.model_version
        frame, values = served_window(ctx, week, version)
        html = write_alert_report(ctx, week, version, frame, values)
    finally:
        ctx.close()
    if html is None:
        raise ValueError(f"week: the holdout of v{version} is not on disk")
    return html
