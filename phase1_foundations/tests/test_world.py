"""The baseline world: contract-clean, calibrated, reproducible, with labels that arrive late."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from phase1_foundations import world as world_module
from phase1_foundations.contract import (
    CATEGORICAL_FEATURES,
    CUSTOMER_ID_PATTERN,
    FEATURE_NAMES,
    FEATURES,
    ID_COLUMN,
    LABEL_COLUMN,
    ContractViolation,
    validate_frame,
)
from phase1_foundations.world import (
    EVENT_WEEK_COLUMN,
    WeekBatch,
    World,
    calibrate_default_world,
    fit_churn_mechanism,
)
from testing.expectations import expectation

SEED = 7
ADDONS = (
    "onlinesecurity",
    "onlinebackup",
    "deviceprotection",
    "techsupport",
    "streamingtv",
    "streamingmovies",
)
LARGE_WEEK = 20_000
# Bounds on the world's closeness to the Telco data: tests/expectations.yml, with their reasons.
MARGINAL_GAP = expectation("world_category_share_gap")
NUMERIC_KS = expectation("world_numeric_ks")
CHURN_RATE_TOLERANCE = 0.03
MECHANISM_AUC = expectation("world_mechanism_auc")  # the ground truth carries real signal


def hash_frame(frame: pd.DataFrame) -> bytes:
    """Bytes that change if any value, dtype-relevant content, column or index changes."""
    hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    return hashed + "|".join(map(str, frame.columns)).encode()


def hash_batch(batch: WeekBatch) -> bytes:
    return hash_frame(batch.features) + hash_frame(batch.labels) + batch.churn_probability.tobytes()


def test_baseline_week_passes_the_contract(telco_sample: pd.DataFrame) -> None:
    batch = World(SEED, "baseline", reference=telco_sample).week(0)
    report = validate_frame(batch.features)
    assert report.ok, report.summary()  # any out-of-range jitter or bad id
    assert list(batch.features.columns) == [ID_COLUMN, *FEATURE_NAMES]  # service sees no label
    assert len(batch.features) == len(batch.labels) == 2_000  # default volume
    for spec in FEATURES:
        assert batch.features[spec.name].dtype == spec.dtype, spec.name  # contract dtypes


def test_volume_is_configurable(telco_sample: pd.DataFrame) -> None:
    batch = World(SEED, "baseline", rows_per_week=123, reference=telco_sample).week(3)
    assert len(batch.features) == 123
    assert batch.week == 3


def test_customer_ids_are_unique_across_weeks(telco_sample: pd.DataFrame) -> None:
    world = World(SEED, "baseline", rows_per_week=500, reference=telco_sample)
    ids = pd.concat([b.features[ID_COLUMN] for b in world.weeks(0, 4)], ignore_index=True)
    assert ids.is_unique  # ids collide between weeks
    assert ids.str.fullmatch(CUSTOMER_ID_PATTERN[1:-1]).all()  # contract id pattern


def test_same_seed_and_scenario_give_byte_identical_weeks(telco_sample: pd.DataFrame) -> None:
    first = World(SEED, "concept_drift", reference=telco_sample.copy())
    second = World(SEED, "concept_drift", reference=telco_sample.copy())
    for week in (0, 5):
        assert hash_batch(first.week(week)) == hash_batch(second.week(week))


def test_seed_and_week_change_the_draws(telco_sample: pd.DataFrame) -> None:
    base = World(SEED, "baseline", reference=telco_sample)
    other_seed = World(SEED + 1, "baseline", reference=telco_sample)
    assert hash_frame(base.week(0).features) != hash_frame(other_seed.week(0).features)
    week_0 = base.week(0).features.drop(columns=ID_COLUMN)
    week_1 = base.week(1).features.drop(columns=ID_COLUMN)
    assert hash_frame(week_0) != hash_frame(week_1)  # every week would repeat the same people


def test_categorical_marginals_match_the_reference(telco_sample: pd.DataFrame) -> None:
    features = World(SEED, "baseline", LARGE_WEEK, reference=telco_sample).week(0).features
    for name in CATEGORICAL_FEATURES:
        expected = telco_sample[name].value_counts(normalize=True)
        actual = features[name].value_counts(normalize=True).reindex(expected.index)
        gap = float(np.abs(actual - expected).max())
        assert MARGINAL_GAP.holds(gap), f"{name}: {MARGINAL_GAP.explain(gap)}"


@pytest.mark.parametrize("name", ["tenure", "monthlycharges", "totalcharges"])
def test_numeric_marginals_match_the_reference(telco_sample: pd.DataFrame, name: str) -> None:
    features = World(SEED, "baseline", LARGE_WEEK, reference=telco_sample).week(0).features
    result = stats.ks_2samp(features[name], telco_sample[name])
    assert NUMERIC_KS.holds(result.statistic), NUMERIC_KS.explain(result.statistic)


def test_whole_rows_keep_the_joint_structure(telco_sample: pd.DataFrame) -> None:
    features = World(SEED, "baseline", LARGE_WEEK, reference=telco_sample).week(0).features
    no_internet = features["internetservice"] == "No"
    for addon in ADDONS:
        # An add-on without internet would mean columns were sampled independently.
        assert ((features[addon] == "No internet service") == no_internet).all(), addon
    no_phone = features["phoneservice"] == "No"
    assert ((features["multiplelines"] == "No phone service") == no_phone).all()


def test_total_charges_follow_tenure_times_monthly_charges(telco_sample: pd.DataFrame) -> None:
    features = World(SEED, "baseline", LARGE_WEEK, reference=telco_sample).week(0).features
    new = features["tenure"] == 0
    assert new.any()  # the sample has unbilled customers; the world keeps some
    assert (features.loc[new, "totalcharges"] == 0).all()  # not billed yet
    billed = features.loc[~new]
    ratio = billed["totalcharges"] / (billed["tenure"] * billed["monthlycharges"])
    assert abs(ratio.median() - 1.0) < 0.02
    assert ratio.between(0.6, 1.6).all()


def test_new_customers_stay_new_and_others_stay_billed(telco_sample: pd.DataFrame) -> None:
    features = World(SEED, "baseline", LARGE_WEEK, reference=telco_sample).week(0).features
    expected = (telco_sample["tenure"] == 0).mean()
    # Jitter must not turn month-one customers into unbilled ones (or the reverse).
    assert abs((features["tenure"] == 0).mean() - expected) < 0.005
    assert features["tenure"].max() <= telco_sample["tenure"].max() + 1  # jitter is small


def test_churn_rate_matches_the_reference(telco_sample: pd.DataFrame) -> None:
    batch = World(SEED, "baseline", LARGE_WEEK, reference=telco_sample).week(0)
    expected = telco_sample[LABEL_COLUMN].mean()
    assert abs(batch.labels[LABEL_COLUMN].mean() - expected) < CHURN_RATE_TOLERANCE


def test_labels_are_drawn_from_the_mechanism(telco_sample: pd.DataFrame) -> None:
    world = World(SEED, "baseline", LARGE_WEEK, reference=telco_sample)
    batch = world.week(0)
    expected = world.mechanism.probability(batch.features)
    np.testing.assert_allclose(batch.churn_probability, expected)
    churn = batch.labels[LABEL_COLUMN].to_numpy()
    high = batch.churn_probability > np.quantile(batch.churn_probability, 0.9)
    low = batch.churn_probability < np.quantile(batch.churn_probability, 0.1)
    # Calibration: within each decile the churn rate is about the mean probability.
    assert abs(churn[high].mean() - batch.churn_probability[high].mean()) < 0.05
    assert abs(churn[low].mean() - batch.churn_probability[low].mean()) < 0.05


def test_mechanism_separates_real_churners(telco_sample: pd.DataFrame) -> None:
    mechanism = fit_churn_mechanism(telco_sample)
    auc = roc_auc_score(telco_sample[LABEL_COLUMN], mechanism.probability(telco_sample))
    assert MECHANISM_AUC.holds(auc), MECHANISM_AUC.explain(auc)


def test_mechanism_scores_text_columns_like_categoricals(telco_sample: pd.DataFrame) -> None:
    mechanism = fit_churn_mechanism(telco_sample)
    as_text = telco_sample.astype({name: object for name in CATEGORICAL_FEATURES})
    np.testing.assert_array_equal(
        mechanism.logit(as_text), mechanism.logit(telco_sample)
    )  # the lookup must not depend on how categories are stored


def test_unknown_category_adds_nothing_to_the_logit(telco_sample: pd.DataFrame) -> None:
    mechanism = fit_churn_mechanism(telco_sample)
    frame = telco_sample.head(5).astype({"internetservice": object})
    frame["internetservice"] = "Satellite"
    known_part = mechanism.logit(frame)
    weights = mechanism.category_weights["internetservice"]
    original = mechanism.logit(telco_sample.head(5))
    codes = telco_sample.head(5)["internetservice"].cat.codes.to_numpy()
    np.testing.assert_allclose(known_part, original - weights[codes])


def test_labels_are_released_after_the_delay(telco_sample: pd.DataFrame) -> None:
    world = World(SEED, "baseline", rows_per_week=50, label_delay_weeks=2, reference=telco_sample)
    assert world.labels_released(0).empty
    assert world.labels_released(1).empty
    released = world.labels_released(2)
    expected = world.week(0).labels
    pd.testing.assert_frame_equal(released, expected)
    assert (released[EVENT_WEEK_COLUMN] == 0).all()
    assert world.week(0).label_release_week == 2
    assert list(released.columns) == [ID_COLUMN, LABEL_COLUMN, EVENT_WEEK_COLUMN]


def test_every_week_is_released_exactly_once(telco_sample: pd.DataFrame) -> None:
    world = World(SEED, "label_delay_change", rows_per_week=20, reference=telco_sample)
    horizon, longest_delay = 40, 8  # the catalogue scenario moves the delay from 4 to 8 weeks
    released = pd.concat([world.labels_released(w) for w in range(horizon)], ignore_index=True)
    counts = released[EVENT_WEEK_COLUMN].value_counts().sort_index()
    assert list(counts.index) == list(range(horizon - longest_delay))  # none lost or early
    assert (counts == world.rows_per_week).all()  # each released once, whole
    assert released[ID_COLUMN].is_unique


def test_zero_label_delay_releases_the_same_week(telco_sample: pd.DataFrame) -> None:
    world = World(SEED, "baseline", rows_per_week=30, label_delay_weeks=0, reference=telco_sample)
    pd.testing.assert_frame_equal(world.labels_released(4), world.week(4).labels)


def test_iteration_and_weeks_agree(telco_sample: pd.DataFrame) -> None:
    world = World(SEED, "baseline", rows_per_week=40, reference=telco_sample)
    iterated = [b.week for b in itertools.islice(iter(world), 3)]
    ranged = list(world.weeks(2, 5))
    assert iterated == [0, 1, 2]
    assert [b.week for b in ranged] == [2, 3, 4]
    assert hash_batch(ranged[0]) == hash_batch(world.week(2))


def test_reference_is_loaded_lazily(
    telco_sample: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def fake_load() -> pd.DataFrame:
        calls.append(1)
        return telco_sample

    monkeypatch.setattr(world_module, "load_all_customers", fake_load)
    calibrate_default_world.cache_clear()
    try:
        world = World(SEED, "baseline", rows_per_week=10)
        assert calls == []  # building a World must not read data
        world.week(0)
        World(SEED + 1, "baseline", rows_per_week=10).week(0)
        assert calls == [1]  # loaded once, then cached
    finally:
        calibrate_default_world.cache_clear()


def test_reference_must_pass_the_contract(telco_sample: pd.DataFrame) -> None:
    broken = telco_sample.copy()
    broken.loc[0, "tenure"] = -5
    with pytest.raises(ContractViolation, match="tenure"):
        _ = World(SEED, "baseline", reference=broken).calibration


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": -1}, "seed"),
        ({"rows_per_week": 0}, "rows_per_week"),
        ({"label_delay_weeks": -1}, "label_delay_weeks"),
    ],
)
def test_bad_world_arguments_are_refused(
    telco_sample: pd.DataFrame, kwargs: dict[str, int], message: str
) -> None:
    arguments: dict[str, int] = {"seed": SEED, **kwargs}
    with pytest.raises(ValueError, match=message):
        World(scenario="baseline", reference=telco_sample, **arguments)


def test_negative_week_is_refused(telco_sample: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="week"):
        World(SEED, "baseline", reference=telco_sample).week(-1)


def test_unknown_scenario_name_lists_the_known_ones(telco_sample: pd.DataFrame) -> None:
    with pytest.raises(KeyError, match="baseline"):
        World(SEED, "no_such_scenario", reference=telco_sample)
