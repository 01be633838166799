"""Training a model for the capstone: phase 2's own stages, on the labels released so far.

The window is what the system knows at the end of a week: the event weeks whose labels have
arrived, less the held ones and those whose feed the monitor found broken (phase 4's
``WindowRecord.broken``: a week with a flood of bad rows is not a sample to learn from, even
though its good rows were scored), the latest ``holdout_weeks`` held out and the
``train_weeks`` before them trained on (as phase 2's ``split_released_weeks``). Only rows that
passed the contract at ingest are ever trained on: quarantined rows never are.

The stages are phase 2's, in order, with real MLflow; a training bug (``label_shuffle``)
corrupts the training frame before ``ingest`` and a packaging fault wraps the fitted model after
the gate, so the gate judged what training produced and the registry holds what would ship.
"""

from __future__ import annotations

from dataclasses import dataclass

import joblib
import pandas as pd

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.world import EVENT_WEEK_COLUMN, World
from phase2_pipelines.params import PipelineParams, WorldWindow
from phase2_pipelines.pipeline import (
    Registration,
    WorkDir,
    evaluate,
    gate,
    ingest,
    register,
    train,
    validate,
)
from phase4_monitoring.trigger_history import WindowRecord
from phase5_capstone.context import Context
from phase5_capstone.faults import LabelShuffle, PackagingFault, package_for_serving, shuffle_labels
from phase5_capstone.weekly import WINDOW_FILE, accepted_of

BOOTSTRAP_SEED_OFFSET = 1_000_003  # the pre-history world: same population, other customers


@dataclass(frozen=True)
class Window:
    train_weeks: tuple[int, ...]
    holdout_weeks: tuple[int, ...]
    train: pd.DataFrame
    holdout: pd.DataFrame


def released_through(world: World, week: int) -> pd.DataFrame:
    """Every label released in weeks 0..``week`` (customer id, churn, event week)."""
    frames = [world.labels_released(w) for w in range(week + 1)]
    return pd.concat(frames, ignore_index=True)


def choose_weeks(
    released: list[int], quarantined: tuple[int, ...], train_weeks: int, holdout_weeks: int
) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """(training weeks, holdout weeks) among the released, unquarantined weeks; None if too few."""
    usable = [w for w in sorted(released) if w not in quarantined]
    needed = train_weeks + holdout_weeks
    if len(usable) < needed:
        return None
    latest = usable[-needed:]
    return tuple(latest[:train_weeks]), tuple(latest[train_weeks:])


def broken_weeks(ctx: Context, weeks: list[int]) -> tuple[int, ...]:
    """Weeks whose feed the monitor found broken (schema, contract, nulls, duplicates)."""
    found = []
    for week in weeks:
        path = ctx.paths.week(week) / WINDOW_FILE
        if path.exists() and WindowRecord.model_validate_json(path.read_bytes()).broken:
            found.append(week)
    return tuple(found)


def accepted_labeled(ctx: Context, labels: pd.DataFrame, weeks: tuple[int, ...]) -> pd.DataFrame:
    """The rows of ``weeks`` that passed the contract at ingest, with their released labels."""
    frames = []
    for week in weeks:
        known = labels.loc[labels[EVENT_WEEK_COLUMN] == week, [ID_COLUMN, LABEL_COLUMN]]
        frames.append(accepted_of(ctx, week).merge(known, on=ID_COLUMN, how="inner"))
    return pd.concat(frames, ignore_index=True)


def training_window(ctx: Context, week: int, quarantined: tuple[int, ...]) -> Window | None:
    """The labeled window known at the end of ``week``, or None if too few weeks are labeled.
    ``quarantined``: the held weeks; weeks the monitor found broken are left out as well."""
    labels = released_through(ctx.world, week)
    released = sorted({int(w) for w in labels[EVENT_WEEK_COLUMN].unique()})
    excluded = tuple(sorted({*quarantined, *broken_weeks(ctx, released)}))
    chosen = choose_weeks(released, excluded, ctx.capstone.train_weeks, ctx.capstone.holdout_weeks)
    if chosen is None:
        return None
    train_weeks, holdout_weeks = chosen
    return Window(
        train_weeks,
        holdout_weeks,
        accepted_labeled(ctx, labels, train_weeks),
        accepted_labeled(ctx, labels, holdout_weeks),
    )


def bootstrap_window(ctx: Context) -> Window:
    """The shipped champion's data: labeled weeks of the world before the run began.

    The same population (the world's calibration), other customers (another seed), no scenario
    effects, every label long since arrived.
    """
    scenario = ctx.scenario
    world = World(
        scenario.seed + BOOTSTRAP_SEED_OFFSET,
        "baseline",
        rows_per_week=scenario.rows_per_week,
        label_delay_weeks=0,
    )
    train_weeks = tuple(range(ctx.capstone.train_weeks))
    holdout_weeks = tuple(
        range(ctx.capstone.train_weeks, ctx.capstone.train_weeks + ctx.capstone.holdout_weeks)
    )

    def labeled(weeks: tuple[int, ...]) -> pd.DataFrame:
        batches = [world.week(w) for w in weeks]
        return pd.concat(
            [b.features.merge(b.labels[[ID_COLUMN, LABEL_COLUMN]], on=ID_COLUMN) for b in batches],
            ignore_index=True,
        )

    return Window(train_weeks, holdout_weeks, labeled(train_weeks), labeled(holdout_weeks))


def run_params(ctx: Context, week: int, promote_to: str) -> PipelineParams:
    """Phase 2's params, recording the world window this model learned from."""
    scenario = ctx.scenario
    needed = ctx.capstone.train_weeks + ctx.capstone.holdout_weeks
    world = WorldWindow(
        seed=scenario.seed,
        rows_per_week=scenario.rows_per_week,
        label_delay_weeks=scenario.label_delay_weeks,
        cutoff_week=max(week, scenario.label_delay_weeks + needed - 1),
        train_weeks=ctx.capstone.train_weeks,
        holdout_weeks=ctx.capstone.holdout_weeks,
    )
    return ctx.pipeline.model_copy(
        update={
            "data": ctx.pipeline.data.model_copy(update={"source": "world", "world": world}),
            "registry": ctx.pipeline.registry.model_copy(update={"promote_to": promote_to}),
        }
    )


def train_and_register(
    ctx: Context,
    work: WorkDir,
    params: PipelineParams,
    window: Window,
    bug: LabelShuffle | None = None,
    packaging: list[PackagingFault] | None = None,
) -> Registration:
    """Phase 2's stages in order; faults enter where they would in a real system."""
    train_frame = window.train
    if bug is not None:
        train_frame = shuffle_labels(train_frame, bug, ctx.scenario.seed)
    ingest(params, work, ctx.settings, (train_frame, window.holdout))
    validate(work, ctx.settings)
    model = train(params, work)
    evaluate(params, work)
    gate(params, work, ctx.settings)
    if packaging:
        joblib.dump(package_for_serving(model, packaging), work.train / "model.joblib")
    return register(params, work, ctx.settings)
