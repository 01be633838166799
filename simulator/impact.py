"""Business value per week: as served in the drill, and in the healthy world it was meant to be.

The simulator knows what the system cannot: every customer's true churn (the world's hidden
labels), whether or not they have arrived. So the customer impact of an incident is measured
the week it happens, not when labels come: the retention campaign's net value (phase 2's
``net_value``) with the answers the service actually gave, against a healthy system on the same
customers: the same world without its corruptions (a broken feed, nulls, units, a renamed
column: everything phase 1 calls a corruption), scored offline by the champion the system
started with. Changes of the world itself (covariate shift, concept drift, label delay) are in
both, so what is measured is what the system's state cost. A quarantined week contacts nobody
and earns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN, LABEL_COLUMN, to_model_frame
from phase1_foundations.scenarios import CORRUPTION_ORDER
from phase1_foundations.world import World
from phase2_pipelines.evaluate import net_value
from phase4_monitoring.reference import Champion
from phase5_capstone.context import Context
from phase5_capstone.weekly import read_scores


@dataclass(frozen=True)
class WeekValue:
    week: int
    served_usd: float
    healthy_usd: float


def served_value(ctx: Context, week: int, starting: Champion) -> float:
    """The campaign's net value with the week's answers, each at its version's threshold."""
    scores = read_scores(ctx, week)
    if scores is None:
        return 0.0
    labels = ctx.world.week(week).labels[[ID_COLUMN, LABEL_COLUMN]]
    joined = scores.merge(labels.drop_duplicates(ID_COLUMN), on=ID_COLUMN, how="inner")
    thresholds = {
        v: starting.threshold if str(v) == starting.version else ctx.reference(str(v)).threshold
        for v in joined["model_version"].unique()
    }
    contacted = joined["score"].to_numpy() >= joined["model_version"].map(thresholds).to_numpy()
    y = joined[LABEL_COLUMN].to_numpy(dtype=np.int64)
    return net_value(y, contacted, ctx.pipeline.evaluate.business)


def healthy_world(ctx: Context) -> World:
    """The drill's world without its corruptions."""
    scenario = ctx.scenario
    clean = scenario.world_scenario().model_copy(
        update={"world": tuple(e for e in scenario.world if not isinstance(e, CORRUPTION_ORDER))}
    )
    return World(
        scenario.seed,
        clean,
        rows_per_week=scenario.rows_per_week,
        label_delay_weeks=scenario.label_delay_weeks,
    )


def healthy_value(ctx: Context, world: World, week: int, champion: Champion) -> float:
    """The same customers, uncorrupted, scored by the starting champion."""
    batch = world.week(week)
    rows = batch.features.merge(batch.labels[[ID_COLUMN, LABEL_COLUMN]], on=ID_COLUMN)
    scores = champion.score(to_model_frame(rows[list(FEATURE_NAMES)]))
    y = rows[LABEL_COLUMN].to_numpy(dtype=np.int64)
    return net_value(y, scores >= champion.threshold, ctx.pipeline.evaluate.business)


def week_values(ctx: Context, weeks: range, starting: Champion) -> list[WeekValue]:
    world = healthy_world(ctx)
    return [
        WeekValue(
            w,
            round(served_value(ctx, w, starting), 2),
            round(healthy_value(ctx, world, w, starting), 2),
        )
        for w in weeks
    ]
