"""World weeks through the monitor and the trigger, in process: what the trigger would have said.

A champion is trained on labeled world weeks by phase 2's own functions (as the capstone trains
it), so clean world weeks come from its training distribution. ``monitor_world`` scores each week
with the version serving it and checks it (the expensive part, done once); each week's labels
become a ``LabeledRecord`` in the week they are released. ``replay_trigger`` then asks a policy
week by week, knowing only what was known then. A retrain the trigger asks for is recorded (for
the cooldown) but trains nothing: the replay shows decisions, not their consequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from phase1_foundations.contract import (
    FEATURE_NAMES,
    LABEL_COLUMN,
    ValidationReport,
    cast_to_model_frame,
    to_model_frame,
)
from phase1_foundations.world import World
from phase2_pipelines.evaluate import evaluate_scores, slice_values
from phase2_pipelines.params import (
    PARAMS_FILE,
    DataParams,
    EvaluateParams,
    PipelineParams,
    load_params,
)
from phase2_pipelines.profile import ReferenceProfile, fit_reference_profile
from phase2_pipelines.stats import FloatArray
from phase2_pipelines.train import fit_model, predict_scores
from phase2_pipelines.world_source import load_world_window
from phase3_serving.compiled import LinearScorer
from phase4_monitoring.dataquality import validate_window
from phase4_monitoring.estimate import check_calibration
from phase4_monitoring.lesson.weeks import labeled_week
from phase4_monitoring.monitor import MonitorReference, monitor_window
from phase4_monitoring.params import MonitoringParams, TriggerParams
from phase4_monitoring.quality import QualityBaseline, check_quality
from phase4_monitoring.triggers import (
    Action,
    LabeledRecord,
    MonitoringHistory,
    Promotion,
    TriggerDecision,
    WindowRecord,
    decide_trigger,
)


def world_params(cutoff_week: int | None = None, params_file: Path = PARAMS_FILE) -> PipelineParams:
    """A params file's params (the project's by default), training on world weeks (up to
    ``cutoff_week``, if given, else the file's) instead of Telco."""
    params = load_params(params_file)
    world = params.data.world
    if cutoff_week is not None:
        world = world.model_copy(update={"cutoff_week": cutoff_week})
    return params.model_copy(update={"data": DataParams(source="world", world=world)})


@dataclass(frozen=True)
class WorldChampion:
    """A champion trained on world weeks, and what monitoring compares windows with."""

    params: PipelineParams
    train: pd.DataFrame
    holdout: pd.DataFrame
    model: Pipeline
    profile: ReferenceProfile
    reference: MonitorReference
    version: str = "1"

    @cached_property
    def served(self) -> LinearScorer | None:
        """Phase 3's fast path for this model, as the service compiles it (None if it cannot)."""
        return LinearScorer.compile(self.model)

    def score(self, frame: pd.DataFrame) -> FloatArray:
        """Scores of contract-valid rows (checked again here), as the service computes them."""
        return self.score_model_frame(to_model_frame(frame[list(FEATURE_NAMES)]))

    def score_model_frame(self, rows: pd.DataFrame) -> FloatArray:
        """Scores of rows already validated and cast: the fast path, verified equal to
        ``predict_proba`` when compiled (a replay scores hundreds of weeks), else the pipeline."""
        if self.served is None:
            return np.asarray(self.model.predict_proba(rows)[:, 1], dtype=np.float64)
        return np.asarray(self.served.score_frame(rows), dtype=np.float64)

    @property
    def first_week(self) -> int:
        """The first week it serves: the one after the cutoff it was trained at."""
        return self.params.data.world.first_serving_week


def train_world_champion(
    monitoring: MonitoringParams,
    *,
    version: str = "1",
    cutoff_week: int | None = None,
    params_file: Path = PARAMS_FILE,
) -> WorldChampion:
    """Trained in process by phase 2's own functions (the pipeline's train and evaluate)."""
    params = world_params(cutoff_week, params_file)
    train, holdout = load_world_window(params.data.world)
    model = fit_model(train, params.train)
    profile = fit_reference_profile(train, predict_scores(model, train), params.train)
    holdout_scores = predict_scores(model, holdout)
    labels = holdout[LABEL_COLUMN].to_numpy()
    evaluate = params.evaluate
    report = evaluate_scores(holdout, labels, holdout_scores, evaluate)
    calibration = check_calibration(
        labels, holdout_scores, evaluate.calibration_bins, monitoring.cbpe.max_ece
    )
    reference = MonitorReference(
        profile=profile,
        baseline=QualityBaseline.from_report(report),
        threshold=evaluate.threshold,
        business=evaluate.business,
        calibration_bins=evaluate.calibration_bins,
        calibrator=calibration.calibrator,
    )
    return WorldChampion(params, train, holdout, model, profile, reference, version)


def segment_values(frame: pd.DataFrame, evaluate: EvaluateParams) -> dict[str, np.ndarray] | None:
    """Each row's value of every evaluated slice, or None when a slice's column did not arrive."""
    needed = {"tenure" if name == "tenure_band" else name for name in evaluate.slices}
    if not needed <= set(frame.columns):
        return None
    return slice_values(frame, evaluate)


@dataclass(frozen=True)
class Serving:
    """``champion`` serves from ``week`` on (until the next one)."""

    week: int
    champion: WorldChampion


@dataclass(frozen=True)
class MonitoredWorld:
    """Each week's checks, and each week's realized quality with the week it is released."""

    windows: tuple[WindowRecord, ...]
    labeled: tuple[tuple[int, LabeledRecord], ...]  # (release week, record)
    promotions: tuple[Promotion, ...]

    def history(self, week: int, retrain_weeks: Sequence[int] = ()) -> MonitoringHistory:
        """What is known at the end of ``week``."""
        return MonitoringHistory(
            windows=tuple(w for w in self.windows if w.week <= week),
            labeled=tuple(r for released, r in self.labeled if released <= week),
            promotions=tuple(p for p in self.promotions if p.week <= week),
            retrain_weeks=tuple(retrain_weeks),
        )


def scores_of(
    frame: pd.DataFrame, champion: WorldChampion, validation: ValidationReport
) -> FloatArray:
    """The champion's score for every row ``validation`` (the window's ``validate_window``)
    found contract-valid, NaN elsewhere, as the log holds them."""
    scores = np.full(len(frame), np.nan)
    if validation.schema_ok:
        usable = ~validation.bad_rows
        if usable.any():
            rows = frame if usable.all() else frame[usable]
            scores[usable] = champion.score_model_frame(cast_to_model_frame(rows))
    return scores


def serving_at(schedule: Sequence[Serving], week: int) -> WorldChampion:
    return max((s for s in schedule if s.week <= week), key=lambda s: s.week).champion


def monitor_world(
    world: World, schedule: Sequence[Serving], weeks: range, params: MonitoringParams
) -> MonitoredWorld:
    """Every week scored by the version serving it and checked; its labels checked on release."""
    windows, labeled = [], []
    for week in weeks:
        champion = serving_at(schedule, week)
        batch = world.week(week)
        validation = validate_window(batch.features)
        scores = scores_of(batch.features, champion, validation)
        report = monitor_window(
            batch.features, champion.reference, params, scores=scores, validation=validation
        )
        windows.append(WindowRecord(week=week, model_version=champion.version, report=report))
        frame = labeled_week(batch)
        known = ~np.isnan(scores)
        reference = champion.reference
        quality = check_quality(
            frame[LABEL_COLUMN].to_numpy()[known],
            scores[known],
            reference.baseline,
            threshold=reference.threshold,
            business=reference.business,
            calibration_bins=reference.calibration_bins,
            params=params,
            slices=segment_values(frame[known], champion.params.evaluate),
        )
        record = LabeledRecord(week=week, model_version=champion.version, quality=quality)
        labeled.append((batch.label_release_week, record))
    promotions = tuple(Promotion(version=s.champion.version, week=s.week) for s in schedule)
    return MonitoredWorld(tuple(windows), tuple(labeled), promotions)


def replay_trigger(monitored: MonitoredWorld, policy: TriggerParams) -> list[TriggerDecision]:
    """The policy's decision at the end of each week; a retrain it asks for starts the cooldown."""
    decisions: list[TriggerDecision] = []
    retrains: list[int] = []
    for record in monitored.windows:
        decision = decide_trigger(monitored.history(record.week, retrains), policy)
        if decision.action is Action.RETRAIN:
            retrains.append(record.week)
        decisions.append(decision)
    return decisions
