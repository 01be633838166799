"""Every scenario effect: what it changes, and what it leaves alone."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import stats

from phase1_foundations.contract import (
    ID_COLUMN,
    LABEL_COLUMN,
    Problem,
    validate_frame,
)
from phase1_foundations.scenarios import (
    CATALOGUE_DIR,
    ConceptDrift,
    Condition,
    CovariateShift,
    DuplicateRows,
    Effect,
    Interaction,
    LabelDelayChange,
    NewCategory,
    NullFlood,
    Scenario,
    ScenarioFileError,
    SchemaBreak,
    SwappedColumns,
    UnitChange,
    dump_scenario_yaml,
    get_scenario,
    load_scenarios,
    parse_scenario_yaml,
    read_scenario_file,
    scenario_catalogue,
)
from phase1_foundations.world import World, corrupt_features

SEED = 11
ROWS = 2_000
WEEK = 6
SIGNIFICANT = 1e-6  # p-value below which a KS test calls two samples different
WORLD_CHANGING = {"covariate_shift", "category_shift", "concept_drift", "interactions"}
# The catalogue's design (phase1_foundations/catalogue/*.yml): every change starts at week 4, and
# those that creep in reach full strength over 4 weeks.
CATALOGUE_START_WEEK = 4
CATALOGUE_RAMP_WEEKS = 4


def make_world(reference: pd.DataFrame, *effects: Effect, **kwargs: int) -> World:
    scenario = Scenario(name="under_test", description="One effect.", world=effects)
    return World(SEED, scenario, rows_per_week=ROWS, reference=reference, **kwargs)


def baseline_world(reference: pd.DataFrame, **kwargs: int) -> World:
    return World(SEED, "baseline", rows_per_week=ROWS, reference=reference, **kwargs)


def issue_set(frame: pd.DataFrame) -> set[tuple[str, Problem]]:
    return {(i.column, i.problem) for i in validate_frame(frame).issues}


def assert_same_labels(world: World, baseline: World, week: int = WEEK) -> None:
    pd.testing.assert_frame_equal(world.week(week).labels, baseline.week(week).labels)


# --- the catalogue and the models ---------------------------------------------------------------


def test_catalogue_has_baseline_and_every_effect_kind() -> None:
    catalogue = scenario_catalogue()
    assert "baseline" in catalogue
    assert catalogue["baseline"].world == ()
    kinds = {effect.kind for scenario in catalogue.values() for effect in scenario.world}
    all_kinds = {model.model_fields["kind"].default for model in get_args(get_args(Effect)[0])}
    assert kinds == all_kinds  # a knob with no named scenario
    for name, scenario in catalogue.items():
        assert scenario.name == name
        assert scenario.description.strip()


def test_the_catalogue_is_its_yaml_files_each_named_as_its_file() -> None:
    files = sorted(path.stem for path in CATALOGUE_DIR.glob("*.yml"))
    assert len(files) >= 13
    assert sorted(scenario_catalogue()) == files
    for name in files:
        assert read_scenario_file(CATALOGUE_DIR / f"{name}.yml", Scenario) == get_scenario(name)


def test_every_catalogue_change_starts_at_week_4_and_ramps_over_4() -> None:
    for name, scenario in scenario_catalogue().items():
        for effect in scenario.world:
            assert effect.start_week == CATALOGUE_START_WEEK, name
            assert getattr(effect, "ramp_weeks", 0) in (0, CATALOGUE_RAMP_WEEKS), name


def test_a_bad_scenario_file_names_the_file_the_field_and_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "price_rise.yml"
    bad.write_text(
        "name: price_rise\ndescription: Prices rise.\nworld:\n"
        "  - {kind: covariate_shift, feature: monthlycharges, scale: 1.2}\n"
        "  - {kind: null_flood, columns: [tenure], fraction: 1.5}\n"
    )
    with pytest.raises(ScenarioFileError) as error:
        load_scenarios(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{bad}: world.1.null_flood.fraction: ")
    assert "less than or equal to 1" in message
    assert "Traceback" not in message
    bad.write_text("name: another\ndescription: Misnamed.\n")
    with pytest.raises(ScenarioFileError, match=r"name: 'another' is not the file's 'price_rise'"):
        load_scenarios(tmp_path)
    bad.write_text("world: [")
    with pytest.raises(ScenarioFileError, match="not valid YAML"):
        load_scenarios(tmp_path)
    bad.write_text("- a list")
    with pytest.raises(ScenarioFileError, match="expected a mapping of fields, got list"):
        load_scenarios(tmp_path)


@pytest.mark.parametrize("name", sorted(scenario_catalogue()))
def test_catalogue_scenarios_survive_yaml(name: str) -> None:
    scenario = get_scenario(name)
    assert parse_scenario_yaml(dump_scenario_yaml(scenario)) == scenario


def test_scenario_loads_from_a_dict_with_kinds() -> None:
    scenario = Scenario.model_validate(
        {
            "name": "storm",
            "description": "Two things at once.",
            "world": [
                {"kind": "null_flood", "columns": ["tenure"], "fraction": 0.1},
                {"kind": "schema_break", "column": "gender", "start_week": 3},
            ],
        }
    )
    assert isinstance(scenario.world[0], NullFlood)
    assert isinstance(scenario.world[1], SchemaBreak)
    assert scenario.world[0].columns == ("tenure",)


@pytest.mark.parametrize(
    ("effect", "field"),
    [
        ({"kind": "null_flood", "columns": ["tenure"], "fraction": 1.5}, "fraction"),
        ({"kind": "null_flood", "columns": ["nope"], "fraction": 0.5}, "columns"),
        ({"kind": "duplicate_rows", "fraction": 0.1, "start_week": -1}, "start_week"),
        ({"kind": "duplicate_rows", "fraction": 0.1, "ramp_weeks": -2}, "ramp_weeks"),
        ({"kind": "unit_change", "column": "contract"}, "column"),
        ({"kind": "schema_break", "column": "gender", "ramp_weeks": 2}, "ramp_weeks"),
        ({"kind": "schema_break", "column": "gender", "rename_to": "tenure"}, "rename_to"),
        ({"kind": "label_delay_change", "delay_weeks": -1}, "delay_weeks"),
        ({"kind": "covariate_shift", "feature": "tenure", "scale": 0}, "scale"),
        ({"kind": "covariate_shift", "feature": "contract", "toward": "Weekly"}, "toward"),
        ({"kind": "covariate_shift", "feature": "tenure"}, "shift"),
        (
            {"kind": "concept_drift", "feature": "contract", "categories": ["Weekly"]},
            "logit_delta",
        ),
        (
            {
                "kind": "concept_drift",
                "feature": "contract",
                "categories": ["Weekly"],
                "logit_delta": 1.0,
            },
            "categories",
        ),
        (
            {
                "kind": "new_category",
                "column": "internetservice",
                "category": "DSL",
                "fraction": 0.1,
            },
            "category",
        ),
        ({"kind": "swapped_columns", "columns": ["tenure", "tenure"]}, "columns"),
        ({"kind": "earthquake"}, "kind"),
        ({"kind": "duplicate_rows", "fraction": 0.1, "start_week": 5, "end_week": 4}, "end_week"),
        ({"kind": "label_delay_change", "delay_weeks": 2, "end_week": 9}, "end_week"),
    ],
)
def test_invalid_effect_parameters_name_the_field(effect: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Scenario.model_validate({"name": "bad", "description": "Bad.", "world": [effect]})
    error = caught.value.errors()[0]
    assert field in error["loc"] or field in error["msg"], error


def test_a_column_cannot_break_twice() -> None:
    with pytest.raises(ValidationError, match="schema_break"):
        Scenario(
            name="twice",
            description="Two breaks.",
            world=(SchemaBreak(column="gender"), SchemaBreak(column="gender", rename_to="sex")),
        )


def test_unknown_catalogue_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="baseline"):
        get_scenario("no_such_scenario")


def test_ramp_raises_intensity_linearly_from_start_week() -> None:
    effect = DuplicateRows(fraction=0.1, start_week=2, ramp_weeks=4)
    assert [effect.intensity(w) for w in range(8)] == [0, 0, 0.25, 0.5, 0.75, 1, 1, 1]
    assert [DuplicateRows(fraction=0.1, start_week=2).intensity(w) for w in (1, 2, 9)] == [0, 1, 1]


def test_an_effect_with_an_end_week_is_off_after_it(telco_sample: pd.DataFrame) -> None:
    one_off = NullFlood(columns=("tenure",), fraction=0.5, start_week=2, end_week=2)
    assert [one_off.intensity(w) for w in range(5)] == [0, 0, 1, 0, 0]
    ramped = DuplicateRows(fraction=0.1, start_week=2, ramp_weeks=4, end_week=4)
    assert [ramped.intensity(w) for w in range(7)] == [0, 0, 0.25, 0.5, 0.75, 0, 0]
    scenario = Scenario(name="one_bad_batch", description="One.", world=(one_off,))
    world = World(SEED, scenario, rows_per_week=300, reference=telco_sample)
    baseline = World(SEED, "baseline", rows_per_week=300, reference=telco_sample)
    assert world.week(2).features["tenure"].isna().sum() == 150  # the bad batch
    pd.testing.assert_frame_equal(world.week(3).features, baseline.week(3).features)


@pytest.mark.parametrize("name", sorted(set(scenario_catalogue()) - {"baseline"}))
def test_catalogue_effects_are_off_before_start_week(telco_sample: pd.DataFrame, name: str) -> None:
    world = World(SEED, name, rows_per_week=300, reference=telco_sample)
    baseline = World(SEED, "baseline", rows_per_week=300, reference=telco_sample)
    before = CATALOGUE_START_WEEK - 1
    pd.testing.assert_frame_equal(world.week(before).features, baseline.week(before).features)
    pd.testing.assert_frame_equal(world.week(before).labels, baseline.week(before).labels)
    assert world.label_release_week(before) == baseline.label_release_week(before)
    start = CATALOGUE_START_WEEK
    after, base_after = world.week(start), baseline.week(start)
    changed = (
        not after.features.equals(base_after.features)
        or not after.labels.equals(base_after.labels)
        or after.label_release_week != base_after.label_release_week
    )
    assert changed  # the scenario does something from its start week


@pytest.mark.parametrize("name", sorted(set(scenario_catalogue()) - WORLD_CHANGING))
def test_corruptions_never_change_labels(telco_sample: pd.DataFrame, name: str) -> None:
    world = World(SEED, name, rows_per_week=300, reference=telco_sample)
    baseline = World(SEED, "baseline", rows_per_week=300, reference=telco_sample)
    assert_same_labels(world, baseline, CATALOGUE_START_WEEK + 4)


def test_corruptions_leave_their_input_frame_alone(telco_sample: pd.DataFrame) -> None:
    features = baseline_world(telco_sample).week(WEEK).features
    before = features.copy(deep=True)
    for scenario in scenario_catalogue().values():
        corrupt_features(features, scenario, WEEK, SEED)
    pd.testing.assert_frame_equal(features, before)


# --- world effects --------------------------------------------------------------------------------


def test_numeric_covariate_shift_moves_only_that_feature(telco_sample: pd.DataFrame) -> None:
    world = make_world(telco_sample, CovariateShift(feature="monthlycharges", scale=1.25))
    baseline = baseline_world(telco_sample)
    shifted, base = world.week(WEEK).features, baseline.week(WEEK).features
    result = stats.ks_2samp(shifted["monthlycharges"], base["monthlycharges"])
    assert result.pvalue < SIGNIFICANT  # the feature's distribution moved
    others = [c for c in shifted.columns if c != "monthlycharges"]
    pd.testing.assert_frame_equal(shifted[others], base[others])  # nothing else moved
    assert validate_frame(shifted).ok  # a real change in the world, not bad data


def test_covariate_shift_keeps_the_label_mechanism(telco_sample: pd.DataFrame) -> None:
    world = make_world(telco_sample, CovariateShift(feature="monthlycharges", shift=30.0))
    baseline = baseline_world(telco_sample)
    x = baseline.week(WEEK).features
    # Same customer, same churn probability: only who the customers are has changed.
    np.testing.assert_array_equal(
        world.churn_probability(x, WEEK), baseline.churn_probability(x, WEEK)
    )
    batch = world.week(WEEK)
    np.testing.assert_allclose(batch.churn_probability, world.mechanism.probability(batch.features))


def test_covariate_shift_ramps_in(telco_sample: pd.DataFrame) -> None:
    effect = CovariateShift(feature="monthlycharges", scale=1.2, start_week=1, ramp_weeks=2)
    world, baseline = make_world(telco_sample, effect), baseline_world(telco_sample)
    factors = [
        float(
            (
                world.week(w).features["monthlycharges"]
                / baseline.week(w).features["monthlycharges"]
            ).mean()
        )
        for w in range(4)
    ]
    np.testing.assert_allclose(factors, [1.0, 1.1, 1.2, 1.2])


def test_category_shift_reweights_toward_the_category(telco_sample: pd.DataFrame) -> None:
    effect = CovariateShift(feature="contract", toward="Month-to-month", fraction=0.5)
    world, baseline = make_world(telco_sample, effect), baseline_world(telco_sample)
    shifted, base = world.week(WEEK), baseline.week(WEEK)
    before = (base.features["contract"] == "Month-to-month").mean()
    after = (shifted.features["contract"] == "Month-to-month").mean()
    assert after == pytest.approx(before + 0.5 * (1 - before), abs=0.03)
    others = [c for c in base.features.columns if c != "contract"]
    pd.testing.assert_frame_equal(shifted.features[others], base.features[others])
    # Month-to-month customers churn more, so the churn rate follows the mix.
    assert shifted.labels[LABEL_COLUMN].mean() > base.labels[LABEL_COLUMN].mean()


def test_concept_drift_moves_the_segment_and_nothing_else(telco_sample: pd.DataFrame) -> None:
    delta = 1.5
    effect = ConceptDrift(feature="contract", categories=("Month-to-month",), logit_delta=delta)
    world, baseline = make_world(telco_sample, effect), baseline_world(telco_sample)
    drifted, base = world.week(WEEK), baseline.week(WEEK)
    pd.testing.assert_frame_equal(drifted.features, base.features)  # features byte-identical
    segment = (base.features["contract"] == "Month-to-month").to_numpy()
    churn, base_churn = drifted.labels[LABEL_COLUMN], base.labels[LABEL_COLUMN]
    assert churn[segment].mean() > base_churn[segment].mean() + 0.1  # the segment churns more
    pd.testing.assert_series_equal(churn[~segment], base_churn[~segment])  # others: same draws
    x = base.features
    moved = world.churn_logit(x, WEEK) - baseline.churn_logit(x, WEEK)
    np.testing.assert_allclose(moved[segment], delta)
    np.testing.assert_array_equal(moved[~segment], 0.0)  # other segments' mechanism unchanged


def test_concept_drift_ramps_in(telco_sample: pd.DataFrame) -> None:
    effect = ConceptDrift(
        feature="contract",
        categories=("Month-to-month",),
        logit_delta=2.0,
        start_week=1,
        ramp_weeks=4,
    )
    world, baseline = make_world(telco_sample, effect), baseline_world(telco_sample)
    x = baseline.week(0).features
    segment = (x["contract"] == "Month-to-month").to_numpy()
    moved = [
        float((world.churn_logit(x, w) - baseline.churn_logit(x, w))[segment].mean())
        for w in range(6)
    ]
    np.testing.assert_allclose(moved, [0.0, 0.5, 1.0, 1.5, 2.0, 2.0])


# --- data-quality corruptions -----------------------------------------------------------------


def test_null_flood_nulls_only_its_columns(telco_sample: pd.DataFrame) -> None:
    effect = NullFlood(columns=("totalcharges", "paymentmethod"), fraction=0.3)
    world, baseline = make_world(telco_sample, effect), baseline_world(telco_sample)
    features, base = world.week(WEEK).features, baseline.week(WEEK).features
    report = validate_frame(features)
    assert issue_set(features) == {
        ("totalcharges", Problem.NULL),
        ("paymentmethod", Problem.NULL),
    }
    assert all(i.rows == round(0.3 * ROWS) for i in report.issues)
    others = [c for c in features.columns if c not in effect.columns]
    pd.testing.assert_frame_equal(features[others], base[others])
    kept = features["totalcharges"].notna()
    pd.testing.assert_series_equal(features["totalcharges"][kept], base["totalcharges"][kept])
    assert_same_labels(world, baseline)


def test_null_flood_ramps_up(telco_sample: pd.DataFrame) -> None:
    effect = NullFlood(columns=("tenure",), fraction=0.4, start_week=2, ramp_weeks=4)
    world = make_world(telco_sample, effect)
    nulls = [int(world.week(w).features["tenure"].isna().sum()) for w in range(8)]
    full = round(0.4 * ROWS)
    assert nulls == [0, 0, full // 4, full // 2, 3 * full // 4, full, full, full]


def test_schema_break_rename(telco_sample: pd.DataFrame) -> None:
    effect = SchemaBreak(column="monthlycharges", rename_to="monthly_charges")
    world, baseline = make_world(telco_sample, effect), baseline_world(telco_sample)
    features, base = world.week(WEEK).features, baseline.week(WEEK).features
    assert issue_set(features) == {
        ("monthlycharges", Problem.MISSING_COLUMN),
        ("monthly_charges", Problem.UNEXPECTED_COLUMN),
    }
    renamed = features.rename(columns={"monthly_charges": "monthlycharges"})
    pd.testing.assert_frame_equal(renamed, base)  # only the name changed
    assert_same_labels(world, baseline)


def test_schema_break_drop(telco_sample: pd.DataFrame) -> None:
    world = make_world(telco_sample, SchemaBreak(column="paymentmethod"))
    baseline = baseline_world(telco_sample)
    features, base = world.week(WEEK).features, baseline.week(WEEK).features
    assert issue_set(features) == {("paymentmethod", Problem.MISSING_COLUMN)}
    pd.testing.assert_frame_equal(features, base.drop(columns="paymentmethod"))
    assert_same_labels(world, baseline)


def test_unit_change_is_out_of_range_on_that_column(telco_sample: pd.DataFrame) -> None:
    world = make_world(telco_sample, UnitChange(column="monthlycharges"))
    baseline = baseline_world(telco_sample)
    features, base = world.week(WEEK).features, baseline.week(WEEK).features
    issues = validate_frame(features).issues
    assert {(i.column, i.problem) for i in issues} == {("monthlycharges", Problem.OUT_OF_RANGE)}
    np.testing.assert_allclose(features["monthlycharges"], base["monthlycharges"] * 100)
    others = [c for c in features.columns if c != "monthlycharges"]
    pd.testing.assert_frame_equal(features[others], base[others])
    assert_same_labels(world, baseline)


def test_unit_change_keeps_integer_columns_integer(telco_sample: pd.DataFrame) -> None:
    world = make_world(telco_sample, UnitChange(column="tenure", factor=12, fraction=0.5))
    features = world.week(WEEK).features
    base = baseline_world(telco_sample).week(WEEK).features
    assert features["tenure"].dtype == np.int64  # not silently turned into floats
    changed = features["tenure"] != base["tenure"]
    assert changed.sum() == (base["tenure"] > 0).sum() - (~changed & (base["tenure"] > 0)).sum()
    np.testing.assert_array_equal(features["tenure"][changed], base["tenure"][changed] * 12)


def test_new_category_is_unknown_to_the_contract(telco_sample: pd.DataFrame) -> None:
    effect = NewCategory(column="internetservice", category="Satellite", fraction=0.2)
    world, baseline = make_world(telco_sample, effect), baseline_world(telco_sample)
    features, base = world.week(WEEK).features, baseline.week(WEEK).features
    issues = validate_frame(features).issues
    assert [(i.column, i.problem, i.rows) for i in issues] == [
        ("internetservice", Problem.UNKNOWN_CATEGORY, round(0.2 * ROWS))
    ]
    new = features["internetservice"] == "Satellite"
    kept = features.loc[~new, "internetservice"].astype(str)
    assert (kept == base.loc[~new, "internetservice"].astype(str)).all()
    others = [c for c in features.columns if c != "internetservice"]
    pd.testing.assert_frame_equal(features[others], base[others])
    assert_same_labels(world, baseline)


def test_swapped_columns_exchange_values(telco_sample: pd.DataFrame) -> None:
    effect = SwappedColumns(columns=("monthlycharges", "totalcharges"))
    world, baseline = make_world(telco_sample, effect), baseline_world(telco_sample)
    features, base = world.week(WEEK).features, baseline.week(WEEK).features
    assert list(features.columns) == list(base.columns)  # positions kept, values moved
    np.testing.assert_array_equal(features["monthlycharges"], base["totalcharges"])
    np.testing.assert_array_equal(features["totalcharges"], base["monthlycharges"])
    assert ("monthlycharges", Problem.OUT_OF_RANGE) in issue_set(features)  # totals > $250
    others = [c for c in features.columns if c not in effect.columns]
    pd.testing.assert_frame_equal(features[others], base[others])
    assert_same_labels(world, baseline)


def test_swapping_look_alike_columns_passes_the_contract(telco_sample: pd.DataFrame) -> None:
    world = make_world(telco_sample, SwappedColumns(columns=("partner", "dependents")))
    features = world.week(WEEK).features
    base = baseline_world(telco_sample).week(WEEK).features
    assert validate_frame(features).ok  # the contract cannot see this one: drift checks must
    assert not features["partner"].equals(base["partner"])


def test_duplicate_rows_repeat_ids(telco_sample: pd.DataFrame) -> None:
    world = make_world(telco_sample, DuplicateRows(fraction=0.05))
    baseline = baseline_world(telco_sample)
    features, base = world.week(WEEK).features, baseline.week(WEEK).features
    extra = round(0.05 * ROWS)
    assert len(features) == ROWS + extra
    issues = validate_frame(features).issues
    assert [(i.column, i.problem, i.rows) for i in issues] == [
        (ID_COLUMN, Problem.DUPLICATE_ID, extra)
    ]
    pd.testing.assert_frame_equal(features.head(ROWS), base)  # originals untouched, in order
    assert features[ID_COLUMN].tail(extra).isin(base[ID_COLUMN]).all()
    assert_same_labels(world, baseline)  # one label per real customer


def test_label_delay_change_releases_labels_later(telco_sample: pd.DataFrame) -> None:
    effect = LabelDelayChange(delay_weeks=5, start_week=3)
    world = make_world(telco_sample, effect, label_delay_weeks=2)
    baseline = baseline_world(telco_sample, label_delay_weeks=2)
    assert [world.label_release_week(w) for w in range(5)] == [2, 3, 4, 8, 9]
    assert [baseline.label_release_week(w) for w in range(5)] == [2, 3, 4, 5, 6]
    assert world.week(3).label_release_week == 8
    for week in (5, 6, 7):
        assert world.labels_released(week).empty  # week 3's labels no longer arrive at 5
    late = world.labels_released(8)
    assert set(late["event_week"]) == {3}
    pd.testing.assert_frame_equal(late, baseline.labels_released(5))  # same labels, later
    for week in range(6):
        pd.testing.assert_frame_equal(world.week(week).features, baseline.week(week).features)


def test_an_interaction_moves_churn_only_where_every_condition_holds(
    telco_sample: pd.DataFrame,
) -> None:
    """The oracle is the condition itself: new e-check payers' log-odds move by the delta, and
    no one else's (the features, drawn before labels, are the same as the baseline's)."""
    world = World(SEED, "interactions", rows_per_week=3000, reference=telco_sample)
    baseline = World(SEED, "baseline", rows_per_week=3000, reference=telco_sample)
    week = CATALOGUE_START_WEEK + CATALOGUE_RAMP_WEEKS  # at full strength
    features = baseline.week(week).features
    moved = world.churn_logit(features, week) - baseline.churn_logit(features, week)
    inside = (features["tenure"] < 6) & (features["paymentmethod"] == "Electronic check")
    assert inside.sum() > 10
    np.testing.assert_allclose(moved[inside.to_numpy()], 1.2)
    np.testing.assert_allclose(moved[~inside.to_numpy()], 0.0)
    before = world.churn_logit(features, CATALOGUE_START_WEEK - 1)
    np.testing.assert_allclose(before, baseline.churn_logit(features, CATALOGUE_START_WEEK - 1))


def test_an_interaction_needs_two_conditions_on_two_features() -> None:
    with pytest.raises(ValidationError, match="at least 2 items"):
        Interaction(conditions=(Condition(feature="tenure", high=6),), logit_delta=1.0)
    with pytest.raises(ValidationError, match="one condition per feature"):
        Interaction(
            conditions=(Condition(feature="tenure", high=6), Condition(feature="tenure", low=60)),
            logit_delta=1.0,
        )
    with pytest.raises(ValidationError, match="categorical condition names categories only"):
        Condition(feature="contract", low=1.0)
