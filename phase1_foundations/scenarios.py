"""Scenarios: named, parametrized changes to the simulated world, declared in YAML.

Every scenario file of the project (the world's catalogue here, ``catalogue/*.yml``; phase 4's
lesson worlds; the capstone's scenarios; the simulator's drills) lists its world effects under
``world:`` in the format these models declare, and is read by one loader,
``parse_scenario_file``, which refuses a mistake with the file, the field and the problem. Higher
phases add their own fields (weeks, faults, beats, a drill's answer) in their own models.

A scenario is a list of effects. Each effect is a pydantic model with a ``kind`` discriminator, a
``start_week`` before which it does nothing, and (where a partial effect makes sense) a
``ramp_weeks`` over which its intensity rises linearly to full. The models only declare what
changes; ``phase1_foundations.world`` applies them, in an order that keeps them separable:

* world effects change the customers themselves (``covariate_shift``) or how they churn
  (``concept_drift``); the labels follow them;
* data-quality effects (``null_flood``, ``schema_break``, ``unit_change``, ``new_category``,
  ``swapped_columns``, ``duplicate_rows``) corrupt only the features the service receives, never
  the labels;
* ``label_delay_change`` changes only when labels arrive.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal, Self, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from phase1_foundations.contract import (
    COLUMNS_BY_NAME,
    FEATURE_NAMES,
    ID_COLUMN,
    LABEL_COLUMN,
    CategoricalColumn,
    NumericColumn,
)
from phase1_foundations.settings import field_problems

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
DEFAULT_NEW_CATEGORY = "Satellite"
DEFAULT_UNIT_FACTOR = 100.0
COLUMN_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"


def _check_feature(name: str) -> str:
    if name not in FEATURE_NAMES:
        raise ValueError(f"{name!r} is not a contract feature; expected one of {FEATURE_NAMES}")
    return name


def _check_numeric(name: str) -> str:
    if not isinstance(COLUMNS_BY_NAME.get(_check_feature(name)), NumericColumn):
        raise ValueError(f"{name!r} is not a numeric feature")
    return name


def _check_categorical(name: str) -> str:
    if not isinstance(COLUMNS_BY_NAME.get(_check_feature(name)), CategoricalColumn):
        raise ValueError(f"{name!r} is not a categorical feature")
    return name


def categories_of(feature: str) -> tuple[str, ...]:
    """The contract's categories for a categorical feature."""
    spec = COLUMNS_BY_NAME[feature]
    if not isinstance(spec, CategoricalColumn):
        raise ValueError(f"{feature!r} is not a categorical feature")
    return spec.categories


FeatureName = Annotated[str, AfterValidator(_check_feature)]
NumericFeature = Annotated[str, AfterValidator(_check_numeric)]
CategoricalFeature = Annotated[str, AfterValidator(_check_categorical)]
Share = Annotated[float, Field(gt=0.0, le=1.0)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class WeekSpan(BaseModel):
    """Something present from ``start_week`` to ``end_week``, both included (empty: for good):
    a change in the world here, a fault in the system in phase 5."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_week: int = Field(ge=0, description="First week it is present.")
    end_week: int | None = Field(
        default=None, ge=0, description="Last week it is present; empty: for good."
    )

    @model_validator(mode="after")
    def _check_end(self) -> Self:
        if self.end_week is not None and self.end_week < self.start_week:
            raise ValueError(f"end_week: {self.end_week} is before start_week {self.start_week}")
        return self

    def active(self, week: int) -> bool:
        return week >= self.start_week and (self.end_week is None or week <= self.end_week)


class _Effect(WeekSpan):
    """An effect that is off before ``start_week``, fully on from it, and off after ``end_week``
    (if set): a one-off bad batch is a null flood with ``end_week`` equal to ``start_week``."""

    start_week: int = Field(default=0, ge=0, description="First week the effect applies to.")

    def intensity(self, week: int) -> float:
        """How strongly the effect applies in a week, from 0 (off) to 1 (full)."""
        return 1.0 if self.active(week) else 0.0


class _RampedEffect(_Effect):
    """An effect whose intensity rises linearly over ``ramp_weeks``, so drift can creep in."""

    ramp_weeks: int = Field(
        default=0,
        ge=0,
        description="Weeks over which intensity rises to full; 0 means full at start_week.",
    )

    def intensity(self, week: int) -> float:
        if not self.active(week):
            return 0.0
        if self.ramp_weeks == 0:
            return 1.0
        return min(1.0, (week - self.start_week + 1) / self.ramp_weeks)


class CovariateShift(_RampedEffect):
    """The customer mix changes on one feature; how customers churn does not.

    Numeric features become ``value * scale + shift`` (at full intensity), kept inside the
    contract's range. Categorical features move a ``fraction`` of the rows not already in
    ``toward`` into it. Only this feature changes: other columns keep their values, even where a
    real customer would have changed them too, so drift detectors can be checked column by column.
    """

    kind: Literal["covariate_shift"] = "covariate_shift"
    feature: FeatureName
    shift: FiniteFloat = Field(default=0.0, description="Numeric: added at full intensity.")
    scale: float = Field(
        default=1.0, gt=0.0, allow_inf_nan=False, description="Numeric: factor at full intensity."
    )
    toward: str | None = Field(default=None, description="Categorical: the category rows move to.")
    fraction: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Categorical: share of the other rows moved into `toward` at full intensity.",
    )

    @model_validator(mode="after")
    def _check_knobs(self) -> CovariateShift:
        spec = COLUMNS_BY_NAME[self.feature]
        if isinstance(spec, NumericColumn):
            if self.toward is not None or self.fraction:
                raise ValueError(f"toward/fraction apply to categorical features, not {spec.name}")
            if self.shift == 0.0 and self.scale == 1.0:
                raise ValueError("shift/scale: a numeric shift needs shift != 0 or scale != 1")
        else:
            if self.shift != 0.0 or self.scale != 1.0:
                raise ValueError(f"shift/scale apply to numeric features, not {spec.name}")
            if self.toward not in spec.categories:
                raise ValueError(f"toward: must be one of {spec.categories}, got {self.toward!r}")
            if self.fraction == 0.0:
                raise ValueError("fraction: a categorical shift needs fraction > 0")
        return self


class ConceptDrift(_RampedEffect):
    """Churn changes for one segment: the ground-truth logit moves by ``logit_delta`` there.

    The features are not touched, and customers outside the segment churn exactly as before.
    """

    kind: Literal["concept_drift"] = "concept_drift"
    feature: CategoricalFeature = Field(description="The feature that defines the segment.")
    categories: tuple[str, ...] = Field(min_length=1, description="Segment: rows in these.")
    logit_delta: FiniteFloat = Field(description="Added to the churn log-odds at full intensity.")

    @model_validator(mode="after")
    def _check_segment(self) -> ConceptDrift:
        unknown = set(self.categories) - set(categories_of(self.feature))
        if unknown:
            raise ValueError(f"categories: {sorted(unknown)} are not categories of {self.feature}")
        return self


class Condition(BaseModel):
    """Rows of one feature inside a set of categories, or inside a numeric range [low, high)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feature: FeatureName
    categories: tuple[str, ...] = ()
    low: FiniteFloat | None = None
    high: FiniteFloat | None = None

    @model_validator(mode="after")
    def _check_kind(self) -> Condition:
        spec = COLUMNS_BY_NAME[self.feature]
        if isinstance(spec, CategoricalColumn):
            if not self.categories or self.low is not None or self.high is not None:
                raise ValueError(f"{self.feature}: a categorical condition names categories only")
            unknown = set(self.categories) - set(spec.categories)
            if unknown:
                raise ValueError(f"categories: {sorted(unknown)} are not categories of {spec.name}")
        elif self.categories or (self.low is None and self.high is None):
            raise ValueError(f"{self.feature}: a numeric condition needs low and/or high")
        return self


class Interaction(_RampedEffect):
    """Churn moves by ``logit_delta`` only where every condition holds at once.

    The world's truth is otherwise a logistic model, like the champion, so a champion stays
    calibrated under covariate shift by construction. An interaction (two-year contracts on fiber,
    say, or new customers who pay by electronic check) is a term no additive logistic model can
    fit: the champion is miscalibrated inside those cells, and a change in how many customers
    fall in them moves its real quality while CBPE, which trusts its scores, sees nothing.
    ``start_week`` 0 makes it a standing property of the world rather than a change.
    """

    kind: Literal["interaction"] = "interaction"
    conditions: tuple[Condition, ...] = Field(min_length=2)
    logit_delta: FiniteFloat = Field(description="Added to the churn log-odds at full intensity.")

    @model_validator(mode="after")
    def _check_features(self) -> Interaction:
        features = [c.feature for c in self.conditions]
        if len(features) != len(set(features)):
            raise ValueError(f"conditions: one condition per feature, got {features}")
        return self


class NullFlood(_RampedEffect):
    """A ``fraction`` of the values in the chosen columns arrive as nulls (chosen per column)."""

    kind: Literal["null_flood"] = "null_flood"
    columns: tuple[FeatureName, ...] = Field(min_length=1)
    fraction: Share = Field(description="Share of rows nulled in each column at full intensity.")


class SchemaBreak(_Effect):
    """Upstream drops a column, or renames it to ``rename_to``; the values themselves are kept."""

    kind: Literal["schema_break"] = "schema_break"
    column: FeatureName
    rename_to: str | None = Field(
        default=None,
        pattern=COLUMN_NAME_PATTERN,
        description="New column name; leave empty to drop the column.",
    )

    @model_validator(mode="after")
    def _check_new_name(self) -> SchemaBreak:
        if self.rename_to in (*FEATURE_NAMES, ID_COLUMN, LABEL_COLUMN):
            raise ValueError(f"rename_to: {self.rename_to!r} is already a contract column")
        return self


class UnitChange(_RampedEffect):
    """A numeric column arrives in other units (cents for dollars): values times ``factor``."""

    kind: Literal["unit_change"] = "unit_change"
    column: NumericFeature
    factor: float = Field(default=DEFAULT_UNIT_FACTOR, gt=0.0, allow_inf_nan=False)
    fraction: Share = Field(default=1.0, description="Share of rows affected at full intensity.")

    @model_validator(mode="after")
    def _check_factor(self) -> UnitChange:
        if self.factor == 1.0:
            raise ValueError("factor: 1 changes nothing")
        return self


class NewCategory(_RampedEffect):
    """A categorical column gains a value the contract has never seen (a new product)."""

    kind: Literal["new_category"] = "new_category"
    column: CategoricalFeature
    category: str = Field(default=DEFAULT_NEW_CATEGORY, min_length=1)
    fraction: Share = Field(description="Share of rows given the new value at full intensity.")

    @model_validator(mode="after")
    def _check_new(self) -> NewCategory:
        if self.category in categories_of(self.column):
            raise ValueError(f"category: {self.category!r} is already a category of {self.column}")
        return self


class SwappedColumns(_Effect):
    """Two columns arrive with each other's values (a positional export bug)."""

    kind: Literal["swapped_columns"] = "swapped_columns"
    columns: tuple[FeatureName, FeatureName]

    @model_validator(mode="after")
    def _check_distinct(self) -> SwappedColumns:
        if self.columns[0] == self.columns[1]:
            raise ValueError("columns: swapping a column with itself changes nothing")
        return self


class DuplicateRows(_RampedEffect):
    """A ``fraction`` of the week's rows are sent twice, with the same customer id."""

    kind: Literal["duplicate_rows"] = "duplicate_rows"
    fraction: Share = Field(description="Share of rows repeated at full intensity.")


class LabelDelayChange(_Effect):
    """From ``start_week``, a week's labels arrive ``delay_weeks`` weeks after it."""

    kind: Literal["label_delay_change"] = "label_delay_change"
    delay_weeks: int = Field(ge=0)

    @model_validator(mode="after")
    def _check_no_end(self) -> LabelDelayChange:
        if self.end_week is not None:
            raise ValueError("end_week: a label delay change lasts until the next one")
        return self


Effect = Annotated[
    CovariateShift
    | ConceptDrift
    | Interaction
    | NullFlood
    | SchemaBreak
    | UnitChange
    | NewCategory
    | SwappedColumns
    | DuplicateRows
    | LabelDelayChange,
    Field(discriminator="kind"),
]
Corruption = UnitChange | NewCategory | NullFlood | SwappedColumns | DuplicateRows | SchemaBreak
# Corruptions apply in this order, whatever order a scenario lists them in, so that a schema
# break (last) never hides a column an earlier corruption needs.
CORRUPTION_ORDER: tuple[type[Corruption], ...] = (
    UnitChange,
    NewCategory,
    NullFlood,
    SwappedColumns,
    DuplicateRows,
    SchemaBreak,
)

EffectT = TypeVar("EffectT", bound=_Effect)
ModelT = TypeVar("ModelT", bound=BaseModel)


class ScenarioFileError(ValueError):
    """A scenario file that cannot be used; the message names the file, field and problem."""


class Scenario(BaseModel):
    """A named world: the effects that change it, and what it is for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field(min_length=1)
    world: tuple[Effect, ...] = Field((), description="The world's effects, in this order.")

    @model_validator(mode="after")
    def _check_schema_breaks(self) -> Scenario:
        broken = [e.column for e in self.world if isinstance(e, SchemaBreak)]
        if len(broken) != len(set(broken)):
            raise ValueError(f"world: a column is broken twice by schema_break: {broken}")
        return self

    def effects_of(self, kind: type[EffectT]) -> list[tuple[int, EffectT]]:
        """Each effect of one kind with its position (the position seeds its random stream)."""
        return [(i, e) for i, e in enumerate(self.world) if isinstance(e, kind)]

    def corruptions(self) -> list[tuple[int, Corruption]]:
        """The data-quality effects with their positions, in ``CORRUPTION_ORDER``."""
        found = [(i, e) for i, e in enumerate(self.world) if isinstance(e, CORRUPTION_ORDER)]
        return sorted(found, key=lambda item: CORRUPTION_ORDER.index(type(item[1])))


def shift_effect(effect: EffectT, weeks: int) -> EffectT:
    """The same effect, ``weeks`` later: a file that declares weeks relative to an event (a
    drill's injection, a lesson's drift week) becomes a world's absolute weeks."""
    end = None if effect.end_week is None else effect.end_week + weeks
    return effect.model_copy(update={"start_week": effect.start_week + weeks, "end_week": end})


def shift_scenario(scenario: Scenario, weeks: int, name: str | None = None) -> Scenario:
    """Every effect of a scenario ``weeks`` later (under a new name if given)."""
    return Scenario(
        name=name or scenario.name,
        description=scenario.description,
        world=tuple(shift_effect(effect, weeks) for effect in scenario.world),
    )


def describe_invalid(error: ValidationError) -> str:
    """Every problem pydantic found, each as ``field.path: what is wrong``."""
    return "; ".join(f"{field or '(top level)'}: {what}" for field, what in field_problems(error))


def parse_scenario_file(
    text: str,
    model: type[ModelT],
    source: str = "<text>",
    error: type[ScenarioFileError] = ScenarioFileError,
) -> ModelT:
    """A scenario file's YAML, validated as ``model`` (a world scenario, a capstone scenario, a
    drill catalogue); ``error`` names the source, every bad field and its problem."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as problem:
        raise error(f"{source}: not valid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise error(f"{source}: expected a mapping of fields, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as problem:
        raise error(f"{source}: {describe_invalid(problem)}") from None


def read_scenario_file(
    path: Path, model: type[ModelT], error: type[ScenarioFileError] = ScenarioFileError
) -> ModelT:
    """One scenario file from disk (see ``parse_scenario_file``)."""
    return parse_scenario_file(path.read_text(), model, str(path), error)


def scenario_files(directory: Path) -> dict[str, Path]:
    """The scenario files of a folder, by name (the file's stem)."""
    return {path.stem: path for path in sorted(directory.glob("*.yml"))}


def load_scenarios(directory: Path) -> dict[str, Scenario]:
    """Every world scenario of a folder, each checked to be named as its file."""
    scenarios = {}
    for name, path in scenario_files(directory).items():
        scenario = read_scenario_file(path, Scenario)
        if scenario.name != name:
            raise ScenarioFileError(f"{path}: name: {scenario.name!r} is not the file's {name!r}")
        scenarios[name] = scenario
    return scenarios


def parse_scenario_yaml(text: str) -> Scenario:
    """A scenario from YAML text, validated like any other input."""
    return parse_scenario_file(text, Scenario)


def dump_scenario_yaml(scenario: Scenario) -> str:
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False)


@cache
def _catalogue() -> dict[str, Scenario]:
    return load_scenarios(CATALOGUE_DIR)


def scenario_catalogue() -> dict[str, Scenario]:
    """The named scenarios every phase and the simulator use (``catalogue/*.yml``): a baseline,
    and one for each effect kind."""
    return dict(_catalogue())


def get_scenario(name: str) -> Scenario:
    """A catalogue scenario by name, with the known names in the error when it is not there."""
    catalogue = _catalogue()
    if name not in catalogue:
        raise KeyError(f"unknown scenario {name!r}; known: {sorted(catalogue)}")
    return catalogue[name]
