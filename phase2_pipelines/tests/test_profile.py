"""The reference profile summarises training data well enough to compare new weeks against."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from phase1_foundations.contract import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from phase2_pipelines.profile import ReferenceProfile, fit_reference_profile, profile_numeric


def test_profile_covers_every_feature_and_the_scores(telco_sample: pd.DataFrame) -> None:
    scores = np.linspace(0, 1, len(telco_sample))
    profile = fit_reference_profile(telco_sample, scores)
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


def test_values_outside_training_range_land_in_the_outer_bins() -> None:
    profile = profile_numeric(pd.Series(np.arange(100, dtype=float)))
    edges = np.array(profile.edges)
    inner = edges[1:-1]
    new = np.array([-50.0, 1000.0])
    assert np.searchsorted(inner, new, side="right").tolist() == [0, len(edges) - 2]


def test_null_rate_is_recorded() -> None:
    profile = profile_numeric(pd.Series([1.0, np.nan, 3.0, np.nan]))
    assert profile.null_rate == pytest.approx(0.5)


def test_profile_round_trips_through_json(telco_sample: pd.DataFrame) -> None:
    profile = fit_reference_profile(telco_sample, np.full(len(telco_sample), 0.3))
    assert ReferenceProfile.model_validate_json(profile.model_dump_json()) == profile
