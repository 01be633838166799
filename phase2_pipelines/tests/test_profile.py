"""The reference profile summarises training data well enough to compare new weeks against.

Its score distribution is out-of-fold: what the model's scores look like on customers it was not
fitted on, which is what phase 4 compares live scores with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.model_selection import StratifiedKFold

from phase1_foundations.contract import CATEGORICAL_FEATURES, LABEL_COLUMN, NUMERIC_FEATURES
from phase1_foundations.settings import Settings
from phase1_foundations.telco import load_telco
from phase2_pipelines.params import PARAMS_FILE, HgbParams, TrainParams, load_params
from phase2_pipelines.profile import (
    OUT_OF_FOLD,
    ReferenceProfile,
    fit_reference_profile,
    profile_numeric,
    profile_scores,
)
from phase2_pipelines.stages.ingest import ingest
from phase2_pipelines.stages.train import train
from phase2_pipelines.stats import roc_auc
from phase2_pipelines.train import fit_model, out_of_fold_scores, predict_scores
from phase2_pipelines.workdir import WorkDir


def test_profile_covers_every_feature_and_the_scores(telco_sample: pd.DataFrame) -> None:
    scores = np.linspace(0, 1, len(telco_sample))
    profile = fit_reference_profile(telco_sample, scores, load_params().train)
    assert set(profile.numeric) == set(NUMERIC_FEATURES)
    assert set(profile.categorical) == set(CATEGORICAL_FEATURES)
    assert profile.n_rows == len(telco_sample)
    assert sum(profile.score.shares) == pytest.approx(1.0)
    for numeric in profile.numeric.values():
        assert sum(numeric.shares) == pytest.approx(1.0)  # every row in exactly one bin
    contract = profile.categorical["contract"].frequencies
    assert contract == pytest.approx(
        telco_sample["contract"].value_counts(normalize=True).to_dict()
    )


def test_the_bins_are_the_ones_params_say(telco_sample: pd.DataFrame) -> None:
    """The PSI thresholds are judged on these bins, so they come from params.yaml, not code."""
    raw = yaml.safe_load(PARAMS_FILE.read_text())["train"]
    scores = np.linspace(0, 1, len(telco_sample))
    profile = fit_reference_profile(telco_sample, scores, load_params().train)
    assert len(profile.score.shares) == raw["profile_score_bins"]
    assert len(profile.numeric["monthlycharges"].shares) == raw["profile_bins"]  # no ties
    fewer = load_params().train.model_copy(update={"profile_bins": 4, "profile_score_bins": 5})
    coarse = fit_reference_profile(telco_sample, scores, fewer)
    assert len(coarse.score.shares) == 5
    assert len(coarse.numeric["monthlycharges"].shares) == 4


def test_values_outside_training_range_land_in_the_outer_bins() -> None:
    profile = profile_numeric(pd.Series(np.arange(100, dtype=float)), bins=10)
    edges = np.array(profile.edges)
    inner = edges[1:-1]
    new = np.array([-50.0, 1000.0])
    assert np.searchsorted(inner, new, side="right").tolist() == [0, len(edges) - 2]


def test_null_rate_is_recorded() -> None:
    profile = profile_numeric(pd.Series([1.0, np.nan, 3.0, np.nan]), bins=10)
    assert profile.null_rate == pytest.approx(0.5)


def test_profile_round_trips_through_json(telco_sample: pd.DataFrame) -> None:
    profile = fit_reference_profile(
        telco_sample, np.full(len(telco_sample), 0.3), load_params().train
    )
    assert ReferenceProfile.model_validate_json(profile.model_dump_json()) == profile


def manual_out_of_fold(train: pd.DataFrame, params: TrainParams) -> np.ndarray:
    """Each fold scored by a model fitted on the others, looped by hand (the oracle)."""
    folds = StratifiedKFold(n_splits=params.profile_folds, shuffle=True, random_state=params.seed)
    scores = np.full(len(train), np.nan)
    for fit_rows, held_rows in folds.split(train, train[LABEL_COLUMN]):
        model = fit_model(train.iloc[fit_rows], params)
        scores[held_rows] = predict_scores(model, train.iloc[held_rows])
    return scores


def test_train_stage_profiles_out_of_fold_scores(tmp_path: Path, state: Settings) -> None:
    params = load_params()
    splits = load_telco(state)
    work = WorkDir(tmp_path)
    ingest(params, work, state, (splits.train, splits.test))
    model = train(params, work)
    written = ReferenceProfile.model_validate_json(
        (work.train / "reference_profile.json").read_text()
    )
    bins = params.train.profile_score_bins
    oracle = profile_scores(manual_out_of_fold(splits.train, params.train), OUT_OF_FOLD, bins)
    assert written.score.shares == pytest.approx(oracle.shares, abs=1e-12)
    in_sample = profile_scores(predict_scores(model, splits.train), "in-sample", bins)
    assert written.score.shares != pytest.approx(in_sample.shares, abs=1e-3)


def test_in_sample_scores_of_a_flexible_model_are_overconfident(state: Settings) -> None:
    """Why the profile is out-of-fold: live customers never get scores this confident."""
    params = load_params().train.model_copy(
        update={
            "family": "hgb",
            "hgb": HgbParams(
                learning_rate=0.1,
                max_iter=100,
                max_leaf_nodes=31,
                min_samples_leaf=20,
                l2_regularization=0.0,
            ),
        }
    )
    train_rows = load_telco(state).train
    in_sample = predict_scores(fit_model(train_rows, params), train_rows)
    held_out = out_of_fold_scores(train_rows, params)
    labels = train_rows[LABEL_COLUMN].to_numpy()
    # On its own rows the model separates churners far better than on anyone else's.
    assert roc_auc(labels, in_sample) > roc_auc(labels, held_out) + 0.03
