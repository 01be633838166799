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
import numpy as np
import pandas as pd
from pydantic import JsonValue
from sklearn.pipeline import Pipeline

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.scenarios import Interaction, Scenario
from phase1_foundations.world import EVENT_WEEK_COLUMN, World
from phase2_pipelines.gate import GateDecision
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
from phase2_pipelines.train import Fitter, Weights, configured_fitter
from phase4_monitoring.trigger_history import WindowRecord
from phase5_capstone.context import Context
from phase5_capstone.faults import LabelShuffle, PackagingFault, package_for_serving, shuffle_labels
from phase5_capstone.weekly import WINDOW_FILE, accepted_of

BOOTSTRAP_SEED_OFFSET = 1_000_003  # the pre-history world: same population, other customers


@dataclass(frozen=True)
class Window:
    """What a candidate learns from and is judged on: ``holdout`` rows are its evaluation rows
    (cross-fitted when the policy says so), ``weights`` weigh each row of train, then holdout."""

    train_weeks: tuple[int, ...]
    holdout_weeks: tuple[int, ...]
    train: pd.DataFrame
    holdout: pd.DataFrame
    weights: tuple[np.ndarray, np.ndarray] | None = None
    change_week: int | None = None

    def describe(self) -> dict[str, JsonValue]:
        described: dict[str, JsonValue] = {
            "train_weeks": list(self.train_weeks),
            "holdout_weeks": list(self.holdout_weeks),
            "train_rows": len(self.train),
            "holdout_rows": len(self.holdout),
        }
        if self.change_week is not None:
            described["change_week"] = self.change_week
        if self.weights is not None and self.change_week is not None:
            described["pre_change_weeks"] = [w for w in self.train_weeks if w < self.change_week]
            described["pre_change_weight"] = round(float(self.weights[0].min(initial=1.0)), 4)
        return described


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


def usable_weeks(
    ctx: Context, week: int, quarantined: tuple[int, ...]
) -> tuple[pd.DataFrame, list[int]]:
    """The labels released by the end of ``week``, and their event weeks that may be learned
    from, oldest first: not held (``quarantined``) and not found broken by the monitor."""
    labels = released_through(ctx.world, week)
    released = sorted({int(w) for w in labels[EVENT_WEEK_COLUMN].unique()})
    excluded = {*quarantined, *broken_weeks(ctx, released)}
    return labels, [w for w in released if w not in excluded]


def training_window(ctx: Context, week: int, quarantined: tuple[int, ...]) -> Window | None:
    """The labeled window known at the end of ``week``: the latest ``holdout_weeks`` held out,
    the ``train_weeks`` before them trained on; None if too few weeks are labeled."""
    labels, usable = usable_weeks(ctx, week, quarantined)
    chosen = choose_weeks(usable, (), ctx.capstone.train_weeks, ctx.capstone.holdout_weeks)
    if chosen is None:
        return None
    train_weeks, holdout_weeks = chosen
    return Window(
        train_weeks,
        holdout_weeks,
        accepted_labeled(ctx, labels, train_weeks),
        accepted_labeled(ctx, labels, holdout_weeks),
    )


def plan_window(
    ctx: Context, week: int, quarantined: tuple[int, ...], change: int | None
) -> Window | str | None:
    """The window a retrain learns from, or why it waits (a sentence), or None if too few weeks
    are labeled at all.

    With ``policy.evaluation: crossfit`` and a known change (the first labeled week of the
    harm), the candidates are judged on the labeled weeks since the change, cross-fitted, and
    learn from them at full weight and from the ``train_weeks`` before the change at
    ``pre_change_weight``. Without a change (a scheduled retrain) the latest ``holdout_weeks``
    are cross-fitted. With ``evaluation: holdout`` the latest weeks are held out, as phase 2
    does, and a retrain that would learn nothing since the change waits.
    """
    policy = ctx.capstone.policy
    if policy.evaluation == "holdout":
        window = training_window(ctx, week, quarantined)
        if window is None or change is None or not policy.wait_for_post_change:
            return window
        if max(window.train_weeks) < change:
            return (
                f"the training weeks {_span(window.train_weeks)} all predate the change at week"
                f" {change}: a model trained on them learns the old world; wait for labels"
            )
        return window
    labels, usable = usable_weeks(ctx, week, quarantined)
    if change is None:
        chosen = choose_weeks(usable, (), ctx.capstone.train_weeks, ctx.capstone.holdout_weeks)
        if chosen is None:
            return None
        base, evaluation = chosen
        weights = None
    else:
        evaluation = tuple(w for w in usable if w >= change)[-policy.max_evaluation_weeks :]
        if not evaluation:
            return f"no usable labeled week since the change at week {change} yet: wait for labels"
        base = tuple(w for w in usable if w < evaluation[0])[-ctx.capstone.train_weeks :]
    holdout = accepted_labeled(ctx, labels, evaluation)
    frames = [accepted_labeled(ctx, labels, (w,)) for w in base]
    train = pd.concat(frames, ignore_index=True) if frames else holdout.iloc[0:0].copy()
    churners = int(holdout[LABEL_COLUMN].sum())
    if churners < policy.min_evaluation_churners:
        return (
            f"{churners} churners in weeks {_span(evaluation)}, fewer than the"
            f" {policy.min_evaluation_churners} a candidate is judged on: wait for labels"
        )
    if change is not None:
        # Rows since the change count fully; rows from before it, a fraction.
        per_week = [
            np.full(len(f), 1.0 if w >= change else policy.pre_change_weight)
            for w, f in zip(base, frames, strict=True)
        ]
        train_weights = np.concatenate(per_week) if per_week else np.zeros(0)
        weights = (train_weights, np.ones(len(holdout)))
    return Window(base, evaluation, train, holdout, weights, change)


def _span(weeks: tuple[int, ...]) -> str:
    return str(weeks[0]) if len(weeks) == 1 else f"{weeks[0]}-{weeks[-1]}"


def bootstrap_window(ctx: Context) -> Window:
    """The shipped champion's data: labeled weeks of the world before the run began.

    The same population (the world's calibration), other customers (another seed), every label
    long since arrived, and none of the scenario's changes: only what is true of the world from
    the start (its interactions that begin at week 0).
    """
    scenario = ctx.scenario
    world = World(
        scenario.seed + BOOTSTRAP_SEED_OFFSET,
        standing_world(scenario.world_scenario()),
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


def standing_world(scenario: Scenario) -> Scenario:
    """The scenario's world before anything changed: its interactions present from week 0."""
    standing = tuple(e for e in scenario.world if isinstance(e, Interaction) and e.start_week == 0)
    return Scenario(name=f"{scenario.name}_before", description="before week 0", world=standing)


def run_params(ctx: Context, week: int, promote_to: str) -> PipelineParams:
    """Phase 2's params, recording the world window this model learned from."""
    scenario = ctx.scenario
    needed = ctx.capstone.train_weeks + ctx.capstone.holdout_weeks
    world = WorldWindow.model_validate(
        {
            **ctx.pipeline.data.world.model_dump(),  # the rest as params.yaml says
            "seed": scenario.seed,
            "rows_per_week": scenario.rows_per_week,
            "label_delay_weeks": scenario.label_delay_weeks,
            "cutoff_week": max(week, scenario.label_delay_weeks + needed - 1),
            "train_weeks": ctx.capstone.train_weeks,
            "holdout_weeks": ctx.capstone.holdout_weeks,
        }
    )
    return ctx.pipeline.model_copy(
        update={
            "data": ctx.pipeline.data.model_copy(update={"source": "world", "world": world}),
            "registry": ctx.pipeline.registry.model_copy(update={"promote_to": promote_to}),
        }
    )


def faulty_fitter(fitter: Fitter, bug: LabelShuffle, seed: int) -> Fitter:
    """``fitter`` behind a training job whose label join is broken: every fit (the shipped model
    and each cross-fitted fold) learns from shuffled labels; evaluation rows keep their own."""

    def fit(frame: pd.DataFrame, weights: Weights) -> Pipeline:
        return fitter(shuffle_labels(frame, bug, seed), weights)

    return fit


@dataclass(frozen=True)
class Gated:
    """A candidate trained, evaluated and gated in its work directory, not yet registered."""

    kind: str
    work: WorkDir
    params: PipelineParams
    window: Window
    decision: GateDecision
    model: Pipeline


def gate_candidate(
    ctx: Context,
    kind: str,
    work: WorkDir,
    params: PipelineParams,
    window: Window,
    fitter: Fitter | None = None,
    bug: LabelShuffle | None = None,
) -> Gated:
    """Phase 2's stages up to the gate: ingest, validate, train, evaluate (cross-fitted when
    ``params.evaluate.crossfit_folds`` says), gate against the champion on the same rows."""
    if bug is not None:
        fitter = faulty_fitter(fitter or configured_fitter(params), bug, ctx.scenario.seed)
    ingest(params, work, ctx.settings, (window.train, window.holdout), window.weights)
    validate(work, ctx.settings)
    model = train(params, work, fitter)
    evaluate(params, work, fitter)
    decision = gate(params, work, ctx.settings)
    return Gated(kind, work, params, window, decision, model)


def register_candidate(
    ctx: Context, gated: Gated, packaging: list[PackagingFault] | None = None
) -> Registration:
    """Register what would ship (a packaging fault wraps the fitted model after the gate, so the
    gate judged what training produced and the registry holds what is served)."""
    if packaging:
        joblib.dump(package_for_serving(gated.model, packaging), gated.work.train / "model.joblib")
    return register(gated.params, gated.work, ctx.settings)


def train_and_register(
    ctx: Context,
    work: WorkDir,
    params: PipelineParams,
    window: Window,
    bug: LabelShuffle | None = None,
    packaging: list[PackagingFault] | None = None,
) -> Registration:
    """Phase 2's stages in order; faults enter where they would in a real system."""
    gated = gate_candidate(ctx, "retrain", work, params, window, bug=bug)
    return register_candidate(ctx, gated, packaging)
