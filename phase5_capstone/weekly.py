"""The data side of a week: ingest and validate, score through the service, release labels,
monitor. Each step is a plain function of the context, the week and the cycle state, and
returns its outcome: the events it decided, the state it passes on, and its files on disk.

Ingest quarantines rows, not weeks: a row that breaks the data contract is kept with its
reasons in ``weeks/<week>/quarantined.parquet``, and the rest of the batch is scored. Only past
``capstone.max_bad_row_share`` (or when a column is missing or unexpected, so that no row can be
trusted) is the whole batch held: a broken feed, not a bad row. Quarantined rows are never
scored, labeled or trained on; the monitor still sees them, so a flood of bad rows is a
data-quality alert (page upstream) even while the good rows are served.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from pydantic import JsonValue

from phase1_foundations.contract import (
    FEATURE_NAMES,
    ID_COLUMN,
    LABEL_COLUMN,
    to_model_frame,
    validate_frame,
)
from phase1_foundations.files import write_atomically
from phase1_foundations.repro import dataset_fingerprint
from phase1_foundations.world import EVENT_WEEK_COLUMN
from phase2_pipelines.evaluate import net_value, slice_values
from phase2_pipelines.evidence import Verdict
from phase4_monitoring.monitor import WindowReport, monitor_window
from phase4_monitoring.quality import check_quality
from phase4_monitoring.trigger_history import LabeledRecord, WindowRecord
from phase5_capstone.context import Context
from phase5_capstone.events import Draft
from phase5_capstone.state import CycleState, StepOutcome
from phase5_capstone.truth import week_truth

SCORES_FILE = "scores.parquet"
WINDOW_FILE = "window.json"
LABELED_FILE = "labeled.json"
ROLLOUT_FILE = "service_rollout.json"
QUARANTINE_FILE = "quarantined.parquet"  # the week's bad rows as they arrived, with reasons
QUARANTINE_REPORT = "quarantine_report.json"
ROW_COLUMN = "row"  # a quarantined row's position in the batch as it arrived
REASONS_COLUMN = "reasons"
HELD_REASON = "held with its batch"


def batch_of(ctx: Context, week: int) -> pd.DataFrame:
    """The week's batch as it arrived (the world makes the same bytes every time it is asked)."""
    return ctx.batch(week)


def quarantined_rows(ctx: Context, week: int) -> pd.DataFrame | None:
    """The week's quarantined rows (their position, values and reasons), if it had any."""
    path = ctx.paths.week(week) / QUARANTINE_FILE
    return pd.read_parquet(path) if path.exists() else None


def accepted_mask(ctx: Context, week: int) -> np.ndarray:
    """Which rows of the week's batch passed the contract (ingest wrote the others aside)."""
    frame = batch_of(ctx, week)
    accepted = np.ones(len(frame), dtype=bool)
    bad = quarantined_rows(ctx, week)
    if bad is not None:
        accepted[bad[ROW_COLUMN].to_numpy(dtype=np.int64)] = False
    return accepted


def accepted_of(ctx: Context, week: int) -> pd.DataFrame:
    """The rows of the week that passed the contract, in the contract's dtypes (a column that
    held a null is back to integers): what is scored, labeled and trained on."""
    frame = batch_of(ctx, week)
    accepted = frame[accepted_mask(ctx, week)].reset_index(drop=True)
    return pd.concat([accepted[[ID_COLUMN]], to_model_frame(accepted)], axis=1)


def write_quarantine(
    ctx: Context, week: int, frame: pd.DataFrame, rows: np.ndarray, reasons: pd.Series
) -> str:
    """The rows at positions ``rows``, as they arrived, with their reasons; atomically (a rerun
    after a kill writes the same file). Returns its path within the run."""
    folder = ctx.paths.week(week)
    folder.mkdir(parents=True, exist_ok=True)
    kept = frame.iloc[rows].astype(object).astype(str).reset_index(drop=True)
    kept.insert(0, ROW_COLUMN, rows.astype(np.int64))
    kept[REASONS_COLUMN] = reasons.to_numpy(dtype=object)
    partial = folder / f".{QUARANTINE_FILE}.partial"
    kept.to_parquet(partial, index=False)
    partial.replace(folder / QUARANTINE_FILE)
    return str((folder / QUARANTINE_FILE).relative_to(ctx.paths.root))


def ingest(ctx: Context, week: int, state: CycleState) -> StepOutcome:
    """Validate the week's batch with the data contract: quarantine its bad rows with their
    reasons and pass the rest on, or hold the whole batch when it is a broken feed."""
    frame = batch_of(ctx, week)
    report = validate_frame(frame)
    n = len(frame)
    evidence: dict[str, JsonValue] = {"rows": n, "fingerprint": dataset_fingerprint(frame)}
    if report.ok:
        draft = Draft(
            kind="ingested",
            summary=f"{n:,} customers pass the contract",
            evidence=evidence | {"accepted_rows": n, "quarantined_rows": 0},
        )
        return StepOutcome(week=week, step="ingest", events=(draft,), state=state)
    limit = ctx.capstone.max_bad_row_share
    bad = report.bad_rows if report.schema_ok else np.ones(n, dtype=bool)
    share = float(bad.mean()) if n else 1.0
    held = not report.schema_ok or share > limit
    reasons = pd.Series(np.full(n, "", dtype=object))
    reasons.iloc[report.rejection_reasons().index] = report.rejection_reasons().to_numpy()
    if not report.schema_ok:
        batch_reason = "; ".join(str(i) for i in report.issues if i.rows == 0)
        reasons[:] = [f"{r}; {batch_reason}" if r else batch_reason for r in reasons]
    positions = np.arange(n) if held else np.flatnonzero(bad)
    chosen = reasons.iloc[positions].map(lambda r: r or HELD_REASON)
    path = write_quarantine(ctx, week, frame, positions, chosen)
    write_atomically(
        ctx.paths.week(week) / QUARANTINE_REPORT, json.dumps(report.to_dict()), durable=True
    )
    quarantined = len(positions)
    accepted = n - quarantined
    problems: list[JsonValue] = [str(issue) for issue in report.issues[:10]]
    evidence |= {
        "accepted_rows": accepted,
        "quarantined_rows": quarantined,
        "bad_rows": int(bad.sum()),
        "bad_row_share": round(share, 6),
        "max_bad_row_share": limit,
        "held": held,
        "problems": problems,
        "quarantine": path,
    }
    if held:
        why = (
            "a column is missing or unexpected, so no row can be trusted"
            if not report.schema_ok
            else f"{int(bad.sum()):,} of {n:,} rows ({share:.0%}) break the contract, past the"
            f" {limit:.0%} limit"
        )
        summary = (
            f"batch held: all {n:,} rows quarantined, 0 scored; {why}: a broken feed, not bad"
            f" rows ({'; '.join(str(p) for p in problems)[:240]})"
        )
        state = state.model_copy(update={"quarantined_weeks": (*state.quarantined_weeks, week)})
    else:
        rows = "row" if quarantined == 1 else "rows"
        summary = (
            f"{quarantined:,} {rows} quarantined, {accepted:,} scored: {quarantined:,} of {n:,}"
            f" ({share:.0%}) break the contract, within the {limit:.0%} limit"
            f" ({'; '.join(str(p) for p in problems)[:240]})"
        )
    draft = Draft(kind="quarantined", summary=summary, evidence=evidence)
    return StepOutcome(week=week, step="ingest", events=(draft,), state=state)


def read_scores(ctx: Context, week: int) -> pd.DataFrame | None:
    """The week's answers, one per accepted row, in the batch's order (None if held)."""
    path = ctx.paths.week(week) / SCORES_FILE
    return pd.read_parquet(path) if path.exists() else None


TRUTH_KIND = "truth"


def judge_with_truth(ctx: Context, week: int, state: CycleState) -> StepOutcome:
    """The world's verdict on the week (oracle value, earned value, degraded or not), for the
    summary and the benchmark; no decision ever reads it (``truth.py``)."""
    scores = read_scores(ctx, week)
    versions = [] if scores is None else sorted(scores["model_version"].astype(str).unique())
    thresholds = {v: ctx.champion(v).threshold for v in versions}
    truth = week_truth(
        ctx.world,
        week,
        scores,
        thresholds,
        ctx.pipeline.evaluate.business,
        ctx.pipeline.train,
        ctx.capstone.yardstick,
    )
    auc = "" if truth.served_auc is None else f"; served AUC {truth.served_auc:.3f}"
    refit = "" if truth.refit_auc is None else f" vs a refit's {truth.refit_auc:.3f}"
    draft = Draft(
        kind=TRUTH_KIND,
        summary=f"the world's view: earned ${truth.earned_usd:,.0f} of the oracle's"
        f" ${truth.oracle_usd:,.0f}{auc}{refit}{' (degraded)' if truth.degraded else ''}",
        model_version=state.champion,
        evidence=truth.model_dump(mode="json"),
    )
    return StepOutcome(week=week, step="truth", events=(draft,), state=state)


def served_window(ctx: Context, week: int, version: str) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The week as the monitor judges ``version`` on it: every row that arrived except those
    another version served (a canary's), quarantined rows included so the data-quality checks
    see them, with ``version``'s scores aligned (NaN for a row it did not score)."""
    frame = batch_of(ctx, week)
    scores = read_scores(ctx, week)
    if scores is None:
        return frame, None
    aligned = np.full(len(frame), np.nan)
    mine = np.ones(len(frame), dtype=bool)
    accepted = accepted_mask(ctx, week)
    served = scores["model_version"].astype(str).to_numpy() == version
    aligned[np.flatnonzero(accepted)[served]] = scores.loc[served, "score"].to_numpy()
    mine[np.flatnonzero(accepted)[~served]] = False
    return frame[mine].reset_index(drop=True), aligned[mine]


def release_labels(ctx: Context, week: int, state: CycleState) -> StepOutcome:
    """Labels of earlier weeks arrive: realized quality, and the campaign's value in dollars."""
    released = ctx.world.labels_released(week)
    drafts = []
    for event_week in sorted(int(w) for w in released[EVENT_WEEK_COLUMN].unique()):
        labels = released[released[EVENT_WEEK_COLUMN] == event_week]
        scores = read_scores(ctx, event_week)
        if scores is None:
            drafts.append(
                Draft(
                    kind="labels_arrived",
                    summary=f"{len(labels):,} labels of week {event_week}: its batch was"
                    " held (a broken feed), never scored, and is never trained on",
                    evidence={"event_week": event_week, "labels": len(labels)},
                )
            )
            continue
        drafts.append(labeled_week(ctx, state, event_week, labels, scores))
    return StepOutcome(week=week, step="labels", events=tuple(drafts), state=state)


def labeled_week(
    ctx: Context, state: CycleState, event_week: int, labels: pd.DataFrame, scores: pd.DataFrame
) -> Draft:
    """Realized quality of the week's scored rows (quarantined rows have no score: never
    judged, never trained on)."""
    joined = scores.merge(labels[[ID_COLUMN, LABEL_COLUMN]], on=ID_COLUMN, how="inner")
    version = str(joined["model_version"].mode().iloc[0])  # the week's champion
    mine = joined[joined["model_version"] == version]
    reference = ctx.reference(version)
    y = mine[LABEL_COLUMN].to_numpy(dtype=np.int64)
    s = mine["score"].to_numpy(dtype=np.float64)
    quality = check_quality(
        y,
        s,
        reference.baseline,
        threshold=reference.threshold,
        business=reference.business,
        calibration_bins=reference.calibration_bins,
        params=ctx.monitoring,
        slices=slice_groups(ctx, event_week, mine),
    )
    record = LabeledRecord(week=event_week, model_version=version, quality=quality)
    write_atomically(
        ctx.paths.week(event_week) / LABELED_FILE, record.model_dump_json(), durable=True
    )
    value = business_value(ctx, event_week, joined, previous_champion(state, version, event_week))
    auc = quality.metrics.get("roc_auc", float("nan"))
    return Draft(
        kind="labels_arrived",
        summary=f"week {event_week}: realized roc_auc {auc:.3f} on {len(mine):,} labels of"
        f" v{version}; {quality.verdict.value}: {quality.reason[:200]}",
        model_version=version,
        evidence={
            "event_week": event_week,
            "labels": len(joined),
            "quality": quality.model_dump(mode="json"),
            "business_value": value,
        },
    )


def slice_groups(ctx: Context, week: int, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each of ``rows``' value of every evaluated slice: the business segments and the protected
    attributes (phase 2's gate protects them), whose realized quality the monitor judges and
    reports every labeled week."""
    features = rows[[ID_COLUMN]].merge(accepted_of(ctx, week), on=ID_COLUMN, how="left")
    return slice_values(features, ctx.pipeline.evaluate)


def previous_champion(state: CycleState, version: str, week: int) -> str | None:
    """The champion before ``version``'s latest promotion up to ``week``."""
    promotions = [(v, w) for v, w in state.promotions if w <= week]
    mine = [i for i, (v, _) in enumerate(promotions) if v == version]
    if not mine:
        return None
    earlier = [v for v, _ in promotions[: mine[-1]] if v != version]
    return earlier[-1] if earlier else None


def business_value(
    ctx: Context, event_week: int, joined: pd.DataFrame, previous: str | None
) -> dict[str, JsonValue]:
    """Net value of the retention campaign as served, next to the previous champion's on the
    same customers (its registered pipeline scores them offline: a counterfactual)."""
    business = ctx.pipeline.evaluate.business
    served_threshold = ctx.reference(str(joined["model_version"].mode().iloc[0])).threshold
    y = joined[LABEL_COLUMN].to_numpy(dtype=np.int64)
    served = net_value(y, joined["score"].to_numpy() >= served_threshold, business)
    result: dict[str, JsonValue] = {"served_usd": round(served, 2), "customers": len(joined)}
    if previous is not None:
        rows = accepted_of(ctx, event_week).merge(joined[[ID_COLUMN, LABEL_COLUMN]], on=ID_COLUMN)
        champion = ctx.champion(previous)
        other = champion.score(to_model_frame(rows[list(FEATURE_NAMES)]))
        earned = net_value(
            rows[LABEL_COLUMN].to_numpy(dtype=np.int64), other >= champion.threshold, business
        )
        result |= {
            "previous_version": previous,
            "previous_usd": round(earned, 2),
            "difference_usd": round(served - earned, 2),
        }
    return result


ALERTING = (Verdict.ALERT, Verdict.FAIL)


def alert_begins(ctx: Context, week: int, report: WindowReport) -> bool:
    """An alert this week after a week without one (or with no window)."""
    if report.verdict not in ALERTING:
        return False
    previous = ctx.paths.week(week - 1) / WINDOW_FILE
    if week == 0 or not previous.exists():
        return True
    return WindowRecord.model_validate_json(previous.read_bytes()).report.verdict not in ALERTING


def max_psi(report: WindowReport) -> float | None:
    """The largest feature PSI of the week: one number for the timeline's drift plot."""
    values = [
        e.value
        for feature in report.drift.features
        for e in feature.evidence
        if e.metric == "psi" and np.isfinite(e.value)
    ]
    return round(max(values), 6) if values else None


def monitor(ctx: Context, week: int, state: CycleState) -> StepOutcome:
    """Phase 4's checks on the week against the serving champion's reference, and CBPE."""
    assert state.champion is not None
    frame, aligned = served_window(ctx, week, state.champion)
    report = monitor_window(
        frame,
        ctx.reference(state.champion),
        ctx.monitoring,
        scores=aligned,
        source=f"week {week}",
        model=f"{ctx.model_name} v{state.champion}",
    )
    record = WindowRecord(week=week, model_version=state.champion, report=report)
    write_atomically(ctx.paths.week(week) / WINDOW_FILE, record.model_dump_json(), durable=True)
    measured: dict[str, JsonValue] = {}
    if ctx.capstone.evidently_on_alert and alert_begins(ctx, week, report):
        from phase5_capstone.alert_report import write_alert_report

        html = write_alert_report(ctx, week, state.champion, frame, aligned)
        if html is not None:
            measured["evidently_html"] = str(html.relative_to(ctx.paths.root))
    drifted = report.drift.drifted
    estimate = report.estimate
    evidence: dict[str, JsonValue] = {
        "verdict": report.verdict.value,
        "drifted_features": list[JsonValue](drifted),
        "max_feature_psi": max_psi(report),
        "data_quality": report.data_quality.verdict.value,
        "rows": report.n_rows,
        "scored_rows": report.n_scored,
        "prediction_drift": None
        if report.drift.prediction is None
        else report.drift.prediction.model_dump(mode="json"),
        "cbpe": None if estimate is None else estimate.model_dump(mode="json"),
    }
    draft = Draft(
        kind="monitored",
        summary=f"{report.verdict.value}: {report.reason[:300]}",
        model_version=state.champion,
        evidence=evidence,
        measured=measured,
    )
    return StepOutcome(week=week, step="monitor", events=(draft,), state=state)
