"""Per-segment recalibration: offsets on the champion's log-odds, folded into the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.scenarios import ConceptDrift, Scenario
from phase1_foundations.world import World
from phase2_pipelines.params import load_params
from phase2_pipelines.recalibrate import NotRecalibratable, recalibrate, segment_design
from phase2_pipelines.train import fit_model, predict_scores

COLUMNS = ("contract", "internetservice", "paymentmethod")
DRIFT = Scenario(
    name="dsl_leaves",
    description="DSL customers start leaving, fiber customers settle.",
    world=(
        ConceptDrift(feature="internetservice", categories=("DSL",), logit_delta=1.5),
        ConceptDrift(feature="internetservice", categories=("Fiber optic",), logit_delta=-1.5),
    ),
)


def labeled(world: World, week: int) -> pd.DataFrame:
    batch = world.week(week)
    return batch.features.merge(batch.labels[["customerid", LABEL_COLUMN]], on="customerid")


@pytest.fixture(scope="module")
def champion() -> object:
    return fit_model(pd.concat([labeled(World(1), w) for w in range(3)]), load_params().train)


def test_offsets_fold_exactly_into_the_logistic_model(champion: object) -> None:
    frame = labeled(World(2, DRIFT), 0)
    fixed = recalibrate(champion, frame, COLUMNS, prior_sd=1.0)  # type: ignore[arg-type]
    before = champion.decision_function(frame.drop(columns=[LABEL_COLUMN]))  # type: ignore[attr-defined]
    after = fixed.decision_function(frame.drop(columns=[LABEL_COLUMN]))
    design, _ = segment_design(fixed, frame, COLUMNS)
    moved = after - before
    # Rows in the same segment cells move by the same amount: the change is offsets only.
    keys = ["".join(map(str, row)) for row in design.astype(int)]
    cells = pd.Series(moved).groupby(keys).agg(np.ptp)
    assert len(cells) > 5  # many distinct cells
    assert float(cells.max()) < 1e-9
    assert type(fixed.named_steps["model"]) is type(champion.named_steps["model"])  # type: ignore[attr-defined]


def test_recalibration_on_one_week_of_the_new_world_repairs_the_next(champion: object) -> None:
    world = World(3, DRIFT)
    fixed = recalibrate(champion, labeled(world, 5), COLUMNS, prior_sd=1.0)  # type: ignore[arg-type]
    later = labeled(world, 9)  # other customers of the same changed world
    y = later[LABEL_COLUMN].to_numpy()
    old, new = predict_scores(champion, later), predict_scores(fixed, later)  # type: ignore[arg-type]
    assert roc_auc_score(y, new) > roc_auc_score(y, old) + 0.05  # ranking across segments
    dsl = (later["internetservice"] == "DSL").to_numpy()
    assert abs(y[dsl].mean() - new[dsl].mean()) < abs(y[dsl].mean() - old[dsl].mean()) / 3


def test_a_healthy_week_barely_moves_the_champion(champion: object) -> None:
    frame = labeled(World(4), 6)
    fixed = recalibrate(champion, frame, COLUMNS, prior_sd=1.0)  # type: ignore[arg-type]
    gap = np.abs(predict_scores(fixed, frame) - predict_scores(champion, frame))  # type: ignore[arg-type]
    assert float(np.median(gap)) < 0.02


def test_a_model_without_one_hot_logistic_parts_is_refused() -> None:
    hgb = fit_model(labeled(World(5), 0), load_params().train.model_copy(update={"family": "hgb"}))
    with pytest.raises(NotRecalibratable, match="logistic pipeline"):
        recalibrate(hgb, labeled(World(5), 1), COLUMNS, prior_sd=1.0)
