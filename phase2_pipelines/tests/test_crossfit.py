"""Cross-fitting: every evaluation row is scored by a model that never saw it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.world import World
from phase2_pipelines.crossfit import crossfit_scores
from phase2_pipelines.evaluate import break_even_probability, choose_threshold
from phase2_pipelines.params import load_params
from phase2_pipelines.tests.conftest import evaluate_params
from phase2_pipelines.train import Weights, fit_model


def labeled(week: int, rows: int = 600) -> pd.DataFrame:
    batch = World(7, rows_per_week=rows).week(week)
    return batch.features.merge(batch.labels[[ID_COLUMN, LABEL_COLUMN]], on=ID_COLUMN)


def test_no_evaluation_row_is_scored_by_a_model_that_learned_from_it() -> None:
    base, evaluation = labeled(0), labeled(1)
    seen: list[set[str]] = []

    def fitter(frame: pd.DataFrame, weights: Weights) -> Pipeline:
        seen.append(set(frame[ID_COLUMN]))
        assert weights is not None
        assert len(weights) == len(frame)
        return fit_model(frame, load_params().train, sample_weight=weights)

    weights = np.full(len(evaluation), 1.0)
    scores = crossfit_scores(
        fitter,
        evaluation,
        weights,
        folds=5,
        seed=0,
        base=base,
        base_weights=np.full(len(base), 0.25),
    )
    assert len(seen) == 5
    assert np.isfinite(scores).all()
    everyone = set(evaluation[ID_COLUMN])
    for fitted_on in seen:
        assert set(base[ID_COLUMN]) <= fitted_on  # the older rows are always learned from
        held_out = everyone - fitted_on
        assert 0 < len(held_out) < len(everyone)
    # each evaluation row is left out of exactly one fold's training
    assert sum(len(everyone - fitted_on) for fitted_on in seen) == len(everyone)


def test_the_break_even_threshold_of_calibrated_scores_is_the_cost_ratio() -> None:
    params = evaluate_params(contact_rule="break_even")
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 1, 200_000)
    labels = (rng.uniform(0, 1, len(scores)) < scores).astype(int)  # calibrated by construction
    threshold = choose_threshold(labels, scores, params)
    assert abs(threshold - break_even_probability(params.business)) < 0.01  # 10 / 90 = 0.111


def test_the_break_even_threshold_reads_what_miscalibrated_scores_mean() -> None:
    params = evaluate_params(contact_rule="break_even")
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 1, 200_000)
    labels = (rng.uniform(0, 1, len(truth)) < truth).astype(int)
    scores = truth**2  # overconfident low: a score of 0.0123 means a 0.111 chance
    threshold = choose_threshold(labels, scores, params)
    assert abs(threshold - break_even_probability(params.business) ** 2) < 0.005
    fixed = evaluate_params(contact_rule="fixed", threshold=0.35)
    assert choose_threshold(labels, scores, fixed) == 0.35
    capacity = evaluate_params(contact_rule="capacity", capacity_share=0.1)
    assert abs((scores >= choose_threshold(labels, scores, capacity)).mean() - 0.1) < 0.001
